"""`import datadog`: exposure SQL models (JSON:API answers, written from Datadog's API client
models) as catalog rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulk_sources.errors import BulkSourcesError, CatalogError, UsageError
from bulk_sources.importers import read_datadog, read_growthbook

FIXTURES = Path(__file__).parent / "fixtures" / "import"
MODELS = FIXTURES / "datadog_models.json"
DEVICE = "550e8400-e29b-41d4-a716-446655440012"
MAP = f"user_id=userID,account_id=accountID,{DEVICE}=stableID"


def test_models_map_their_own_columns_and_every_subject_type() -> None:
    result = read_datadog(MODELS, MAP)
    first, second = (r.body for r in result.rows)
    assert first["timestampColumn"] == "exposed_at"
    assert first["experimentIDColumn"] == "experiment_id"
    assert first["groupIDColumn"] == "variant"
    assert first["idTypeMapping"] == [{"statsigUnitID": "userID", "column": "user_id"}]
    # by column name (account_id) and by subject_type_id (the device's id)
    assert second["idTypeMapping"] == [
        {"statsigUnitID": "accountID", "column": "account_id"},
        {"statsigUnitID": "stableID", "column": "device_id"},
    ]
    assert first["tags"] == ["imported-from-datadog"]
    assert "model 550e8400-e29b-41d4-a716-446655440000: properties country" in result.not_carried
    assert any("date_partition_column ds" in n for n in result.not_carried)


def test_archived_models_are_skipped_unless_asked_for() -> None:
    assert [r.body["name"] for r in read_datadog(MODELS, MAP).rows] == [
        "Exposure events",
        "Accounts and devices",
    ]
    assert read_datadog(MODELS, MAP).skipped == [
        "model 550e8400-e29b-41d4-a716-446655440002: archived (--include-archived)"
    ]
    every = read_datadog(MODELS, MAP, include_archived=True, tag="dd")
    assert [r.body["name"] for r in every.rows][-1] == "Old exposures"
    assert every.rows[0].body["tags"] == ["dd"]


def test_pages_in_several_files_and_a_single_model_answer(tmp_path: Path) -> None:
    document = json.loads(MODELS.read_text())
    pages = []
    for i, item in enumerate(document["data"]):
        page = tmp_path / f"page{i}.json"
        page.write_text(json.dumps({"data": [item], "meta": {"page": {"total": 3}}}))
        pages.append(page)
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"data": document["data"][0]}))
    assert len(read_datadog(pages, MAP).rows) == 2
    assert len(read_datadog([single, pages[0]], MAP).rows) == 1  # the same model once


def test_an_unmapped_subject_type_names_its_id_and_column() -> None:
    with pytest.raises(UsageError) as caught:
        read_datadog(MODELS, "user_id=userID")
    message = str(caught.value)
    assert "550e8400-e29b-41d4-a716-446655440011 (column account_id)" in message
    assert f"{DEVICE} (column device_id)" in message


def test_a_model_without_subject_types_or_with_sql_that_is_not_text(tmp_path: Path) -> None:
    document = json.loads(MODELS.read_text())
    document["data"][0]["attributes"]["subject_types"] = []
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CatalogError, match="model 550e8400-e29b-41d4-a716-446655440000: `subj"):
        read_datadog(path, MAP)
    document = json.loads(MODELS.read_text())
    document["data"][1]["attributes"]["sql"] = {"text": "SELECT 1"}
    path.write_text(json.dumps(document))
    with pytest.raises(CatalogError, match=r"440001: `sql` is an object, not text"):
        read_datadog(path, MAP)


def test_other_resources_and_growthbook_files_are_refused(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"data": [{"type": "metric-sql-models", "attributes": {}}]}))
    with pytest.raises(CatalogError, match="holds `metric-sql-models`"):
        read_datadog(metrics, MAP)
    with pytest.raises(CatalogError, match="use `bulk-sources import growthbook`"):
        read_datadog(FIXTURES / "growthbook_rest_page1.json", MAP)


_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    [
        "datasources",
        "dataSources",
        "dataSource",
        "assignmentQueries",
        "settings",
        "queries",
        "exposure",
        "identityJoins",
        "id",
        "name",
        "query",
        "sql",
        "userIdType",
        "identifierType",
        "dimensions",
        "type",
        "data",
        "attributes",
        "subject_types",
        "column_name",
        "subject_type_id",
        "properties",
        "timestamp_column",
        "archived_at",
    ]
)
_SHAPED = st.recursive(
    _ANY,
    lambda inner: st.dictionaries(_KEYS, inner, max_size=5) | st.lists(inner, max_size=3),
    max_leaves=30,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=_SHAPED)
def test_any_json_gives_a_catalog_or_one_sentence_never_a_crash(
    tmp_path: Path, document: object
) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(document))
    for read in (read_growthbook, read_datadog):
        try:
            read(path, "user_id=userID")
        except BulkSourcesError as exc:
            assert str(path) in str(exc) or "--" in str(exc)
