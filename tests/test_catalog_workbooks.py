"""Workbooks as people make them, written with openpyxl: a README first sheet, title rows
above the header, dates typed into text, formulas saved without values, hidden sheets."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from catalog_helpers import good

from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.validation import validate_catalog
from bulk_sources.cli.main import main
from bulk_sources.errors import CatalogError

HEADER = [*good(), "description"]


def _row(name: str, description: object = "") -> list[object]:
    return [*good(name).values(), description]


def _book(
    path: Path, sheets: dict[str, list[list[object]]], hidden: frozenset[str] = frozenset()
) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for values in rows:
            sheet.append(values)
        if title in hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def test_a_readme_first_sheet_is_passed_over_and_the_tool_says_which_it_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = [["Read me"], ["Fill in the Sources sheet, one row per source."]]
    path = _book(tmp_path / "c.xlsx", {"Read me": readme, "Sources": [HEADER, _row("a")]})
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "note: read sheet 'Sources': no catalog header in 'Read me' (row 1: 'Read me')" in err
    assert "1 row: 1 valid" in out
    assert main(["validate", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"][0].startswith("read sheet 'Sources'")


def test_no_sheet_with_the_header_lists_every_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheets = {"Read me": [["Read me"]], "Numbers": [["a", "b"], [1, 2]], "Old": [HEADER]}
    path = _book(tmp_path / "c.xlsx", sheets, hidden=frozenset({"Old"}))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no sheet has the catalog header" in err
    assert "'Read me' (row 1: 'Read me'); 'Numbers' (row 1: 'a', 'b'); hidden: 'Old'" in err
    assert "--sheet NAME" in err


def test_a_header_with_a_typo_says_did_you_mean_rather_than_listing_sheets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = ["timestamp_colum" if c == "timestampColumn" else c for c in HEADER]
    sheets = {"Read me": [["Read me"]], "Sources": [typo, _row("a")]}
    path = _book(tmp_path / "c.xlsx", sheets)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sheet 'Sources' lacks the required column(s) timestampColumn" in err
    assert "did you mean `timestamp_colum` -> `timestampColumn`?" in err


def test_a_header_below_title_rows_is_found_and_rows_keep_excels_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [["Q3 migration: assignment sources"], [], ["owner: data team"], HEADER]
    rows += [_row("a"), _row("b", description="second")]
    path = _book(tmp_path / "c.xlsx", {"Sources": rows})
    catalog = open_catalog(path)
    assert catalog.notes == [
        "sheet 'Sources': the header is row 4; the rows above it are titles, not read"
    ]
    report = validate_catalog(catalog, keep_valid=True)
    assert [(v.row, v.name) for v in report.valid] == [(5, "a"), (6, "b")]
    assert main(["validate", str(path)]) == 0
    assert "the header is row 4" in capsys.readouterr().err


def test_a_date_in_a_text_field_is_read_as_the_date_and_warned_about(tmp_path: Path) -> None:
    rows = [HEADER, _row("a", dt.datetime(2024, 3, 1)), _row("b", "plain text")]
    path = _book(tmp_path / "c.xlsx", {"Sources": rows})
    report = validate_catalog(open_catalog(path), keep_valid=True)
    assert report.valid[0].body["description"] == "2024-03-01"  # never 2024-03-01T00:00:00
    [warning] = report.warnings
    assert (warning.row, warning.field) == (2, "description")
    assert "is a date or time in the workbook, read as '2024-03-01'" in warning.reason
    assert "format the cell as Text" in warning.reason
    strict = validate_catalog(open_catalog(path), strict=True)
    assert list(strict.invalid) == [2] and strict.warnings == []


def test_formulas_without_computed_values_are_warned_or_explained(tmp_path: Path) -> None:
    # openpyxl writes formulas without the cached value Excel would store: as a program
    # that does not calculate saves them.
    rows: list[list[Any]] = [HEADER, _row("a", '="exposures " & A2'), [*_row("b")]]
    rows[2][1] = '=CONCAT("SELECT ", "1")'  # the SQL itself: required, so the row fails
    path = _book(tmp_path / "c.xlsx", {"Sources": rows})
    report = validate_catalog(open_catalog(path), keep_valid=True)
    [warning] = report.warnings
    assert (warning.row, warning.field) == (2, "description")
    assert 'formula ="exposures " & A2 but the file has no computed value' in warning.reason
    assert "description" not in report.valid[0].body  # read as empty, not as the formula
    fields = [(e.field, e.reason) for e in report.invalid[3]]
    assert ("sql", "is required but empty") in fields
    assert any(f == "sql" and "no computed value" in r for f, r in fields)


def test_hidden_sheets_are_skipped_unless_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheets = {"Draft": [HEADER, _row("draft_only")], "Sources": [HEADER, _row("a")]}
    path = _book(tmp_path / "c.xlsx", sheets, hidden=frozenset({"Draft"}))
    catalog = open_catalog(path)
    assert catalog.sheet == "Sources"
    assert "skipped hidden sheet(s) 'Draft' (--sheet NAME reads one)" in catalog.notes
    assert [r.cells["name"] for r in catalog.rows()] == ["a"]
    named = open_catalog(path, sheet="Draft")
    assert [r.cells["name"] for r in named.rows()] == ["draft_only"]
    with pytest.raises(CatalogError, match="has no sheet 'draft'"):
        open_catalog(path, sheet="draft")


def test_every_command_that_reads_or_writes_a_catalog_names_xlsx_in_its_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in ("validate", "submit", "demo", "import", "export", "template"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert ".xlsx" in capsys.readouterr().out, command
