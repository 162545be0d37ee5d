"""`import` carries the warehouse's SQL dialect into the catalog (`_dialect`), and every door
that validates (validate, submit's validation, a retry's subset) checks the SQL in it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from fakeapi_fixtures import StartFakeServer
from submit_helpers import TEST_WINDOWS, read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.catalog.reader import open_catalog, write_rows_subset
from bulk_sources.catalog.validation import validate_catalog
from bulk_sources.cli.main import main
from bulk_sources.fakeapi import FakeApiConfig
from bulk_sources.importers import import_datadog, import_growthbook
from bulk_sources.run.entry import dry_run_async, submit_catalog_async

FIXTURES = Path(__file__).parent / "fixtures" / "import"
# Quoted lower-case names: fine where unquoted names fold to lower case (Postgres), wrong in
# Snowflake, which upper-cases the unquoted names the source maps.
QUOTED = 'SELECT "user_id", "timestamp", "experiment_id", "variation_id" FROM t'


def _source(ds_id: str, kind: str, name: str) -> dict[str, object]:
    query = {"id": f"q_{ds_id}", "name": name, "identifierType": "user_id", "sql": QUOTED}
    return {"id": ds_id, "type": kind, "assignmentQueries": [query]}


@pytest.fixture
def rest(tmp_path: Path) -> Path:
    sources = [
        _source("sf", "snowflake", "Snow users"),
        _source("pg", "postgres", "Pg users"),
        _source("ms", "mssql", "Sql server users"),
        _source("vt", "vertica", "Vertica users"),
    ]
    path = tmp_path / "gb.json"
    path.write_text(json.dumps({"dataSources": sources}), encoding="utf-8")
    return path


def _dialects(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return [row["_dialect"] for row in csv.DictReader(f)]


def test_each_row_gets_its_data_source_types_dialect(
    rest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c.csv"
    args = ["import", "growthbook", str(rest), "--id-map", "user_id=userID", "--output", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert _dialects(out) == ["snowflake", "postgres", "tsql", ""]
    assert "data source sf: snowflake (from its type snowflake)" in text
    assert "data source ms: tsql (from its type mssql)" in text
    assert "its type vertica has no sqlglot dialect" in text
    assert "validate and submit use" in text
    # The library door gives the same cells.
    frame = import_growthbook(rest, "user_id=userID")
    assert list(frame["_dialect"]) == ["snowflake", "postgres", "tsql", ""]


def test_validate_checks_each_row_in_its_dialect_and_the_flag_overrides(
    rest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c.csv"
    main(["import", "growthbook", str(rest), "--id-map", "user_id=userID", "--output", str(out)])
    capsys.readouterr()
    report = validate_catalog(open_catalog(out))
    # Only the Snowflake row is wrong: its quoted names keep their lower case.
    assert sorted(report.invalid) == [1]
    assert {e.field for e in report.invalid[1]} >= {"timestampColumn", "idTypeMapping"}
    assert "snowflake compares quoted names by case" in report.invalid[1][0].reason
    # The CLI reads the same cells without any flag; --dialect NAME applies to every row.
    assert main(["validate", str(out)]) == 1
    assert "row 1 (Snow users)" in capsys.readouterr().out
    assert main(["validate", str(out), "--dialect", "postgres"]) == 0
    capsys.readouterr()
    assert main(["validate", str(out), "--dialect", "snowflake"]) == 1
    assert "4 rows: 0 valid, 4 invalid" in capsys.readouterr().out


def test_a_bad_dialect_cell_is_that_rows_error_and_a_retry_keeps_the_column(
    rest: Path, tmp_path: Path
) -> None:
    out = tmp_path / "c.csv"
    main(["import", "growthbook", str(rest), "--id-map", "user_id=userID", "--output", str(out)])
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows[2][rows[0].index("_dialect")] = "postgress"
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    report = validate_catalog(open_catalog(out))
    assert sorted(report.invalid) == [1, 2]
    [error] = report.invalid[2]
    assert error.field == "_dialect"
    assert "unknown SQL dialect 'postgress'" in error.reason and "postgres" in error.reason
    # failed.csv and a retry's subset keep the cell, so the retry checks the SQL the same way.
    subset = tmp_path / "subset.csv"
    write_rows_subset(open_catalog(out), [1], subset)
    assert _dialects(subset) == ["snowflake"]
    assert sorted(validate_catalog(open_catalog(subset)).invalid) == [1]


def test_import_dialect_option_names_the_dialect_datadog_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = FIXTURES / "datadog_models.json"
    id_map = "user_id=userID,account_id=accountID,device_id=stableID"
    out = tmp_path / "d.csv"
    assert main(["import", "datadog", str(models), "--id-map", id_map, "--output", str(out)]) == 0
    assert "Datadog's models name no warehouse" in capsys.readouterr().out
    assert set(_dialects(out)) == {""}
    args = ["import", "datadog", str(models), "--id-map", id_map, "--output", str(out), "--json"]
    assert main([*args, "--dialect", "BigQuery"]) == 0
    assert json.loads(capsys.readouterr().out)["sql_dialects"] == ["bigquery"]
    assert set(_dialects(out)) == {"bigquery"}
    frame = import_datadog(models, id_map, dialect="snowflake")
    assert set(frame["_dialect"]) == {"snowflake"}
    assert main([*args, "--dialect", "snowflak"]) == 2
    err = capsys.readouterr().err
    assert "unknown SQL dialect 'snowflak'" in err and not out.with_suffix(".tmp").exists()


async def test_the_dry_run_and_submit_check_each_row_in_its_dialect(
    rest: Path, tmp_path: Path, fake_server_factory: StartFakeServer
) -> None:
    key = "console-dialect-tests"
    server = await fake_server_factory(FakeApiConfig(keys=[key], windows=list(TEST_WINDOWS)))
    out = tmp_path / "c.xlsx"
    main(["import", "growthbook", str(rest), "--id-map", "user_id=userID", "--output", str(out)])
    config = settings(server.url, tmp_path / "r")
    plan = await dry_run_async(out, config, ApiKey(key))
    assert (plan.would_create, plan.invalid) == (3, 1)
    assert [p.row for p in plan.problems] == [2]  # the Snowflake row (row 2 of the sheet)
    run = await submit_catalog_async(out, config, ApiKey(key))
    statuses = [r["status"] for r in read_results(run.run_dir)]
    assert statuses == ["invalid", "created", "created", "created"]
    # --dialect overrides the cells for every row.
    again = await dry_run_async(out, config.with_changes(dialect="postgres"), ApiKey(key))
    assert again.invalid == 0
