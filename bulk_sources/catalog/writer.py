"""Write some of a catalog's rows back out, as valid input: the failed-rows file.

The rows keep the catalog's own columns and values, untouched. Report columns (names
starting with `_`, see `columns.REPORT_PREFIX`) can be appended after them: the reader
ignores those, so the file is submitted as it is, and a person fixing it sees why each row
failed on the row itself. A catalog's own report columns (a failed file submitted again)
are replaced, never doubled.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..fileio import atomic_write
from .batch import BATCH_ROWS
from .cells import NulCell
from .columns import dialect_index, is_report_column
from .importnote import is_import_note
from .parquet import parquet_file
from .reader import CatalogSource


def write_rows_subset(catalog: CatalogSource, row_numbers: Collection[int], out_path: Path) -> None:
    """Write the given rows exactly as they are in the catalog, so the file is valid input."""
    write_rows_with_report(catalog, {n: () for n in row_numbers}, (), out_path)


def write_rows_with_report(
    catalog: CatalogSource,
    report: Mapping[int, Sequence[str]],
    report_columns: Sequence[str],
    out_path: Path,
) -> None:
    """The rows named in `report` (by row number), each followed by its report cells.

    Parquet in gives Parquet out (report columns as strings); anything else gives CSV with
    the catalog's delimiter. Cells are written as given: a caller that puts server text in a
    report column neutralises it for spreadsheets first.
    """
    bad = [c for c in report_columns if not is_report_column(c)]
    if bad:
        raise ValueError(f"report columns must start with '_' so the reader ignores them: {bad}")
    out_path = Path(out_path)
    # An import's note stays with its row: it is what keeps an unedited row invalid.
    # So does its SQL dialect: a retry checks the SQL the way the first run did.
    dialect = dialect_index(catalog.columns)
    keep = [
        i
        for i, c in enumerate(catalog.columns)
        if not is_report_column(c) or is_import_note(c) or i == dialect
    ]
    path = getattr(catalog, "path", None)
    if catalog.format == "parquet" and isinstance(path, Path):
        _write_parquet(path, keep, report, report_columns, out_path)
        return
    delimiter = getattr(catalog, "delimiter", ",")
    width = len(catalog.columns)
    with atomic_write(out_path) as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow([*(catalog.columns[i] for i in keep), *report_columns])
        for number, values in catalog.records():
            extra = report.get(number)
            if extra is None:
                continue
            # The report cells stay under their header whatever the row's width: a short
            # (ragged) row is padded; a row with cells too many keeps them after the report
            # cells, so it is read back as it was (invalid, with its cell count).
            cells = [_text(values[i]) if i < len(values) else "" for i in keep]
            over = [_text(v) for v in values[width:]]
            writer.writerow([*cells, *extra, *over] if report_columns else [*cells, *over])


def _text(value: object) -> object:
    if value.__class__ is NulCell:
        return value.value
    return "" if value is None else value


def _write_parquet(
    path: Path,
    keep: list[int],
    report: Mapping[int, Sequence[str]],
    report_columns: Sequence[str],
    out_path: Path,
) -> None:
    offset = 0
    with parquet_file(path) as source:
        schema = source.schema_arrow
        fields = [schema.field(i) for i in keep]
        fields += [pa.field(c, pa.string()) for c in report_columns]
        with (
            atomic_write(out_path, "wb") as handle,
            pq.ParquetWriter(handle, pa.schema(fields)) as writer,
        ):
            for batch in source.iter_batches(batch_size=BATCH_ROWS):
                take = [i for i in range(batch.num_rows) if offset + i + 1 in report]
                numbers = [offset + i + 1 for i in take]
                offset += batch.num_rows
                if not take:
                    continue
                chosen = batch.take(pa.array(take, type=pa.int64()))
                arrays = [chosen.column(i) for i in keep]
                for j in range(len(report_columns)):
                    arrays.append(pa.array([report[n][j] for n in numbers], type=pa.string()))
                writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=writer.schema))
