"""Read a catalog (CSV or Parquet) as numbered rows, streaming, with whole-file checks up front.

Every problem with the file itself is a CatalogError whose message says how to fix it.
`open_catalog` checks what it can cheaply before any row is read (existence, size, format,
encoding of the whole CSV, header, required columns); problems only found while streaming
(CSV quoting, Parquet pages) are raised from `rows()` as CatalogError too.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Collection, Generator, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import CatalogError, UsageError
from .cells import ColumnMap, ColumnProblem, map_columns

_PARQUET_MAGIC = b"PAR1"
_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_CHUNK = 1 << 20
# Rows per batch handed to the decoder. Small on purpose: a batch's rows, bodies and models
# stay below the garbage collector's first threshold (700 new container objects), so they die
# young instead of being promoted and walked again and again by older-generation collections.
# At 8192 rows per batch, a million-row CSV spent about a sixth of its time in the collector.
_BATCH_ROWS = 256
# Parquet is read in larger record batches (arrow's per-batch cost) and cut into _BATCH_ROWS.
_PARQUET_BATCH_ROWS = 8192
_TEMPLATE_HINT = "run `bulk-sources template` for a header that works"


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int
    cells: dict[str, object]


class Catalog:
    """An opened catalog; `rows()` re-reads the file each time it is called."""

    def __init__(
        self,
        path: Path,
        format: Literal["csv", "parquet"],
        encoding: str,
        columns: list[str],
        column_map: ColumnMap,
    ) -> None:
        self.path = path
        self.format: Literal["csv", "parquet"] = format
        self.encoding = encoding
        self.columns = columns
        self.column_map = column_map
        self.unknown_columns = list(column_map.unknown)

    def rows(self) -> Iterator[RawRow]:
        columns = self.columns
        for number, values in self.records():
            yield RawRow(number, dict(zip(columns, values, strict=False)))

    def records(self) -> Iterator[tuple[int, Sequence[object]]]:
        """(row number, cells in header order); a CSV row may have more or fewer cells."""
        for first, rows in self.batches():
            yield from enumerate(rows, first)

    def batches(self) -> Iterator[tuple[int, list[Sequence[object]]]]:
        """(number of the first row, consecutive rows): the fast way through a big catalog."""
        if self.format == "parquet":
            return _parquet_batches(self.path)
        return _csv_batches(self.path, self.encoding)


def unknown_columns_warning(catalog: Catalog) -> str | None:
    if not catalog.unknown_columns:
        return None
    names = ", ".join(catalog.unknown_columns)
    return (
        f"warning: ignoring columns that are not assignment-source fields: {names} "
        "(rename them to spec field names if they were meant to be sent)"
    )


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def open_catalog(path: Path, encoding: str | None = None) -> Catalog:
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path} does not exist; check the path to the catalog file")
    if path.is_dir():
        raise CatalogError(f"{path} is a folder; give the path to a CSV or Parquet file")
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(64 * 1024)
    except OSError as exc:
        raise CatalogError(
            f"{path} can't be read ({exc.strerror}); check its permissions"
        ) from None
    if size == 0:
        raise CatalogError(
            f"{path} is empty (0 bytes); a catalog needs at least a header line, {_TEMPLATE_HINT}"
        )
    if head.startswith(_PARQUET_MAGIC) or path.suffix.lower() in _PARQUET_SUFFIXES:
        columns = _parquet_columns(path, head)
        return Catalog(path, "parquet", "utf-8", columns, _map(path, columns))
    codec = _codec(encoding)
    _check_text(path, head, codec)
    columns = _csv_header(path, codec)
    return Catalog(path, "csv", codec, columns, _map(path, columns))


def _map(path: Path, columns: list[str]) -> ColumnMap:
    try:
        cmap = map_columns(columns)
    except ColumnProblem as exc:
        raise CatalogError(f"{path}: {exc}") from None
    if cmap.missing:
        found = ", ".join(repr(c) for c in columns) or "none"
        raise CatalogError(
            f"{path} lacks the required column(s) {', '.join(cmap.missing)} "
            f"(columns found: {found}); add or rename them, {_TEMPLATE_HINT}"
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


_BINARY_SIGNATURES = {
    b"PK\x03\x04": "a zip archive or an Excel workbook; export the sheet as CSV (UTF-8)",
    b"\x1f\x8b": "gzip-compressed; decompress it first",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook; export the sheet as CSV (UTF-8)",
}


def _check_text(path: Path, head: bytes, codec: str) -> None:
    for magic, what in _BINARY_SIGNATURES.items():
        if head.startswith(magic):
            raise CatalogError(f"{path} is not a CSV or Parquet file, it looks like {what}")
    wide = codec.startswith(("utf-16", "utf-32"))
    if not wide and b"\x00" in head:
        raise CatalogError(
            f"{path} is not a CSV or Parquet file (it contains binary data); "
            "give a UTF-8 CSV file or a Parquet file"
        )
    # Decode the whole file once, chunk by chunk, so a bad byte on line 900,000 stops the
    # run before anything was sent rather than in the middle of it.
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    line = 1
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                seen = exc.object[: exc.start]
                at = line + seen.count(b"\n")
                bad = exc.object[exc.start : exc.start + 1]
                raise CatalogError(
                    f"{path} line {at} is not valid {codec.removesuffix('-sig')} "
                    f"(byte {bad!r}); save the file as UTF-8 or "
                    "pass its encoding, e.g. --encoding cp1252"
                ) from None
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise CatalogError(
                f"{path} ends in the middle of a character (line {line}); the file is "
                "truncated or needs --encoding"
            ) from None


def _open_csv(path: Path, codec: str) -> Generator[list[str], None, None]:
    for chunk in _read_csv(path, codec, 1):
        yield from chunk


def _read_csv(path: Path, codec: str, size: int) -> Generator[list[list[str]], None, None]:
    """The file's lines as lists of cells, `size` lines at a time (header included)."""
    with path.open("r", encoding=codec, newline="") as f:
        reader = csv.reader(f, strict=True)
        try:
            # islice straight on the reader: a generator in between cost ~0.1 µs a row.
            while chunk := list(islice(reader, size)):
                yield chunk
        except csv.Error as exc:
            raise CatalogError(
                f"{path} line {reader.line_num} is not valid CSV ({exc}); quote cells that "
                'contain commas, quotes or line breaks, and double quotes inside them ("")'
            ) from None


def _csv_header(path: Path, codec: str) -> list[str]:
    rows = _open_csv(path, codec)
    try:
        header = next(rows, None)
    finally:
        rows.close()
    if not header or not any(c.strip() for c in header):
        raise CatalogError(f"{path} has no header line (the first line is blank); {_TEMPLATE_HINT}")
    # An explicit utf-8 codec still leaves a BOM behind in some tools' output.
    header[0] = header[0].lstrip("\ufeff")
    return header


def _csv_batches(path: Path, codec: str) -> Iterator[tuple[int, list[Sequence[object]]]]:
    chunks = _read_csv(path, codec, _BATCH_ROWS)
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


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise CatalogError(
            f"{path} is not a readable Parquet file, it is truncated or corrupt ({exc}); "
            "write it again or export the catalog as CSV"
        ) from None


def _parquet_columns(path: Path, head: bytes) -> list[str]:
    if not head.startswith(_PARQUET_MAGIC):
        raise CatalogError(
            f"{path} is named like a Parquet file but is not one; rename it to .csv if it is "
            "CSV, or write it again as Parquet"
        )
    with _parquet_file(path) as source:
        return list(source.schema_arrow.names)


def _parquet_batches(path: Path) -> Iterator[tuple[int, list[Sequence[object]]]]:
    number = 1
    try:
        with _parquet_file(path) as source:
            for batch in source.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
                columns = [column.to_pylist() for column in batch.columns]
                for start in range(0, batch.num_rows, _BATCH_ROWS):
                    end = start + _BATCH_ROWS
                    rows: list[Sequence[object]] = list(
                        zip(*(column[start:end] for column in columns), strict=True)
                    )
                    yield number, rows
                    number += len(rows)
    except (pa.ArrowException, OSError) as exc:
        raise CatalogError(
            f"{path} is corrupt after row {number - 1} ({exc}); write the Parquet file again"
        ) from None


def write_rows_subset(catalog: Catalog, row_numbers: Collection[int], out_path: Path) -> None:
    """Write the given rows exactly as they are in the catalog, so the file is valid input."""
    wanted = set(row_numbers)
    out_path = Path(out_path)
    if catalog.format == "parquet":
        _write_parquet_subset(catalog.path, wanted, out_path)
        return
    with out_path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(catalog.columns)
        for number, values in catalog.records():
            if number in wanted:
                writer.writerow(values)


def _write_parquet_subset(path: Path, wanted: set[int], out_path: Path) -> None:
    offset = 0
    with _parquet_file(path) as source, pq.ParquetWriter(out_path, source.schema_arrow) as writer:
        for batch in source.iter_batches(batch_size=_BATCH_ROWS):
            take = [i for i in range(batch.num_rows) if offset + i + 1 in wanted]
            offset += batch.num_rows
            if take:
                writer.write_batch(batch.take(pa.array(take, type=pa.int64())))
