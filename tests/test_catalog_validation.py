"""Validation rules, duplicate names, and the report's bookkeeping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
from catalog_helpers import good, write_csv, write_parquet

from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.validation import (
    Finding,
    RowError,
    ValidationReport,
    ValidRow,
    findings,
    validate_catalog,
)
from bulk_sources.models import AssignmentSourceCreate, row_key


def _validate(tmp_path: Path, rows: list[dict[str, Any]], **kw: bool) -> ValidationReport:
    return validate_catalog(open_catalog(write_csv(tmp_path / "c.csv", rows)), **kw)


def _messages(report: ValidationReport) -> list[str]:
    return [str(e) for errors in report.invalid.values() for e in errors]


def _buckets_add_up(report: ValidationReport) -> None:
    rows = set(report.invalid) | set(report.duplicates)
    assert not set(report.invalid) & set(report.duplicates)
    assert report.valid_count + len(report.invalid) + len(report.duplicates) == report.total
    if report.valid:
        assert not {v.row for v in report.valid} & rows
        assert len(report.valid) == report.valid_count


def test_row_error_text() -> None:
    assert str(RowError(4, "exposures_a", "idTypeMapping", "needs at least one entry")) == (
        "row 4 (exposures_a): idTypeMapping: needs at least one entry"
    )
    assert str(RowError(4, None, "name", "is required but empty")) == (
        "row 4: name: is required but empty"
    )


def test_valid_rows_carry_body_and_key(tmp_path: Path) -> None:
    report = _validate(tmp_path, [good("a", tags=""), good("b", tags="x;y")], keep_valid=True)
    assert report.total == 2 and report.valid_count == 2
    body = AssignmentSourceCreate.model_validate(
        {**good("b"), "idTypeMapping": [{"statsigUnitID": "userID", "column": "user_id"}]}
        | {"tags": ["x", "y"]}
    ).to_body()
    assert report.valid[1] == ValidRow(2, "b", body, row_key(body))
    assert report.row_name(2) == "b"
    _buckets_add_up(report)


def test_valid_list_is_only_kept_on_request(tmp_path: Path) -> None:
    report = _validate(tmp_path, [good("a")])
    assert report.valid == [] and report.valid_count == 1


def test_every_problem_of_a_row_is_reported(tmp_path: Path) -> None:
    row = good("a", sql=" ", isVerified="perhaps", idTypeMapping="userID=u;userID=v")
    report = _validate(tmp_path, [row])
    assert _messages(report) == [
        "row 1 (a): sql: is required but empty",
        "row 1 (a): idTypeMapping: maps unit ID 'userID' twice",
        "row 1 (a): isVerified: 'perhaps' is not a boolean; write true/false, yes/no or 1/0",
    ]


def test_model_rules_map_to_fields(tmp_path: Path) -> None:
    report = _validate(tmp_path, [good("a", idTypeMapping="[]"), good("", groupIDColumn="")])
    assert _messages(report) == [
        "row 1 (a): idTypeMapping: needs at least one entry",
        "row 2: name: is required but empty",
        "row 2: groupIDColumn: is required but empty",
    ]
    assert report.row_name(1) == "a" and report.row_name(2) is None


def test_required_text_is_trimmed(tmp_path: Path) -> None:
    report = _validate(tmp_path, [good("  a  ", sql="  SELECT * FROM t \n")], keep_valid=True)
    assert report.valid[0].body["name"] == "a"
    assert report.valid[0].body["sql"] == "SELECT * FROM t"


def test_absent_optional_cells_are_absent_from_the_body(tmp_path: Path) -> None:
    row = {**good("a"), "description": "", "tags": "", "isVerified": "", "owner.ownerID": ""}
    report = _validate(tmp_path, [row], keep_valid=True)
    assert set(report.valid[0].body) == {
        "name",
        "sql",
        "timestampColumn",
        "experimentIDColumn",
        "groupIDColumn",
        "idTypeMapping",
    }


def test_ragged_rows_are_invalid(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good("a")])
    path.write_text(path.read_text() + "b,SELECT 1,ts,e,g,userID=u,extra\nc,SELECT 1,ts\n")
    report = validate_catalog(open_catalog(path))
    assert _messages(report) == [
        "row 2 (b): row: has 7 cells but the header has 6 columns; quote cells that contain commas",
        "row 3 (c): row: has 3 cells but the header has 6 columns; quote cells that contain commas",
        "row 3 (c): experimentIDColumn: is required but empty",
        "row 3 (c): groupIDColumn: is required but empty",
        "row 3 (c): idTypeMapping: is required but empty",
    ]


def test_identical_rows_are_duplicates_not_sent(tmp_path: Path) -> None:
    report = _validate(tmp_path, [good("a"), good("b"), good("a"), good("a")], keep_valid=True)
    assert report.duplicates == {3: ("a", 1), 4: ("a", 1)}
    assert [v.row for v in report.valid] == [1, 2]
    assert report.invalid == {}
    assert report.row_name(3) == "a"
    _buckets_add_up(report)


def test_same_content_in_another_spelling_is_a_duplicate(tmp_path: Path) -> None:
    json_form = '[{"statsigUnitID": "userID", "column": "user_id"}]'
    rows = [good("a"), good(" a ", idTypeMapping=json_form, sql=" " + good()["sql"])]
    report = _validate(tmp_path, rows, keep_valid=True)
    assert report.duplicates == {2: ("a", 1)}
    assert report.valid_count == 1
    _buckets_add_up(report)


def test_same_name_different_content_makes_all_of_them_invalid(tmp_path: Path) -> None:
    rows = [good("a"), good("b"), good("a"), good("c"), good("a", groupIDColumn="exp")]
    report = _validate(tmp_path, rows, keep_valid=True)
    conflict = (
        "name a appears in rows 1, 3, 5 with different content (they differ in groupIDColumn)"
    )
    assert _messages(report) == [
        f"row 1 (a): name: {conflict}",
        f"row 3 (a): name: {conflict}",
        f"row 5 (a): name: {conflict}",
    ]
    assert [v.row for v in report.valid] == [2, 4]
    assert report.valid_count == 2 and report.duplicates == {}
    _buckets_add_up(report)


def test_conflict_keeps_a_rows_own_errors(tmp_path: Path) -> None:
    rows = [good("a", isVerified="maybe"), good("a")]
    report = _validate(tmp_path, rows)
    conflict = "name a appears in rows 1, 2 with different content (they differ in idTypeMapping)"
    assert _messages(report) == [
        "row 1 (a): isVerified: 'maybe' is not a boolean; write true/false, yes/no or 1/0",
        f"row 1 (a): name: {conflict}",
        f"row 2 (a): name: {conflict}",
    ]
    _buckets_add_up(report)


def test_identical_invalid_rows_are_one_invalid_and_a_duplicate(tmp_path: Path) -> None:
    report = _validate(tmp_path, [good("a", sql=""), good("a", sql="")])
    assert list(report.invalid) == [1]
    assert report.duplicates == {2: ("a", 1)}
    _buckets_add_up(report)


def test_long_conflicts_list_the_first_rows(tmp_path: Path) -> None:
    rows = [good("a", sql="SELECT * FROM t", groupIDColumn=f"g{i}") for i in range(12)]
    report = _validate(tmp_path, rows)
    assert report.invalid[1][0].reason == (
        "name a appears in rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (12 rows) with different content"
        " (they differ in groupIDColumn)"
    )
    assert len(report.invalid) == 12


def test_unknown_columns_are_in_the_report(tmp_path: Path) -> None:
    report = _validate(tmp_path, [{**good(), "colour": "red"}])
    assert report.unknown_columns == ["colour"]
    assert report.valid_count == 1


def test_findings_interleave_invalid_and_duplicates_in_row_order(tmp_path: Path) -> None:
    rows = [good("a"), good("a"), good("", sql=""), good("b"), good("b")]
    report = _validate(tmp_path, rows)
    assert [str(f) for f in findings(report)] == [
        "row 2 (a): duplicate of row 1, not sent",
        "row 3: name: is required but empty",
        "row 3: sql: is required but empty",
        "row 5 (b): duplicate of row 4, not sent",
    ]
    assert next(iter(findings(report))) == Finding(
        2, "a", "duplicate", "name", "duplicate of row 1, not sent"
    )


def test_parquet_native_values_validate(tmp_path: Path) -> None:
    schema = pa.schema(
        [
            *((c, pa.string()) for c in good()),
            ("tags", pa.list_(pa.string())),
            ("isReadOnly", pa.bool_()),
            ("dryRun", pa.int64()),
        ]
    )
    rows = [
        {**good("a"), "tags": ["x"], "isReadOnly": False, "dryRun": None},
        {**good("b"), "tags": None, "isReadOnly": None, "dryRun": 7},
    ]
    catalog = open_catalog(write_parquet(tmp_path / "c.parquet", rows, schema))
    report = validate_catalog(catalog, keep_valid=True)
    assert report.valid[0].body["tags"] == ["x"]
    assert report.valid[0].body["isReadOnly"] is False
    assert "dryRun" not in report.valid[0].body
    assert _messages(report) == [
        "row 2 (b): dryRun: 7 is not a boolean; write true/false, yes/no or 1/0"
    ]


def test_parquet_text_column_with_numbers_is_invalid(tmp_path: Path) -> None:
    schema = pa.schema([*((c, pa.string()) for c in good() if c != "sql"), ("sql", pa.int64())])
    rows = [{**good("a"), "sql": 5}]
    report = validate_catalog(open_catalog(write_parquet(tmp_path / "c.parquet", rows, schema)))
    assert _messages(report) == ["row 1 (a): sql: must be text, not a number"]


def test_header_only_catalog_is_valid(tmp_path: Path) -> None:
    report = _validate(tmp_path, [])
    assert (report.total, report.valid_count, report.invalid, report.duplicates) == (0, 0, {}, {})
