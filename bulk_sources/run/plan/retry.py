"""Which rows a retry sends, found by content and name, never by position.

The rows of an earlier run that failed or were not attempted are found in the catalog as it
is now by their content (the row key); a failed row the user has since edited is found by
its name. With `include_invalid`, rows that were invalid are found by name (their content
was not valid, so it has no key). Rows added, removed or moved since the run change
nothing; a catalog that changed since the run is detected by its hash and said.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ...catalog.reader import file_sha256, open_catalog, write_rows_subset
from ...catalog.validation import ValidationReport
from ...errors import NothingToRetry, UsageError
from ..record.folder import RESULTS_FILE, RunRecord, find_snapshot
from ..record.report import carried_rows, read_run_results
from ..record.results import RETRYABLE, RowResult, Status
from ..settings import SubmitSettings
from ..validating import validate_for_run


@dataclass
class RetrySelection:
    subset: Path  # a temporary catalog of the chosen rows
    rows: list[int]  # their numbers as a person knows them (`_row` if the catalog has it)
    note: str  # for the reader: a changed catalog, rows that could not be found


def _catalog_path(run_dir: Path, record: RunRecord) -> Path:
    # A retry run's copy is a subset of its catalog: its row numbers would not match.
    if record.catalog.is_file() or record.source_rows is not None:
        return record.catalog
    return find_snapshot(run_dir) or record.catalog


def choose_rows(
    previous: list[RowResult], validation: ValidationReport, include_invalid: bool
) -> tuple[set[int], list[str]]:
    """The row numbers (today) to send, and the names of earlier problem rows not found
    (a row still invalid is chosen: the retry reports it again)."""
    wanted = [r for r in previous if r.status in RETRYABLE]
    if not include_invalid:
        wanted = [r for r in wanted if r.status is not Status.INVALID]
    keys = {r.key for r in wanted if r.key}
    by_key = {row.key: row.row for row in validation.valid}
    by_name: dict[str, list[int]] = {}
    # Invalid rows too: one still broken goes into the retry's report (and its failed.csv).
    named = [(row.name, row.row) for row in validation.valid] + [
        (validation.row_name(n), n) for n in validation.invalid
    ]
    for name, number in named:
        if name:
            by_name.setdefault(name, []).append(number)
    chosen: set[int] = {by_key[k] for k in keys if k in by_key}
    missing: list[str] = []
    for r in wanted:
        if r.key and r.key in by_key:
            continue
        # Edited since (a failed row fixed) or invalid then: its name finds today's row.
        found = by_name.get(r.name or "", [])
        if found:
            chosen.update(found)
        else:
            missing.append(r.name or f"row {r.row} (no name)")
    return chosen, missing


@contextlib.contextmanager
def retry_subset(
    run_dir: Path, record: RunRecord, settings: SubmitSettings, include_invalid: bool
) -> Iterator[RetrySelection]:
    """A temporary catalog of the rows to send again; the new run keeps its own copy;
    `rows` are the chosen rows' numbers in the run's catalog, in order."""
    results_path = run_dir / RESULTS_FILE
    if not results_path.exists():
        raise UsageError(f"{run_dir} has no {RESULTS_FILE} yet; run `bulk-sources resume` first")
    previous = read_run_results(run_dir)
    path = _catalog_path(run_dir, record)
    catalog = open_catalog(path, settings.encoding, sheet=settings.sheet)
    validation = validate_for_run(catalog, settings)
    chosen, missing = choose_rows(previous, validation, include_invalid)
    invalid_left = not include_invalid and any(r.status is Status.INVALID for r in previous)
    notes = []
    if file_sha256(path) != record.catalog_sha256:
        notes.append(f"{path} changed since the run: rows were matched by content and name")
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        notes.append(f"not found in the catalog now: {shown}")
    if not chosen:
        hint = " (the invalid rows need --include-invalid once fixed)" if invalid_left else ""
        detail = "; ".join(notes)
        raise NothingToRetry(
            f"nothing to retry in {run_dir}{hint}" + (f"; {detail}" if detail else ""),
            rows_left=invalid_left or bool(missing),
        )
    suffix = ".parquet" if catalog.format == "parquet" else ".csv"
    handle, name = tempfile.mkstemp(prefix=f".{run_dir.name}-retry-", suffix=suffix, dir=run_dir)
    os.close(handle)
    subset = Path(name)
    try:
        write_rows_subset(catalog, chosen, subset)
        carried = carried_rows(catalog)  # a failed.csv as the catalog: its numbers go on
        numbers = [carried.get(n, n) for n in sorted(chosen)]
        yield RetrySelection(subset, numbers, "; ".join(notes))
    finally:
        subset.unlink(missing_ok=True)
