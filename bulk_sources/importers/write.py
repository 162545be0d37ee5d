"""Write an import as a catalog file: CSV, Parquet or an Excel workbook, by the suffix.

Cells are what `export` writes (text as is, lists and objects as JSON, empty for absent),
so the file reads back exactly as the rows were built. It is written through the one atomic
write (fileio): a regular file is replaced whole or not at all, a symlink is written
through, a FIFO or device is streamed; an input file is never the output.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from ..catalog.excel import write_text_workbook
from ..errors import UsageError
from ..fileio import atomic_write
from .model import CATALOG_COLUMNS

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
EXCEL_SUFFIXES = (".xlsx",)
CSV_SUFFIXES = (".csv",)


def _atomic_write(path: Path, mode: str, write: Callable[[IO[Any]], None]) -> None:
    try:
        # write_catalog's check_output refused this import's own inputs, by identity.
        with atomic_write(path, mode, inputs_checked=True) as handle:
            write(handle)
    except OSError as exc:
        raise UsageError(
            f"can't write {path} ({exc.strerror or exc}); choose a writable --output"
        ) from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output(path: Path, inputs: Sequence[Path]) -> None:
    """Refuse an output the tool can't write faithfully, before anything is read."""
    for source in inputs:
        if _same_file(path, Path(source)):
            raise UsageError(f"--output {path} is one of the inputs; write the catalog elsewhere")
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES + EXCEL_SUFFIXES:
        raise UsageError(
            f"--output {path} has no catalog suffix; end it in .csv, .parquet or .xlsx"
        )
    if path.is_dir():
        raise UsageError(f"--output {path} is a directory; name a file")


def write_catalog(rows: Sequence[Sequence[str]], path: Path, inputs: Sequence[Path] = ()) -> Path:
    path = Path(path)
    check_output(path, inputs)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        _atomic_write(path, "wb", lambda handle: _parquet(rows, handle))
    elif suffix in EXCEL_SUFFIXES:
        _atomic_write(path, "wb", lambda handle: write_text_workbook(CATALOG_COLUMNS, rows, handle))
    else:
        _atomic_write(path, "w", lambda handle: _csv(rows, handle))
    return path


def _csv(rows: Sequence[Sequence[str]], handle: IO[Any]) -> None:
    writer = csv.writer(handle)
    writer.writerow(CATALOG_COLUMNS)
    writer.writerows(rows)


def _parquet(rows: Sequence[Sequence[str]], handle: IO[Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        c: pa.array([r[i] or None for r in rows], type=pa.string())
        for i, c in enumerate(CATALOG_COLUMNS)
    }
    pq.write_table(pa.table(columns), handle)
