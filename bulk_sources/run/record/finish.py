"""The end of every invocation: write the report files and build the `RunReport`.

summary.json covers the whole run folder across resumes: requests, 429s, retries and the
time spent add up; `earlier_totals` reads what the previous invocations wrote.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...api.protocol import target_host
from ...catalog.validation import ValidationReport
from ...errors import CatalogError
from ...models import SourceContent
from ...version import __version__
from .folder import SUMMARY_FILE, RunRecord
from .page import page_or_note, write_run_page
from .report import write_summary
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


@dataclass
class Ending:
    """How one invocation ended, as the run routine hands it to the report."""

    started: float  # wall clock
    key_fingerprint: str
    resumed: bool = False  # the folder's journal already held records
    requests: Requests = field(default_factory=Requests)
    stop_reason: str | None = None
    restored: int = 0  # rate-limit history stamps restored from earlier invocations
    # The rate budget at the end: in force, where it came from, 429s and learned changes.
    budget: dict[str, Any] | None = None


def build_report(
    run_dir: Path,
    record: RunRecord,
    rows: int,
    results: list[RowResult],
    ending: Ending,
    *,
    failed: Path,
) -> RunReport:
    """The report every kind of run returns: `results` (one per row, in row order) with the
    totals of the whole folder across its invocations. `failed`: the file of rows to fix."""
    earlier = earlier_totals(run_dir)
    counts = count_statuses(results)
    ended = time.time()
    return RunReport(
        run_dir=run_dir,
        catalog=record.catalog,
        catalog_sha256=record.catalog_sha256,
        rows=rows,
        counts=counts,
        outcome=outcome_of(counts, ending.stop_reason),
        started_at=ended - earlier.seconds - (ended - ending.started),
        ended_at=ended,
        requests=earlier.requests.plus(ending.requests),
        windows=[str(w) for w in record.settings.windows],
        target=target_host(record.settings.base_url),
        failed_rows_file=failed,
        key_fingerprint=ending.key_fingerprint,
        version=__version__,
        stopped=ending.stop_reason,
        retry_of=record.retry_of,
        rollback_of=record.rollback_of,
        resumed=ending.resumed,
        restored_rate_limit_history=ending.restored,
        budget=ending.budget,
        results=results,
    )


ReportFile = tuple[str, Callable[[], object]]  # a file's name, and what writes it


def write_report(report: RunReport, files: Sequence[ReportFile]) -> None:
    """`files`, then summary.json. Every file that can be written is; a file that can't (the
    disk is full, the folder was deleted) stops the run with one sentence instead of a
    traceback, and `resume` writes it again later."""
    lost: list[str] = []
    for name, write in files:
        try:
            write()
        except (OSError, CatalogError) as exc:
            lost.append(f"{name} ({getattr(exc, 'strerror', None) or exc})")
    if lost:
        _stopped(report, f"can't write the report in {report.run_dir}: {', '.join(lost)}")
    report.page, note = page_or_note(lambda: write_run_page(report))
    report.note = "; ".join(n for n in (report.note, note) if n)
    try:
        write_summary(report.run_dir / SUMMARY_FILE, report.to_json())
    except OSError as exc:
        _stopped(report, f"can't write {SUMMARY_FILE} in {report.run_dir} ({exc.strerror or exc})")


def _stopped(report: RunReport, why: str) -> None:
    report.stopped = f"{report.stopped}; {why}" if report.stopped else why
    report.outcome = Outcome.STOPPED


def said_once(results: Sequence[RowResult], stop_reason: str | None) -> list[RowResult]:
    """Rows the stop left name its head (`short_reason`), in row order."""
    return sorted(_said_once(results, stop_reason), key=lambda r: r.row)


def with_befores(
    outcomes: Sequence[RowResult], befores: Mapping[str, SourceContent]
) -> list[RowResult]:
    """Updated rows carry the content they replaced, so created.jsonl can undo them."""
    return [
        replace(r, before=befores.get(r.key))
        if r.status is Status.UPDATED and r.key and r.before is None
        else r
        for r in outcomes
    ]
