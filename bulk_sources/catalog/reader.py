"""Read a catalog (CSV, Parquet or an Excel workbook) as numbered rows, with checks up front.

Every problem with the file itself is a CatalogError whose message says how to fix it.
`open_catalog` checks what it can cheaply before any row is read (a regular file, size,
format, encoding of the whole CSV, delimiter, header, required columns); problems only found
while streaming (CSV quoting, Parquet pages) are raised from `batches()` as CatalogError too.

Row numbers are what a user finds the row by: for CSV and Parquet the 1-based data row (the
first row after the header is row 1); for a workbook, the row number Excel shows.
"""

from __future__ import annotations

import codecs
import copy
import csv
import hashlib
import sys
from collections.abc import Collection, Generator, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import Literal

from ..errors import CatalogError, UsageError
from ..fileio import guard_input
from . import sniff
from .batch import BATCH_ROWS, Batches
from .cells import NulCell
from .columns import ColumnMap, ColumnProblem, map_columns, unknown_columns_text
from .parquet import PARQUET_MAGIC, parquet_batches, parquet_columns

_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
TEMPLATE_HINT = "run `bulk-sources template` for a header that works"
# The csv module refuses cells over 131,072 characters by default; a 200 KB SQL is real.
# Anything that fits in memory is read (2**31 - 1: the C long limit on every platform).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

Format = Literal["csv", "parquet", "xlsx", "frame"]


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int
    cells: dict[str, object]


class CatalogSource:
    """Rows of a catalog, wherever they come from; `batches()` reads them again each time.

    `may_hold_nul` says whether a cell can contain a NUL character (validation then checks
    each row for one: such a row is invalid, never sent).
    """

    format: Format
    label: str
    # Whether cells may come as NotedText (a workbook's dates and uncalculated formulas).
    may_note_cells = False

    def __init__(self, columns: list[str], column_map: ColumnMap, *, may_hold_nul: bool) -> None:
        self.columns = columns
        self.column_map = column_map
        self.unknown_columns = list(column_map.unknown)
        self.may_hold_nul = may_hold_nul
        # What the reader chose that the person should know (which sheet, which header row).
        self.notes: list[str] = []

    def batches(self) -> Batches:
        """(number of the first row, consecutively numbered rows): the fast way through."""
        raise NotImplementedError

    def rows(self) -> Iterator[RawRow]:
        columns = self.columns
        for number, values in self.records():
            yield RawRow(number, dict(zip(columns, values, strict=False)))

    def records(self) -> Iterator[tuple[int, Sequence[object]]]:
        """(row number, cells in header order); a CSV row may have more or fewer cells."""
        for first, rows in self.batches():
            yield from enumerate(rows, first)


class Catalog(CatalogSource):
    """A catalog file: CSV (any delimiter sniff picks), Parquet or an Excel workbook."""

    def __init__(
        self,
        path: Path,
        format: Format,
        encoding: str,
        columns: list[str],
        column_map: ColumnMap,
        *,
        delimiter: str = ",",
        may_hold_nul: bool = True,
        sheet: str | None = None,
        header_row: int = 1,
    ) -> None:
        super().__init__(columns, column_map, may_hold_nul=may_hold_nul)
        self.path = path
        self.label = str(path)
        self.format = format
        self.encoding = encoding
        self.delimiter = delimiter
        self.sheet = sheet
        self.header_row = header_row  # a workbook's, as Excel numbers it
        self.may_note_cells = format == "xlsx"

    def relocated(self, path: Path) -> Catalog:
        """The same catalog read from a copy at `path` (its checks already done)."""
        moved = copy.copy(self)
        moved.path = path
        return moved

    def batches(self) -> Batches:
        if self.format == "parquet":
            return parquet_batches(self.path)
        if self.format == "xlsx":
            from .excel import sheet_batches  # openpyxl only when a workbook is read

            return sheet_batches(self.path, self.sheet or "", self.header_row)
        batches = _csv_batches(self.path, self.encoding, self.delimiter)
        return _mark_nul(batches) if self.may_hold_nul else batches


def unknown_columns_warning(catalog: CatalogSource) -> str | None:
    return unknown_columns_text(catalog.column_map)


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def open_catalog(path: Path, encoding: str | None = None, *, sheet: str | None = None) -> Catalog:
    path = Path(path)
    size = sniff.check_regular_file(path)
    guard_input(path)
    if size == 0:
        raise CatalogError(
            f"{path} is empty (0 bytes); a catalog needs at least a header line, {TEMPLATE_HINT}"
        )
    try:
        with path.open("rb") as f:
            head = f.read(64 * 1024)
    except OSError as exc:
        raise CatalogError(
            f"{path} can't be read ({exc.strerror}); check its permissions"
        ) from None
    if path.suffix.lower() in EXCEL_SUFFIXES:
        from .excel import open_workbook

        choice = open_workbook(path, sheet)
        where = f"{path} sheet {choice.sheet!r}"
        book = Catalog(
            path,
            "xlsx",
            "utf-8",
            choice.columns,
            map_header(where, choice.columns),
            sheet=choice.sheet,
            header_row=choice.header_row,
        )
        book.notes = list(choice.notes)
        return book
    if sheet is not None:
        raise UsageError(f"--sheet is for .xlsx workbooks; {path} is not one")
    if head.startswith(PARQUET_MAGIC) or path.suffix.lower() in _PARQUET_SUFFIXES:
        columns = parquet_columns(path, head)
        return Catalog(path, "parquet", "utf-8", columns, map_header(path, columns))
    codec = _codec(encoding) if encoding else (sniff.bom_encoding(head) or "utf-8-sig")
    sniff.check_binary(path, head, codec)
    nul = sniff.check_decodes(path, codec)
    delimiter = sniff.pick_delimiter(sniff.first_line(path, codec))
    columns = _csv_header(path, codec, delimiter)
    return Catalog(
        path,
        "csv",
        codec,
        columns,
        map_header(path, columns),
        delimiter=delimiter,
        may_hold_nul=nul,
    )


def map_header(path: Path | str, columns: list[str]) -> ColumnMap:
    try:
        cmap = map_columns(columns)
    except ColumnProblem as exc:
        raise CatalogError(f"{path}: {exc}") from None
    if cmap.missing:
        found = ", ".join(repr(c) for c in columns) or "none"
        hints = [f"`{c}` -> `{f}`" for c, f in cmap.hints.items() if f in cmap.missing]
        meant = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise CatalogError(
            f"{path} lacks the required column(s) {', '.join(cmap.missing)} "
            f"(columns found: {found}{meant}); add or rename them, {TEMPLATE_HINT}"
        )
    return cmap


def _codec(encoding: str | None) -> str:
    try:
        name = codecs.lookup(encoding or "utf-8").name
    except LookupError:
        raise UsageError(
            f"unknown encoding {encoding!r}; pass a Python codec name such as utf-8, cp1252 "
            "or latin-1"
        ) from None
    # A UTF-8 byte order mark is common from spreadsheets and is never part of the header.
    return "utf-8-sig" if name == "utf-8" else name


def _read_csv(
    path: Path, codec: str, delimiter: str, size: int
) -> Generator[list[list[str]], None, None]:
    """The file's lines as lists of cells, `size` lines at a time (header included)."""
    with path.open("r", encoding=codec, newline="") as f:
        reader = csv.reader(f, strict=True, delimiter=delimiter)
        try:
            # islice straight on the reader: a generator in between cost ~0.1 µs a row.
            while chunk := list(islice(reader, size)):
                yield chunk
        except csv.Error as exc:
            name = sniff.delimiter_name(delimiter)
            raise CatalogError(
                f"{path} line {reader.line_num} is not valid CSV ({exc}); quote cells that "
                f"contain {name}, quotes or line breaks, and double quotes inside them "
                '("")'
            ) from None


def _csv_header(path: Path, codec: str, delimiter: str) -> list[str]:
    chunks = _read_csv(path, codec, delimiter, 1)
    try:
        header = next(chunks, [None])[0]
    finally:
        chunks.close()
    if not header or not any(c.strip() for c in header):
        raise CatalogError(f"{path} has no header line (the first line is blank); {TEMPLATE_HINT}")
    # An explicit utf-8 codec still leaves a BOM behind in some tools' output.
    header[0] = header[0].lstrip("\ufeff")
    return header


def _csv_batches(path: Path, codec: str, delimiter: str) -> Batches:
    chunks = _read_csv(path, codec, delimiter, BATCH_ROWS)
    header = next(chunks, [])
    # The header came in a chunk of its own size; the rest of that chunk are rows.
    pending: list[list[str]] = header[1:]
    number = 1
    for chunk in chain([pending], chunks):
        kept: list[Sequence[object]]
        if all(chunk) and all(map(str.strip, map(itemgetter(0), chunk))):
            kept = list(chunk)  # the common case, checked at C speed: every first cell has text
        else:
            # Blank lines and all-empty lines (",,,," from spreadsheets) are not rows.
            kept = [cells for cells in chunk if any(map(str.strip, cells))]
        if kept:
            yield number, kept
            number += len(kept)


def _mark_nul(batches: Batches) -> Batches:
    """Cells holding a NUL character wrapped as NulCell (the file has one somewhere)."""
    for number, rows in batches:
        yield (
            number,
            [
                [NulCell(c) if "\x00" in c else c for c in row]  # type: ignore[operator]
                if any("\x00" in c for c in row)  # type: ignore[operator]
                else row
                for row in rows
            ],
        )


def write_rows_subset(catalog: CatalogSource, row_numbers: Collection[int], out_path: Path) -> None:
    """Write the given rows exactly as they are in the catalog (see `writer`)."""
    from .writer import write_rows_subset as write  # writer imports this module

    write(catalog, row_numbers, out_path)
