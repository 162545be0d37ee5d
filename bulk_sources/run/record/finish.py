"""The end of every invocation: write the report files and build the `RunReport`.

summary.json covers the whole run folder across resumes: requests, 429s, retries and the
time spent add up; `earlier_totals` reads what the previous invocations wrote.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...catalog.reader import Catalog
from ...catalog.validation import ValidationReport
from ...errors import CatalogError
from ...version import __version__
from ..settings import SubmitSettings
from .folder import CREATED_FILE, RESULTS_FILE, SUMMARY_FILE, RunRecord
from .report import (
    carried_rows,
    failed_path,
    write_created,
    write_failed,
    write_results,
    write_summary,
)
from .results import RETRYABLE, RowResult, Status
from .summary import Outcome, Requests, RunReport, count_statuses, outcome_of


@dataclass
class Earlier:
    """What earlier invocations of the same run folder already spent."""

    requests: Requests
    seconds: float = 0.0


def earlier_totals(run_dir: Path) -> Earlier:
    try:
        data = json.loads((run_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
        requests = Requests(
            sent=int(data.get("requests_sent", 0)),
            rate_limited_429=int(data.get("rate_limited_429", 0)),
            retries=int(data.get("retries", 0)),
            pauses=int(data.get("pauses", 0)),
        )
        return Earlier(requests, float(data.get("duration_s", 0.0)))
    except (OSError, ValueError, TypeError, AttributeError):
        return Earlier(Requests())  # no summary yet, or a damaged one: count from here


def static_results(
    validation: ValidationReport, original_row: Callable[[int], int] = int
) -> list[RowResult]:
    """Rows settled by validation alone: invalid and duplicate."""
    out = []
    for row, errors in validation.invalid.items():
        why = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        problems = tuple((e.field, e.reason) for e in errors)
        name = validation.row_name(row)
        out.append(RowResult(row, name, Status.INVALID, error=why, problems=problems))
    for row, (name, first) in validation.duplicates.items():
        why = f"duplicate of row {original_row(first)}"
        out.append(RowResult(row, name, Status.DUPLICATE, error=why))
    return out


def short_reason(stop_reason: str) -> str:
    """The head of a stop reason, for the rows it left: the whole sentence (a refused key's
    250-character answer, say) is said once, in the summary's `stopped`."""
    head = stop_reason.split(" (", 1)[0].split(";", 1)[0].strip()
    return head or stop_reason


def _said_once(results: Sequence[RowResult], stop_reason: str | None) -> list[RowResult]:
    if not stop_reason:
        return list(results)
    short = short_reason(stop_reason)
    if short == stop_reason:
        return list(results)
    return [
        replace(r, error=r.error.replace(stop_reason, short))
        if r.status in RETRYABLE and stop_reason in r.error
        else r
        for r in results
    ]


def finish_run(
    run_dir: Path,
    record: RunRecord,
    catalog: Catalog,
    validation: ValidationReport,
    outcomes: Sequence[RowResult],
    *,
    befores: Mapping[str, dict[str, Any]] | None = None,
    requests: Requests,
    stop_reason: str | None,
    started: float,
    restored: int,
    key_fingerprint: str,
    catalog_sha256: str,
    resumed: bool,
    budget: dict[str, Any] | None = None,
    write: bool = True,
) -> RunReport:
    earlier = earlier_totals(run_dir)
    outcomes = _with_befores(outcomes, befores or {})
    original = _numbering(record, catalog)
    own = sorted(
        _said_once([*static_results(validation, original), *outcomes], stop_reason),
        key=lambda r: r.row,
    )
    # Numbered as the run's own copy of the catalog (failed.csv is cut from it); a retry
    # reports the numbers of the catalog it came from.
    results = [replace(r, row=original(r.row)) for r in own]
    counts = count_statuses(results)
    ended = time.time()
    report = RunReport(
        run_dir=run_dir,
        catalog=record.catalog,
        catalog_sha256=record.catalog_sha256,
        rows=validation.total,
        counts=counts,
        outcome=outcome_of(counts, stop_reason),
        started_at=ended - earlier.seconds - (ended - started),
        ended_at=ended,
        requests=earlier.requests.plus(requests),
        windows=_windows(record.settings),
        failed_rows_file=failed_path(run_dir, catalog),
        key_fingerprint=key_fingerprint,
        version=__version__,
        stopped=stop_reason,
        catalog_changed_since_start=catalog_sha256 != record.catalog_sha256,
        retry_of=record.retry_of,
        resumed=resumed,
        restored_rate_limit_history=restored,
        budget=budget,
        results=results,
    )
    if write:
        _write_report(report, catalog, own, original)
    return report


def _write_report(
    report: RunReport, catalog: Catalog, own: list[RowResult], original: Callable[[int], int]
) -> None:
    """Every file that can be written is; a file that can't (the disk is full, the folder
    was deleted) stops the run with one sentence instead of a traceback, and `resume`
    writes it again later."""
    run_dir, results = report.run_dir, report.results
    lost: list[str] = []
    for name, write in (
        (RESULTS_FILE, lambda: write_results(run_dir / RESULTS_FILE, results)),
        (CREATED_FILE, lambda: write_created(run_dir / CREATED_FILE, results)),
        (report.failed_rows_file.name, lambda: write_failed(run_dir, catalog, own, original)),
    ):
        try:
            write()
        except (OSError, CatalogError) as exc:
            lost.append(f"{name} ({getattr(exc, 'strerror', None) or exc})")
    if lost:
        why = f"can't write the report in {run_dir}: {', '.join(lost)}"
        report.stopped = f"{report.stopped}; {why}" if report.stopped else why
        report.outcome = Outcome.STOPPED
    try:
        write_summary(run_dir / SUMMARY_FILE, report.to_json())
    except OSError as exc:
        why = f"can't write {SUMMARY_FILE} in {run_dir} ({exc.strerror or exc})"
        report.stopped = f"{report.stopped}; {why}" if report.stopped else why
        report.outcome = Outcome.STOPPED


def _numbering(record: RunRecord, catalog: Catalog) -> Callable[[int], int]:
    """Row numbers as a person knows them: a retry's come from run.json, a failed.csv fed
    back in carries them in its `_row` column; else the catalog's own."""
    if record.source_rows is not None:
        return record.original_row
    carried = carried_rows(catalog)
    return lambda row: carried.get(row, row)


def _with_befores(
    outcomes: Sequence[RowResult], befores: Mapping[str, dict[str, Any]]
) -> list[RowResult]:
    """Updated rows carry the content they replaced, so created.jsonl can undo them."""
    return [
        replace(r, before=befores.get(r.key))
        if r.status is Status.UPDATED and r.key and r.before is None
        else r
        for r in outcomes
    ]


def _windows(settings: SubmitSettings) -> list[str]:
    return [str(w) for w in settings.windows]
