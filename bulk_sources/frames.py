"""Submitting a pandas DataFrame (validating one is `catalog.frame.validate_frame`).

The frame is written as Parquet (its native types kept: lists, booleans, nulls) and goes the
same way as a file: the run folder keeps that copy, so `resume` and `retry` work on a frame
run exactly as on a file run. Row numbers are positions counted from 1 (not the index).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .api.apikey import ApiKey
from .catalog.frame import open_frame
from .catalog.validation import check_header
from .errors import CatalogError
from .run.entry import start_run
from .run.record.summary import RunReport
from .run.routine import Access
from .run.send.progress import ProgressFactory, no_progress
from .run.settings import SubmitSettings


def submit_frame(
    frame: pd.DataFrame,
    settings: SubmitSettings,
    api_key: ApiKey,
    *,
    name: str = "frame",
    progress: ProgressFactory = no_progress,
) -> RunReport:
    """Submit a DataFrame; `name` names the run folder. `report.results_frame()` has one
    row per input row, in order."""
    job = submit_frame_async(frame, settings, api_key, name=name, progress=progress)
    return asyncio.run(job)


async def submit_frame_async(
    frame: pd.DataFrame,
    settings: SubmitSettings,
    api_key: ApiKey,
    *,
    name: str = "frame",
    progress: ProgressFactory = no_progress,
) -> RunReport:
    # The frame's own header is checked first, so a refusal names the DataFrame, not a copy.
    check_header(open_frame(frame), strict=settings.strict, ignore_columns=settings.ignore_columns)
    with _as_parquet(frame, settings.report_dir) as path:
        return await start_run(path, settings, Access(api_key, progress=progress), label=name)


@contextlib.contextmanager
def _as_parquet(frame: pd.DataFrame, where: Path) -> Iterator[Path]:
    if not isinstance(frame, pd.DataFrame):
        raise CatalogError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise CatalogError(
            f"the DataFrame can't be read as a catalog ({exc}); give each column one type "
            "(text, number, boolean or a list of text)"
        ) from None
    where.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".frame-", suffix=".parquet", dir=where)
    os.close(handle)
    path = Path(name)
    try:
        pq.write_table(table, path)
        yield path
    finally:
        path.unlink(missing_ok=True)
