"""Spreadsheet habits, new API fields, hostile files and report columns: real files in tmp_path."""

from __future__ import annotations

import codecs
import csv
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from catalog_helpers import good, write_csv, write_parquet

from bulk_sources.catalog.reader import open_catalog, unknown_columns_warning
from bulk_sources.catalog.validation import ValidationReport, validate_catalog
from bulk_sources.catalog.writer import write_rows_subset, write_rows_with_report
from bulk_sources.errors import CatalogError


def _validate(path: Path) -> ValidationReport:
    return validate_catalog(open_catalog(path), keep_valid=True)


def _reasons(report: ValidationReport, row: int) -> list[tuple[str, str]]:
    return [(e.field, e.reason) for e in report.invalid[row]]


# Issue 10: the current API's fields


def test_new_fields_are_sent(tmp_path: Path) -> None:
    row = good("a", groupNameColumn="grp_name", scheduledReloadHour=" 6 ")
    row["sql"] = "SELECT user_id, ts, exp, grp, grp_name FROM t"
    report = _validate(write_csv(tmp_path / "c.csv", [row]))
    assert report.valid[0].body["groupNameColumn"] == "grp_name"
    assert report.valid[0].body["scheduledReloadHour"] == 6
    assert report.warnings == []


@pytest.mark.parametrize(
    ("hour", "reason"),
    [
        ("24", "less than or equal to 23"),
        ("-1", "greater than or equal to 0"),
        ("6.5", "'6.5' is not a whole hour; write a number from 0 to 23"),
        ("six", "'six' is not a whole hour; write a number from 0 to 23"),
    ],
)
def test_reload_hour_is_a_whole_hour_0_to_23(tmp_path: Path, hour: str, reason: str) -> None:
    report = _validate(write_csv(tmp_path / "c.csv", [good("a", scheduled_reload_hour=hour)]))
    [(field, text)] = _reasons(report, 1)
    assert field == "scheduledReloadHour"
    assert reason in text


def test_reload_hour_from_native_parquet_ints(tmp_path: Path) -> None:
    schema = pa.schema([*[(c, pa.string()) for c in good()], ("scheduledReloadHour", pa.int64())])
    path = write_parquet(tmp_path / "c.parquet", [{**good("a"), "scheduledReloadHour": 23}], schema)
    assert _validate(path).valid[0].body["scheduledReloadHour"] == 23


@pytest.mark.parametrize(
    ("header", "meant"),
    [
        ("ownerEmail", "owner.ownerEmail"),
        ("Owner Email", "owner.ownerEmail"),
        ("groupName", "groupNameColumn"),
        ("sheduledReloadHour", "scheduledReloadHour"),
        ("isVerfied", "isVerified"),
    ],
)
def test_near_miss_headers_get_did_you_mean(tmp_path: Path, header: str, meant: str) -> None:
    path = write_csv(tmp_path / "c.csv", [{**good("a"), header: "x", "colour": "red"}])
    catalog = open_catalog(path)
    assert catalog.column_map.hints == {header: meant}
    assert unknown_columns_warning(catalog) == (
        "warning: ignoring columns that are not assignment-source fields: "
        f"{header} (did you mean `{meant}`?), colour "
        "(rename them to spec field names if they were meant to be sent)"
    )


def test_missing_required_column_suggests_the_near_miss(tmp_path: Path) -> None:
    row = good("a")
    row["timestampColum"] = row.pop("timestampColumn")
    path = write_csv(tmp_path / "c.csv", [row])
    with pytest.raises(CatalogError, match=r"did you mean `timestampColum` -> `timestampColumn`"):
        open_catalog(path)


# Issue 13: spreadsheet habits in cells


@pytest.mark.parametrize(
    ("column", "cell", "reason"),
    [
        (
            "tags",
            "legacy, search, tier1",
            "separate tags with `;`, not commas (did you mean `legacy;search;tier1`?)",
        ),
        (
            "idTypeMapping",
            "userID=user_id,companyID=company_id",
            "separate entries with `;`, "
            "not commas (did you mean `userID=user_id;companyID=company_id`?)",
        ),
        (
            "idTypeMapping",
            "userID=user id",
            "entry 1 column 'user id' contains a space; a "
            "column name is one word as the SQL outputs it (did you mean `user_id`?)",
        ),
        (
            "timestampColumn",
            "event ts",
            "'event ts' contains a space; a column name is one "
            "word as the SQL outputs it (did you mean `event_ts`?)",
        ),
        (
            "groupIDColumn",
            "grp;variant",
            "'grp;variant' contains a semicolon; a column name "
            "is one word as the SQL outputs it; give one column",
        ),
    ],
)
def test_spreadsheet_habits_make_the_row_invalid(
    tmp_path: Path, column: str, cell: str, reason: str
) -> None:
    report = _validate(write_csv(tmp_path / "c.csv", [good("a", **{column: cell})]))
    assert _reasons(report, 1) == [(column, reason)]


def test_json_tags_may_hold_commas(tmp_path: Path) -> None:
    report = _validate(write_csv(tmp_path / "c.csv", [good("a", tags='["a, b"]')]))
    assert report.valid[0].body["tags"] == ["a, b"]


def test_id_column_missing_from_sql_makes_the_row_invalid(tmp_path: Path) -> None:
    rows = [
        good("a", idTypeMapping="userID=user_id;companyID=company_id"),
        good("b", sql="SELECT * FROM t", idTypeMapping="companyID=company_id"),
    ]
    report = _validate(write_csv(tmp_path / "c.csv", rows))
    assert report.valid_count == 1
    assert [(e.row, e.field, e.reason) for e in report.invalid[1]] == [
        (
            1,
            "idTypeMapping",
            "column 'company_id' is not among the columns the SQL returns (user_id, ts, exp, "
            "grp); Statsig would fail to load the source",
        )
    ]
    assert report.warnings == []


# Delimiters and encodings


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_files_are_read(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "c.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(list(good()))
        writer.writerow(list(good("a", sql="SELECT user_id, ts, exp, grp FROM t").values()))
    catalog = open_catalog(path)
    assert catalog.delimiter == delimiter
    report = validate_catalog(catalog, keep_valid=True)
    assert report.valid[0].body["sql"] == "SELECT user_id, ts, exp, grp FROM t"


def test_excel_unicode_text_utf16_tab_is_read(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    lines = ["\t".join(good()), "\t".join(good("ä_source").values())]
    path.write_bytes(codecs.BOM_UTF16_LE + "\r\n".join(lines).encode("utf-16-le"))
    report = _validate(path)
    assert [v.name for v in report.valid] == ["ä_source"]


def test_utf16_without_bom_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(",".join(good()).encode("utf-16-le"))
    with pytest.raises(
        CatalogError,
        match="looks like UTF-16 text without a byte order mark; pass --encoding utf-16-le",
    ):
        open_catalog(path)


# Issue 12: hostile files


def test_cells_over_the_csv_default_limit_are_read(tmp_path: Path) -> None:
    sql = "SELECT user_id, ts, exp, grp FROM t WHERE " + " OR ".join(["x = 1"] * 40_000)
    assert len(sql) > 131_072
    report = _validate(write_csv(tmp_path / "c.csv", [good("a", sql=sql)]))
    assert report.valid[0].body["sql"] == sql


@pytest.mark.parametrize("at_start", [True, False])
def test_nul_makes_only_its_row_invalid(tmp_path: Path, at_start: bool) -> None:
    filler = [good(f"ok{i}", description="x" * 200) for i in range(400)]
    bad = good("bad\x00name")
    rows = [bad, *filler] if at_start else [*filler, bad]
    report = _validate(write_csv(tmp_path / "c.csv", rows))
    row = 1 if at_start else 401
    assert list(report.invalid) == [row]
    assert _reasons(report, row) == [
        ("name", "contains a NUL character (\\0); remove it, it is never part of a value")
    ]
    assert report.valid_count == 400


def test_nul_in_parquet_text_and_lists(tmp_path: Path) -> None:
    schema = pa.schema([*[(c, pa.string()) for c in good()], ("tags", pa.list_(pa.string()))])
    rows = [{**good("a"), "tags": ["x\x00"]}, {**good("b\x00"), "tags": None}, good("c")]
    report = _validate(write_parquet(tmp_path / "c.parquet", rows, schema))
    assert sorted(report.invalid) == [1, 2]
    assert [v.name for v in report.valid] == ["c"]


def test_truly_binary_file_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CatalogError, match="contains binary data"):
        open_catalog(path)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    os.mkfifo(path)  # nobody writes to it: opening it for reading would block forever
    with pytest.raises(CatalogError) as info:
        open_catalog(path)
    assert str(info.value) == (
        f"{path} is a named pipe (FIFO), not a file; save the catalog to a regular file and "
        "give that"
    )


def test_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"/dev/null is a device, not a file"):
        open_catalog(Path("/dev/null"))


# Issue 13 point 2: report columns


def test_report_columns_are_ignored_and_rewritten(tmp_path: Path) -> None:
    rows = [good("a"), good("b", idTypeMapping=""), good("c")]
    catalog = open_catalog(write_csv(tmp_path / "c.csv", rows))
    failed = tmp_path / "failed.csv"
    write_rows_with_report(
        catalog,
        {2: ("2", "invalid", "idTypeMapping: is required but empty")},
        ("_row", "_status", "_error"),
        failed,
    )
    with failed.open(encoding="utf-8", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == [*good(), "_row", "_status", "_error"]
    assert lines[1] == [
        *good("b", idTypeMapping="").values(),
        "2",
        "invalid",
        "idTypeMapping: is required but empty",
    ]
    again = open_catalog(failed)
    assert again.unknown_columns == []
    assert again.column_map.report == ("_row", "_status", "_error")
    assert unknown_columns_warning(again) is None
    # Written again from the failed file: old report columns replaced, not doubled.
    second = tmp_path / "failed2.csv"
    write_rows_with_report(
        again, {1: ("1", "failed", "HTTP 500")}, ("_row", "_status", "_error"), second
    )
    assert second.read_text(encoding="utf-8").splitlines()[0].count("_row") == 1


def test_report_columns_in_parquet(tmp_path: Path) -> None:
    catalog = open_catalog(write_parquet(tmp_path / "c.parquet", [good("a"), good("b")]))
    out = tmp_path / "failed.parquet"
    write_rows_with_report(catalog, {2: ("2", "failed")}, ("_row", "_status"), out)
    table = pq.read_table(out)
    assert table.column_names == [*good(), "_row", "_status"]
    assert table.to_pylist() == [{**good("b"), "_row": "2", "_status": "failed"}]
    assert _validate(out).valid_count == 1


def test_report_column_names_must_be_reserved(tmp_path: Path) -> None:
    catalog = open_catalog(write_csv(tmp_path / "c.csv", [good("a")]))
    with pytest.raises(ValueError, match="must start with '_'"):
        write_rows_with_report(catalog, {1: ("x",)}, ("status",), tmp_path / "f.csv")


def test_write_rows_subset_keeps_delimiter_and_values(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        ";".join(good())
        + "\n"
        + ";".join(good("a").values())
        + "\n"
        + ";".join(good("b").values())
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    write_rows_subset(open_catalog(path), [2], out)
    assert out.read_text(encoding="utf-8").splitlines()[1] == ";".join(good("b").values())


def test_a_row_in_conflict_carries_no_warning_that_it_is_sent(tmp_path: Path) -> None:
    first = good("twin", sql="SELECT user_id, ts, exp, grp FROM t", idTypeMapping="userID=uid")
    second = good("twin", sql="SELECT user_id, ts, exp, grp FROM t")
    report = validate_catalog(open_catalog(write_csv(tmp_path / "c.csv", [first, second])))
    assert sorted(report.invalid) == [1, 2]
    assert report.warnings == []
