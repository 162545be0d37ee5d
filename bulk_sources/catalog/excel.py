"""Excel workbooks (.xlsx) as catalogs: the first sheet, or the one named by `sheet`.

Read with openpyxl in read-only mode, the engine `pandas.read_excel` uses, but directly: it
streams rows in constant memory, and every row comes with the row number Excel shows, which
is the number every message uses (the header is usually row 1, so the first data row is row
2; blank rows are skipped but keep their numbers counted). `pandas.read_excel` would load
the whole sheet and renumber the rows.

Cells are turned into the text a CSV export of the sheet would hold (TRUE -> `true`, 11.0 ->
`11`, a date -> ISO 8601), so a workbook validates exactly as the same sheet saved as CSV.
Formulas count by their last computed value.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import CatalogError
from .batch import BATCH_ROWS, Batches
from .reader import TEMPLATE_HINT


@contextmanager
def _workbook(path: Path) -> Iterator[Any]:
    import openpyxl  # imported only when a workbook is read
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise CatalogError(
            f"{path} is not a readable Excel workbook ({exc}); save it again from Excel as "
            ".xlsx, or export the sheet as CSV (UTF-8)"
        ) from None
    try:
        yield book
    finally:
        book.close()


def _sheet(book: Any, path: Path, sheet: str | None) -> Any:
    if sheet is None:
        return book.worksheets[0]
    if sheet not in book.sheetnames:
        names = ", ".join(repr(n) for n in book.sheetnames)
        raise CatalogError(f"{path} has no sheet {sheet!r} (its sheets: {names}); pick one")
    return book[sheet]


def text(value: object) -> str:
    """A cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _rows(sheet: Any) -> Iterator[tuple[int, list[str]]]:
    """(Excel row number, cells as text) for every row with something in it."""
    for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
        cells = [text(v) for v in values]
        if any(c.strip() for c in cells):
            yield number, cells


def _trim(cells: list[str], width: int) -> list[str]:
    """Empty cells past the header's width are not cells (the sheet is just wider)."""
    end = len(cells)
    while end > width and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def open_workbook(path: Path, sheet: str | None) -> tuple[list[str], str]:
    """The header of the sheet to read (its first row with text) and the sheet's name."""
    with _workbook(path) as book:
        chosen = _sheet(book, path, sheet)
        first = next(_rows(chosen), None)
        if first is None:
            raise CatalogError(
                f"{path} sheet {chosen.title!r} is empty; a catalog needs at least a header "
                f"row, {TEMPLATE_HINT}"
            )
        return _trim(first[1], 0), str(chosen.title)


def sheet_batches(path: Path, sheet: str | None) -> Batches:
    """Runs of consecutive rows, numbered as Excel numbers them (a blank row ends a run)."""
    with _workbook(path) as book:
        rows = _rows(_sheet(book, path, sheet))
        _, header = next(rows)
        width = len(_trim(header, 0))
        batch: list[Sequence[object]] = []
        start = expected = 0
        for number, cells in rows:
            if batch and (number != expected or len(batch) == BATCH_ROWS):
                yield start, batch
                batch = []
            if not batch:
                start = number
            batch.append(_trim(cells, width))
            expected = number + 1
        if batch:
            yield start, batch
