"""The end of every invocation: write the report files and build the `RunReport`.

summary.json covers the whole run folder across resumes: requests, 429s, retries and the
time spent add up; `earlier_totals` reads what the previous invocations wrote.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..catalog.reader import Catalog
from ..catalog.validation import ValidationReport
from ..version import __version__
from .folder import CREATED_FILE, RESULTS_FILE, SUMMARY_FILE, RunRecord
from .report import failed_path, write_created, write_failed, write_results, write_summary
from .results import RowResult, Status
from .settings import SubmitSettings
from .summary import Requests, RunReport, count_statuses, outcome_of


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


def static_results(validation: ValidationReport) -> list[RowResult]:
    """Rows settled by validation alone: invalid and duplicate."""
    out = []
    for row, errors in validation.invalid.items():
        why = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        out.append(RowResult(row, validation.row_name(row), Status.INVALID, error=why))
    for row, (name, first) in validation.duplicates.items():
        out.append(RowResult(row, name, Status.DUPLICATE, error=f"duplicate of row {first}"))
    return out


def finish_run(
    run_dir: Path,
    record: RunRecord,
    catalog: Catalog,
    validation: ValidationReport,
    outcomes: Sequence[RowResult],
    *,
    requests: Requests,
    stop_reason: str | None,
    started: float,
    restored: int,
    key_fingerprint: str,
    catalog_sha256: str,
    resumed: bool,
    write: bool = True,
) -> RunReport:
    earlier = earlier_totals(run_dir)
    results = sorted([*static_results(validation), *outcomes], key=lambda r: r.row)
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
        results=results,
    )
    if write:
        write_results(run_dir / RESULTS_FILE, results)
        write_created(run_dir / CREATED_FILE, results)
        write_failed(run_dir, catalog, results)
        write_summary(run_dir / SUMMARY_FILE, report.to_json())
    return report


def _windows(settings: SubmitSettings) -> list[str]:
    return [str(w) for w in settings.windows]
