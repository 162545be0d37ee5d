"""A pandas DataFrame as a catalog: the same columns, cells and rules as a file.

Row numbers are **positions**: the DataFrame's first row is row 1, whatever its index (a
filtered or re-indexed frame keeps meaningful numbers this way; row N is `df.iloc[N - 1]`).
Missing values (None, NaN, NaT, pd.NA) are empty cells, so "not sent"; numpy scalars are
handed over as the Python values they stand for. Column labels are used as text.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import pandas as pd

from ..errors import CatalogError
from .batch import BATCH_ROWS, Batches
from .cells import NulCell
from .reader import CatalogSource, map_header
from .validation import ValidationReport, validate_catalog

_LABEL = "the DataFrame"


def _plain(value: Any) -> object:
    """A cell as the Python value a Parquet reader would give (None for missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        # numpy scalars and arrays (a list column read back from Parquet)
        return _plain(value.tolist())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class FrameCatalog(CatalogSource):
    format = "frame"

    def __init__(self, frame: pd.DataFrame) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise CatalogError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        columns = [str(c) for c in frame.columns]
        super().__init__(columns, map_header(_LABEL, columns), may_hold_nul=True)
        self.frame = frame
        self.label = _LABEL

    def batches(self) -> Batches:
        frame = self.frame
        for start in range(0, len(frame), BATCH_ROWS):
            chunk = frame.iloc[start : start + BATCH_ROWS]
            rows: list[Sequence[object]] = [
                [_nul(_plain(v)) for v in row] for row in chunk.itertuples(index=False, name=None)
            ]
            yield start + 1, rows


def _nul(value: object) -> object:
    if isinstance(value, str) and "\x00" in value:
        return NulCell(value)
    return value


def open_frame(frame: pd.DataFrame) -> FrameCatalog:
    """A DataFrame as a catalog; CatalogError if its columns can't be used (as for a file)."""
    return FrameCatalog(frame)


def validate_frame(
    frame: pd.DataFrame,
    *,
    keep_valid: bool = False,
    dialect: str | None = None,
    strict: bool = False,
    ignore_columns: Collection[str] = (),
) -> ValidationReport:
    """`validate_catalog` for a DataFrame: the same report (warnings, `column_errors` for a
    header `submit_frame` refuses), rows numbered by position."""
    return validate_catalog(
        open_frame(frame),
        keep_valid=keep_valid,
        dialect=dialect,
        strict=strict,
        ignore_columns=ignore_columns,
    )
