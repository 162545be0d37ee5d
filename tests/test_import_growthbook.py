"""`import growthbook`: GrowthBook's config.yml and REST data sources as a catalog that
`validate` accepts; fixtures written from GrowthBook's documented shapes (tests/fixtures/import)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bulk_sources
from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.validation import validate_catalog
from bulk_sources.errors import CatalogError, UsageError
from bulk_sources.importers import read_growthbook, write_import
from bulk_sources.importers.handlebars import translate

FIXTURES = Path(__file__).parent / "fixtures" / "import"
CONFIG = FIXTURES / "growthbook_config.yml"
PAGES = [FIXTURES / "growthbook_rest_page1.json", FIXTURES / "growthbook_rest_page2.json"]
CONFIG_MAP = "user_id=userID,anonymous_id=stableID,company_id=companyID"
SECRET = "pg-password-never-copied-4711"


def _by_place(rows: list[Any]) -> dict[str, Any]:
    return {r.place: r for r in rows}


def test_config_yml_queries_become_sources_with_growthbooks_fixed_columns() -> None:
    result = read_growthbook(CONFIG, CONFIG_MAP, environ={"POSTGRES_PW": SECRET})
    rows = _by_place(result.rows)
    assert list(rows) == [
        "warehouse / user_id",
        "warehouse / anonymous_id",
        "lake / user_exp",
        "lake / company_exp",
    ]
    plain, named = rows["warehouse / user_id"].body, rows["warehouse / anonymous_id"].body
    assert plain["timestampColumn"] == "timestamp"
    assert plain["experimentIDColumn"] == "experiment_id"
    assert plain["groupIDColumn"] == "variation_id"
    assert plain["groupNameColumn"] is None  # hasNameCol absent: no name column mapped
    assert named["groupNameColumn"] == "variation_name"  # hasNameCol: true
    assert plain["idTypeMapping"] == [{"statsigUnitID": "userID", "column": "user_id"}]
    assert named["idTypeMapping"] == [{"statsigUnitID": "stableID", "column": "anonymous_id"}]
    assert rows["lake / company_exp"].body["idTypeMapping"] == [
        {"statsigUnitID": "companyID", "column": "company_id"}
    ]
    assert named["description"] == "Every anonymous exposure, with names"
    assert plain["tags"] == ["imported-from-growthbook"]
    assert "FROM analytics.viewed" in named["sql"]  # ${EVENTS_SCHEMA:analytics}: its default
    assert result.dialects == {"warehouse": "postgres", "lake": "bigquery"}
    assert "data source analytics: type mixpanel has no SQL queries" in result.skipped
    assert "warehouse / user_id: dimension column(s) country" in result.not_carried
    assert "data source warehouse: 1 identity join(s)" in result.not_carried


def test_the_written_catalog_validates_and_the_rows_to_edit_are_invalid_with_their_note(
    tmp_path: Path,
) -> None:
    result = read_growthbook(CONFIG, CONFIG_MAP, environ={"POSTGRES_PW": SECRET})
    out = write_import(result, tmp_path / "catalog.csv")
    report = validate_catalog(open_catalog(out))
    assert report.total == 4 and report.valid_count == 2
    assert sorted(report.invalid) == [3, 4]
    experiment_id = report.invalid[3]
    assert [e.field for e in experiment_id] == ["row"]
    assert "{{ experimentId }}" in experiment_id[0].reason
    assert "${LAKE_DATASET} is unset" in experiment_id[0].reason
    text = out.read_text(encoding="utf-8")
    assert SECRET not in text and SECRET not in json.dumps(result.summary())
    assert "password" not in text


def test_unset_variables_are_reported_and_the_query_using_one_is_to_edit() -> None:
    result = read_growthbook(CONFIG, CONFIG_MAP, environ={})
    assert result.unset_variables == [
        "BQ_PRIVATE_KEY (not in any imported query)",
        "LAKE_DATASET (used by an imported query)",
        "MIXPANEL_SECRET (not in any imported query)",
        "POSTGRES_PW (not in any imported query)",
    ]
    row = _by_place(result.rows)["lake / user_exp"]
    assert "${LAKE_DATASET}" in row.body["sql"]  # left as written, never guessed
    assert "${LAKE_DATASET} is unset in the environment" in row.edit


@pytest.mark.parametrize(
    ("template", "expected", "caveat"),
    [
        ("'{{startDate}}'", "{statsig_start_date}", False),
        ("'{{ endDate }}'", "{statsig_end_date}", True),
        ("'{{startDateISO}}'", "{statsig_start_date}", False),
        ("TIMESTAMP '{{endDateISO}}'", "{statsig_end_date}", True),
        ("{{startYear}}{{startMonth}}{{startDay}}", "{statsig_start_date_int}", False),
        ("{{endYear}}{{endMonth}}{{endDay}}", "{statsig_end_date_int}", False),
        ('{{date startDateISO "yyyyMMdd"}}', "{statsig_start_date_int}", False),
        ("'{{date endDateISO \"yyyy-MM-dd\"}}'", "{statsig_end_date}", False),
    ],
)
def test_date_templates_with_the_same_meaning_become_statsig_macros(
    template: str, expected: str, caveat: bool
) -> None:
    done = translate(f"SELECT * FROM t WHERE x = {template}")
    assert done.sql == f"SELECT * FROM t WHERE x = {expected}"
    assert done.untranslatable == [] and len(done.translated) == 1
    # Only an end *timestamp* turned into a DATE can cut the last day; day forms can't.
    assert bool(done.caveats) == caveat


@pytest.mark.parametrize(
    "template",
    [
        "{{startDate}}",  # unquoted: GrowthBook's text, not a value Statsig's DATE replaces
        "'{{startDate}}Z'",
        "{{startDateUnix}}",
        "{{startYear}}",
        "'{{ experimentId }}'",
        "{{phase.index}}",
        "{{sqlstring customFields.region}}",
        "'{{lowercase startDate}}'",
        "{{#if phase.index}} AND p = 1 {{/if}}",
        "{{!-- a comment --}}",
    ],
)
def test_templates_without_a_statsig_equivalent_stay_and_are_named(template: str) -> None:
    sql = f"SELECT * FROM t WHERE x = {template}"
    done = translate(sql)
    assert done.sql == sql and done.translated == []
    assert done.untranslatable and all(t in sql for t in done.untranslatable)


def test_names_are_made_safe_and_unique_and_the_prefix_adds_the_data_source() -> None:
    result = read_growthbook(CONFIG, CONFIG_MAP, environ={})
    names = [r.body["name"] for r in result.rows]
    assert names == [
        "Logged-in user experiments",
        "Anonymous visitor experiments",
        "Logged-in user experiments (2)",
        "Company _ phase experiments",
    ]
    assert any("(another source already has it)" in r for r in result.renamed)
    assert any("(characters made safe)" in r for r in result.renamed)
    prefixed = read_growthbook(CONFIG, CONFIG_MAP, environ={}, prefix="{datasource} ")
    assert [r.body["name"] for r in prefixed.rows][2] == "lake Logged-in user experiments"
    assert not any("another source" in r for r in prefixed.renamed)


def test_names_differing_only_by_case_or_unsafe_characters_do_not_collide(tmp_path: Path) -> None:
    queries = [
        {"id": f"q{i}", "name": name, "userIdType": "user_id", "query": "SELECT 1"}
        for i, name in enumerate(["Checkout", "checkout", "Check/out", "Check?out", "Checkout"])
    ]
    path = tmp_path / "config.yml"
    path.write_text(
        json.dumps({"datasources": {"w": {"settings": {"queries": {"exposure": queries}}}}})
    )
    names = [r.body["name"] for r in read_growthbook(path, "user_id=userID").rows]
    assert names == ["Checkout", "checkout (2)", "Check_out", "Check_out (2)", "Checkout (3)"]


def test_rest_pages_become_one_catalog_and_datasource_picks_one() -> None:
    result = read_growthbook(PAGES, {"user_id": "userID", "device_id": "stableID"})
    assert [r.place for r in result.rows] == [
        "ds_abc123 / exq_1",
        "ds_abc123 / exq_2",
        "ds_def456 / exq_9",
    ]
    first = result.rows[0].body
    assert first["groupNameColumn"] == "variation_name"  # includesNameColumns: true
    assert result.rows[1].body["groupNameColumn"] is None
    assert first["description"] == "Logged-in users"
    assert result.dialects == {"ds_abc123": "snowflake", "ds_def456": "databricks"}
    one = read_growthbook(PAGES, "user_id=userID", datasource="ds_def456")
    assert [r.place for r in one.rows] == ["ds_def456 / exq_9"]
    with pytest.raises(UsageError, match="'nope' is not in the file"):
        read_growthbook(PAGES, "user_id=userID", datasource="nope")


def test_a_single_data_source_answer_is_read_too(tmp_path: Path) -> None:
    page = json.loads(PAGES[1].read_text())
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"dataSource": page["dataSources"][0]}))
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(page["dataSources"][0]))
    for path in (single, bare):
        assert [r.place for r in read_growthbook(path, "user_id=userID").rows] == [
            "ds_def456 / exq_9"
        ]


def test_every_unmapped_id_type_is_listed_in_one_error() -> None:
    with pytest.raises(UsageError) as caught:
        read_growthbook(CONFIG, "user_id=userID", environ={})
    message = str(caught.value)
    assert "anonymous_id (used by warehouse/anonymous_id)" in message
    assert "company_id (used by lake/company_exp)" in message
    assert "--id-map anonymous_id=<statsig unit ID type>,company_id=" in message


def test_bad_id_map_entries_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="'user_id' is not FROM=TO"):
        read_growthbook(PAGES[1], "user_id")
    with pytest.raises(UsageError, match="maps 'user_id' twice"):
        read_growthbook(PAGES[1], ["user_id=userID", "user_id=stableID"])


def test_an_empty_data_source_names_the_file_and_the_data_source(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("datasources:\n  empty_one:\n    type: snowflake\n    settings: {}\n")
    with pytest.raises(CatalogError, match="data source empty_one has no assignment queries"):
        read_growthbook(path, "user_id=userID")


def test_the_library_door_gives_a_frame_validate_frame_accepts(tmp_path: Path) -> None:
    frame = bulk_sources.import_growthbook(
        PAGES, id_map="user_id=userID,device_id=stableID", output=tmp_path / "c.xlsx"
    )
    assert list(frame["name"]) == ["Users", "Users (2)", "Checkout assignments"]
    assert frame.attrs["import_summary"]["sources"] == 3
    assert bulk_sources.validate_frame(frame).valid_count == 3
    assert validate_catalog(open_catalog(tmp_path / "c.xlsx")).valid_count == 3
