"""Which rows a retry sends: the rows of an earlier run that failed or were not attempted
(and the invalid ones, fixed since, when asked), read from the catalog as it is now."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..catalog.reader import open_catalog, write_rows_subset
from ..catalog.validation import validate_catalog
from ..errors import NothingToRetry, UsageError
from .folder import RESULTS_FILE, RunRecord
from .report import read_results
from .results import RETRYABLE, Status
from .settings import SubmitSettings


@contextlib.contextmanager
def retry_subset(
    run_dir: Path, record: RunRecord, settings: SubmitSettings, include_invalid: bool
) -> Iterator[tuple[Path, list[int]]]:
    """A temporary catalog of the rows to send again (the new run keeps its own copy), and
    the row number in the run's catalog of each of its rows, in order."""
    results_path = run_dir / RESULTS_FILE
    if not results_path.exists():
        raise UsageError(f"{run_dir} has no {RESULTS_FILE} yet; run `bulk-sources resume` first")
    previous = read_results(results_path)
    retry_keys = {r.key for r in previous if r.status in RETRYABLE and r.key}
    invalid_rows = {r.row for r in previous if r.status is Status.INVALID}
    catalog = open_catalog(record.catalog, settings.encoding)
    validation = validate_catalog(catalog, keep_valid=True)
    chosen = {row.row for row in validation.valid if row.key in retry_keys}
    if include_invalid:
        # Fixed rows have new content, so they are found by their row number.
        chosen |= invalid_rows
    if not chosen:
        left = bool(invalid_rows) and not include_invalid
        hint = " (the invalid rows need --include-invalid once fixed)" if left else ""
        raise NothingToRetry(f"nothing to retry in {run_dir}{hint}", rows_left=left)
    suffix = ".parquet" if catalog.format == "parquet" else ".csv"
    handle, name = tempfile.mkstemp(prefix=f".{run_dir.name}-retry-", suffix=suffix, dir=run_dir)
    os.close(handle)
    subset = Path(name)
    try:
        write_rows_subset(catalog, chosen, subset)
        yield subset, sorted(chosen)
    finally:
        subset.unlink(missing_ok=True)
