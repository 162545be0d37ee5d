"""Excel workbooks and pandas DataFrames as catalogs: same rules, row numbers users expect."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from catalog_helpers import good, write_csv
from submit_helpers import settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.catalog.frame import open_frame, validate_frame
from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.validation import validate_catalog
from bulk_sources.cli.main import main
from bulk_sources.errors import CatalogError
from bulk_sources.fakeapi import FakeApiServer
from bulk_sources.run.entry import resume_run_async, submit_catalog_async


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_xlsx_rows_are_numbered_as_excel_shows_them(tmp_path: Path) -> None:
    header = [*good(), "isVerified", "scheduledReloadHour"]
    rows = [
        header,
        [*good("a").values(), True, 6],
        [],  # a blank row: skipped, but Excel still counts it
        [*good("b", idTypeMapping="").values(), None, None],
        [*good("c").values(), False, 6.0],
    ]
    path = _workbook(tmp_path / "c.xlsx", {"Sources": rows})
    catalog = open_catalog(path)
    assert catalog.format == "xlsx"
    report = validate_catalog(catalog, keep_valid=True)
    assert [v.row for v in report.valid] == [2, 5]
    assert list(report.invalid) == [4]
    assert report.valid[0].body["isVerified"] is True
    assert report.valid[0].body["scheduledReloadHour"] == 6
    assert report.valid[1].body["scheduledReloadHour"] == 6


def test_xlsx_sheet_by_name_and_unknown_sheet(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "c.xlsx",
        {"Notes": [["just notes"]], "Sources": [list(good()), list(good("a").values())]},
    )
    with pytest.raises(CatalogError, match="lacks the required column"):
        open_catalog(path, sheet="Notes")  # named, so read even without a header
    # Not named: the first sheet with the catalog header, saying so.
    assert open_catalog(path).notes == ["read sheet 'Sources': no catalog header in 'Notes' "
                                        "(row 1: 'just notes')"]  # fmt: skip
    assert validate_catalog(open_catalog(path, sheet="Sources")).valid_count == 1
    with pytest.raises(CatalogError, match=r"has no sheet 'Nope' \(its sheets: 'Notes', "):
        open_catalog(path, sheet="Nope")


def test_cli_validate_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _workbook(
        tmp_path / "c.xlsx",
        {"Other": [["x"]], "S": [list(good()), list(good("a", groupIDColumn="g 1").values())]},
    )
    assert main(["validate", str(path), "--sheet", "S"]) == 1
    out = capsys.readouterr().out
    assert "row 2 (a): groupIDColumn: 'g 1' contains a space" in out


def test_frame_rows_are_numbered_by_position(tmp_path: Path) -> None:
    frame = pd.DataFrame([good("a"), good("b", sql=""), good("c")], index=[10, 20, 30])
    frame["scheduledReloadHour"] = pd.array([3, None, np.int64(23)], dtype="Int64")
    frame["isVerified"] = [np.True_, None, False]
    report = validate_frame(frame, keep_valid=True)
    assert list(report.invalid) == [2]
    assert [(v.row, v.body.get("scheduledReloadHour")) for v in report.valid] == [(1, 3), (3, 23)]
    assert report.valid[0].body["isVerified"] is True
    assert report.valid[1].body["isVerified"] is False


def test_frame_gives_the_same_report_as_the_file(tmp_path: Path) -> None:
    rows = [good("a"), good("b", tags="x, y"), good("a"), good("d", idTypeMapping="u=c d")]
    header = [*good(), "tags"]
    from_file = validate_catalog(open_catalog(write_csv(tmp_path / "c.csv", rows, header)))
    from_frame = validate_frame(pd.DataFrame(rows))
    assert from_frame.invalid == from_file.invalid
    assert from_frame.duplicates == from_file.duplicates
    assert open_frame(pd.DataFrame(rows)).columns == header


def test_frame_with_missing_columns_is_refused() -> None:
    with pytest.raises(CatalogError, match="the DataFrame lacks the required column"):
        open_frame(pd.DataFrame([{"name": "a"}]))


def test_validate_json_and_grouping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [good(f"n{i}", tags=f"a, b{i}") for i in range(30)] + [good("ok"), good("ok")]
    path = write_csv(tmp_path / "c.csv", rows)
    assert main(["validate", str(path), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert (doc["rows"], doc["valid"], doc["invalid"], doc["duplicates"]) == (32, 1, 30, 1)
    tags = doc["groups"][0]
    assert (tags["field"], tags["count"], tags["rows"]) == ("tags", 30, [1, 2, 3, 4, 5])
    assert tags["kind"] == "separate tags with `;`, not commas (did you mean …?)"
    assert len(doc["problems"]) == 31


def test_validate_groups_long_output_and_writes_the_full_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rows = [good(f"n{i}", tags=f"a, b{i}") for i in range(30)]
    path = write_csv(tmp_path / "c.csv", rows)
    assert main(["validate", str(path), "--max-errors", "4"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "30 rows: tags: separate tags with `;`, not commas (did you mean …?)"
    assert lines[1].startswith("  row 1 (n0): tags: separate tags")
    assert lines[5] == "  ... and 26 more"
    assert lines[-1] == "30 problems in all; --report FILE writes the full list as CSV"
    assert list(tmp_path.iterdir()) == [path]  # nothing written unasked
    assert main(["validate", str(path), "--max-errors", "4", "--report", "p.csv"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "the full list of 30 problems written to p.csv"
    )
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 31


def test_conflicting_duplicates_name_the_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [good("a"), good("a", sql="SELECT 2", tags="x")]
    path = write_csv(tmp_path / "c.csv", rows, [*good(), "tags"])
    assert main(["validate", str(path)]) == 1
    assert "with different content (they differ in sql, tags)" in capsys.readouterr().out


def test_template_all_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "--all"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split(",")
    for column in (
        "groupNameColumn",
        "scheduledReloadHour",
        "owner.ownerEmail",
        "dryRun",
        "team",
        "teamID",
        "isReadOnly",
    ):
        assert column in header
    path = tmp_path / "t.csv"
    path.write_text(out, encoding="utf-8")
    report = validate_catalog(open_catalog(path))
    assert (report.valid_count, report.invalid, report.warnings) == (2, {}, [])


async def test_submit_reads_the_named_sheet_and_resume_keeps_it(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    sources = [list(good()), *(list(good(f"x{i}").values()) for i in range(3))]
    path = _workbook(tmp_path / "c.xlsx", {"Notes": [["just notes"]], "Sources": sources})
    report = await submit_catalog_async(
        path, settings(fake_server.url, tmp_path / "r", sheet="Sources"), ApiKey(fake_server.key)
    )
    assert report.counts["created"] == 3
    assert [r.row for r in report.results] == [2, 3, 4]  # as Excel shows them
    again = await resume_run_async(report.run_dir, ApiKey(fake_server.key))
    assert again.counts["created"] == 3
    assert sorted(fake_server.state.sources) == ["x0", "x1", "x2"]
