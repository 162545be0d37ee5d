"""Excel workbooks (.xlsx) as catalogs, as people make them.

Read with openpyxl in read-only mode, the engine `pandas.read_excel` uses, but directly: it
streams rows in constant memory, and every row comes with the row number Excel shows, which
is the number every message uses (blank rows are skipped but keep their numbers counted).
`pandas.read_excel` would load the whole sheet and renumber the rows.

Which sheet and which row: `--sheet NAME` names the sheet (hidden or not); otherwise the
first visible sheet that has the catalog header (a README first sheet is passed over, and
hidden sheets are skipped). The header is the first row, among the first
`HEADER_SEARCH_ROWS` rows with text, that holds every required column, so title rows above
it are fine. Each choice that is not the obvious one is said in `WorkbookChoice.notes`.

Cells are turned into the text a CSV export of the sheet would hold (TRUE -> `true`, 11.0 ->
`11`), so a workbook validates as the same sheet saved as CSV. Two kinds of cell are read
but marked (`NotedText`), because they are rarely what the person meant: a date (Excel turns
`2024-03-01` typed into a description into a date; it reads as `2024-03-01`, with a
warning), and a formula the file has no computed value for (a file saved by a program that
does not calculate; it reads as empty, with a warning). Other formulas count by their last
computed value.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import CatalogError
from .batch import BATCH_ROWS, Batches
from .cells import NotedText
from .columns import REQUIRED_FIELDS, ColumnProblem, map_columns
from .reader import TEMPLATE_HINT

# Title rows people put above a header: a header further down is not looked for.
HEADER_SEARCH_ROWS = 20


@dataclass(frozen=True)
class WorkbookChoice:
    columns: list[str]
    sheet: str
    header_row: int  # as Excel numbers it
    notes: list[str] = field(default_factory=list)


@contextmanager
def _workbook(path: Path, *, formulas: bool = False) -> Iterator[Any]:
    import openpyxl  # imported only when a workbook is read
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=not formulas)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise CatalogError(
            f"{path} is not a readable Excel workbook ({exc}); save it again from Excel as "
            ".xlsx, or export the sheet as CSV (UTF-8)"
        ) from None
    try:
        yield book
    finally:
        book.close()


def _named(book: Any, path: Path, sheet: str) -> Any:
    if sheet not in book.sheetnames:
        names = ", ".join(repr(n) for n in book.sheetnames)
        raise CatalogError(f"{path} has no sheet {sheet!r} (its sheets: {names}); pick one")
    return book[sheet]


def _date_text(value: dt.date | dt.time) -> NotedText:
    is_midnight = isinstance(value, dt.datetime) and value.time() == dt.time()
    shown = value.date().isoformat() if is_midnight else value.isoformat()  # type: ignore[union-attr]
    return NotedText(
        shown,
        f"the cell is a date or time in the workbook, read as {shown!r}; if text was meant, "
        "format the cell as Text in Excel and type it again",
    )


def text(value: object) -> str:
    """A cell as the text a CSV export would hold (a date marked, see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return _date_text(value)
    return str(value)


def _uncalculated(formula: str) -> NotedText:
    shown = formula if len(formula) <= 60 else formula[:59] + "…"
    return NotedText(
        "",
        f"the cell holds the formula {shown} but the file has no computed value for it (it "
        "was saved by a program that does not calculate), so it reads as empty; open and "
        "save the file in Excel, or paste the values",
    )


def _has_formulas(path: Path, sheet: Any) -> bool:
    """Whether the sheet's XML holds a formula at all: the second, formula pass over the
    sheet is only paid for when it can find something."""
    member = getattr(sheet, "_worksheet_path", None)
    if not isinstance(member, str):
        return True  # can't tell cheaply: look
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
            tail = b""
            while chunk := handle.read(1 << 20):
                if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                    return True
                tail = chunk[-3:]
    except (KeyError, OSError, zipfile.BadZipFile):
        return True
    return False


def _rows(sheet: Any, formulas: Any = None) -> Iterator[tuple[int, list[str]]]:
    """(Excel row number, cells as text) for every row with something in it; `formulas` is
    the same sheet read for its formulas, to mark the ones with no computed value."""
    raw = formulas.iter_rows(values_only=True) if formulas is not None else None
    for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
        cells = [text(v) for v in values]
        marked = False
        if raw is not None:
            for i, written in enumerate(next(raw, ())):
                formula = isinstance(written, str) and written.startswith("=")
                if formula and i < len(values) and values[i] is None:
                    cells[i] = _uncalculated(str(written))
                    marked = True
        if marked or any(c.strip() for c in cells):
            yield number, cells


def _trim(cells: list[str], width: int) -> list[str]:
    """Empty cells past the header's width are not cells (the sheet is just wider)."""
    end = len(cells)
    while end > width and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def _is_header(cells: list[str]) -> bool:
    try:
        return not map_columns(_trim(cells, 0)).missing
    except ColumnProblem:
        return True  # a header with a doubled column: reading it says what is wrong


def _near_header(cells: list[str]) -> bool:
    """A row that names several fields but lacks a required one: a header with a typo."""
    try:
        return sum(t is not None for t in map_columns(_trim(cells, 0)).targets) >= 2
    except ColumnProblem:
        return True


def _header(sheet: Any) -> tuple[tuple[int, list[str]] | None, tuple[int, list[str]] | None]:
    """(the catalog header's row, the first row with text), each None when there is none."""
    first = None
    for count, (number, cells) in enumerate(_rows(sheet)):
        if first is None:
            first = (number, cells)
        if _is_header(cells):
            return (number, cells), first
        if count + 1 >= HEADER_SEARCH_ROWS:
            break
    return None, first


def _choice(
    sheet: Any, found: tuple[int, list[str]], first: Any, notes: list[str]
) -> WorkbookChoice:
    number, cells = found
    if first is not None and first[0] != number:
        notes.append(
            f"sheet {sheet.title!r}: the header is row {number}; the rows above it are "
            "titles, not read"
        )
    return WorkbookChoice(_trim(cells, 0), str(sheet.title), number, notes)


def _first_cells(first: Any) -> str:
    if first is None:
        return "empty"
    shown = ", ".join(repr(c) for c in _trim(first[1], 0)[:4])
    return f"row {first[0]}: {shown}"


def _pick(book: Any, path: Path) -> WorkbookChoice:
    """The first visible sheet with the catalog header, or one sentence listing them all."""
    sheets = list(book.worksheets)
    visible = [s for s in sheets if getattr(s, "sheet_state", "visible") == "visible"] or sheets
    seen: list[str] = []
    near: WorkbookChoice | None = None
    for sheet in visible:
        found, first = _header(sheet)
        if found is not None:
            notes = []
            if sheet is not visible[0]:
                passed = ", ".join(seen)
                notes.append(f"read sheet {sheet.title!r}: no catalog header in {passed}")
            hidden = [s.title for s in sheets[: sheets.index(sheet)] if s not in visible]
            if hidden:
                names = ", ".join(repr(h) for h in hidden)
                notes.append(f"skipped hidden sheet(s) {names} (--sheet NAME reads one)")
            return _choice(sheet, found, first, notes)
        seen.append(f"{sheet.title!r} ({_first_cells(first)})")
        if near is None and first is not None and _near_header(first[1]):
            near = WorkbookChoice(_trim(first[1], 0), str(sheet.title), first[0])
    if near is not None:  # a header with a column wrong: reading it says which (did you mean)
        return near
    if len(sheets) == 1:
        found, first = _header(sheets[0])
        if first is None:
            raise CatalogError(
                f"{path} sheet {sheets[0].title!r} is empty; a catalog needs at least a "
                f"header row, {TEMPLATE_HINT}"
            )
        return WorkbookChoice(_trim(first[1], 0), str(sheets[0].title), first[0])
    hidden = [repr(s.title) for s in sheets if s not in visible]
    also = f"; hidden: {', '.join(hidden)}" if hidden else ""
    raise CatalogError(
        f"{path}: no sheet has the catalog header (a row with {', '.join(REQUIRED_FIELDS)} "
        f"within its first {HEADER_SEARCH_ROWS} rows): {'; '.join(seen)}{also}. Name the "
        f"sheet with --sheet NAME, or {TEMPLATE_HINT}"
    )


def open_workbook(path: Path, sheet: str | None) -> WorkbookChoice:
    """The sheet to read, its header row and header, and what was chosen and why."""
    with _workbook(path) as book:
        if sheet is None:
            return _pick(book, path)
        chosen = _named(book, path, sheet)
        found, first = _header(chosen)
        if first is None:
            raise CatalogError(
                f"{path} sheet {chosen.title!r} is empty; a catalog needs at least a header "
                f"row, {TEMPLATE_HINT}"
            )
        return _choice(chosen, found or first, first, [])


def sheet_batches(path: Path, sheet: str, header_row: int = 1) -> Batches:
    """Runs of consecutive rows below the header, numbered as Excel numbers them (a blank
    row ends a run)."""
    with _workbook(path) as book:
        data = _named(book, path, sheet)
        if _has_formulas(path, data):
            with _workbook(path, formulas=True) as written:
                yield from _batches(_rows(data, _named(written, path, sheet)), header_row)
        else:
            yield from _batches(_rows(data), header_row)


def _batches(rows: Iterator[tuple[int, list[str]]], header_row: int) -> Batches:
    width = 0
    for number, cells in rows:
        if number == header_row:
            width = len(_trim(cells, 0))
            break
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


def write_text_workbook(
    header: Sequence[str], rows: Iterable[Sequence[str]], handle: IO[bytes]
) -> None:
    """One sheet, `sources`, of text cells: what export and import write, read back as is."""
    import openpyxl  # only when a workbook is asked for

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "sources"
    sheet.append(list(header))
    for number, row in enumerate(rows, 2):
        for column, value in enumerate(row, 1):
            if value:
                cell = sheet.cell(row=number, column=column, value=value)
                cell.data_type = "s"  # SQL starting with `=` is text, never a formula
    book.save(handle)
