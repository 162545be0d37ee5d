"""Parquet catalogs: columns, batches of rows, and text cells holding a NUL marked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import CatalogError
from .batch import BATCH_ROWS, Batches
from .cells import NulCell

PARQUET_MAGIC = b"PAR1"
# Read in larger record batches (arrow's per-batch cost) and cut into BATCH_ROWS.
_PARQUET_BATCH_ROWS = 8192


def parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise CatalogError(
            f"{path} is not a readable Parquet file, it is truncated or corrupt ({exc}); "
            "write it again or export the catalog as CSV"
        ) from None


def parquet_columns(path: Path, head: bytes) -> list[str]:
    if not head.startswith(PARQUET_MAGIC):
        raise CatalogError(
            f"{path} is named like a Parquet file but is not one; rename it to .csv if it is "
            "CSV, or write it again as Parquet"
        )
    with parquet_file(path) as source:
        return list(source.schema_arrow.names)


def parquet_batches(path: Path) -> Batches:
    number = 1
    try:
        with parquet_file(path) as source:
            for batch in source.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
                columns = [_parquet_column(column) for column in batch.columns]
                for start in range(0, batch.num_rows, BATCH_ROWS):
                    end = start + BATCH_ROWS
                    rows: list[Sequence[object]] = list(
                        zip(*(column[start:end] for column in columns), strict=True)
                    )
                    yield number, rows
                    number += len(rows)
    except (pa.ArrowException, OSError) as exc:
        raise CatalogError(
            f"{path} is corrupt after row {number - 1} ({exc}); write the Parquet file again"
        ) from None


def _parquet_column(column: pa.Array) -> list[object]:
    """The column's values, with text holding a NUL character wrapped as NulCell.

    Arrow finds the NUL (C speed, once per 8192 rows); only then are values looked at one
    by one. Text nested in lists is checked too; text inside structs is not.
    """
    values: list[object] = column.to_pylist()
    kind = column.type
    text = column
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        if not (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)):
            return values
        text = pc.list_flatten(column)
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return values
    if not pc.any(pc.match_substring(text, "\x00")).as_py():
        return values
    return [NulCell(v) if _holds_nul(v) else v for v in values]


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    return isinstance(value, list) and any(isinstance(v, str) and "\x00" in v for v in value)
