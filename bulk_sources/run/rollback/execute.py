"""One invocation of a rollback folder: list, decide each row, send, leave a full report.

The same machinery as a submit (run/execute.py): run resources (journal, limiter, memory),
`send_tasks` under the signals, and a report in which every row appears once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from pathlib import Path

import aiohttp

from ...api.apikey import ApiKey
from ...errors import RunStopped
from ...version import __version__
from ..execute import RunResources, restore_for, run_resources, send_tasks
from ..plan.existing import by_name, list_existing
from ..plan.planfile import PLAN_FILE, write_plan
from ..plan.rows import Plan
from ..plan.settle import ListingSettler, settled_result
from ..record.finish import earlier_totals, short_reason
from ..record.folder import JOURNAL_FILE, RESULTS_FILE, SUMMARY_FILE, RunRecord
from ..record.journal import JournalState, read_journal
from ..record.report import write_results, write_summary
from ..record.results import RETRYABLE, RowResult, Status
from ..record.summary import Requests, RunReport, count_statuses, outcome_of
from ..send.progress import ProgressFactory
from ..send.signals import StopRequests
from ..send.task import Task
from ..settings import SubmitSettings
from .undo import UndoItem, judge, make_undo_plan

NOTHING_TO_RESUME = "nothing to resume: every row already has a final outcome"


async def undo(
    run_dir: Path,
    record: RunRecord,
    items: list[UndoItem],
    api_key: ApiKey,
    session: aiohttp.ClientSession | None,
    progress: ProgressFactory,
    undone: RunRecord,
    note: str = "",
) -> RunReport:
    """`undone`: the record of the run being undone (its tag)."""
    state = read_journal(run_dir / JOURNAL_FILE)
    tag = undone.settings.tag
    settled = all(i.key in state.finals for i in items)
    if state.records and settled and (run_dir / SUMMARY_FILE).exists():
        plan = make_undo_plan(items, {}, finals=state.finals, tag=tag)
        report = _report(run_dir, record, items, plan.kept, Requests(), None, time.time())
        report.note = NOTHING_TO_RESUME
        report.resumed = True
        return report
    started = time.time()
    with StopRequests() as stops:
        plan, sent, requests, stop_reason = await _invoke(
            run_dir, record, items, state, tag, api_key, session, progress, stops
        )
    results = plan.kept + plan.decided + sent
    report = _report(run_dir, record, items, results, requests, stop_reason, started)
    report.resumed = bool(state.records)
    report.note = note
    write_results(run_dir / RESULTS_FILE, report.results)
    write_summary(run_dir / SUMMARY_FILE, report.to_json())
    return report


async def _invoke(
    run_dir: Path,
    record: RunRecord,
    items: list[UndoItem],
    state: JournalState,
    tag: str | None,
    api_key: ApiKey,
    session: aiohttp.ClientSession | None,
    progress: ProgressFactory,
    stops: StopRequests,
) -> tuple[Plan, list[RowResult], Requests, str | None]:
    settings = record.settings
    plan, sent, requests = Plan(), list[RowResult](), Requests()
    stop_reason: str | None = None
    async with run_resources(run_dir, settings, api_key, session) as res:
        res.journal.event(
            "start", resumed=bool(state.records), version=__version__, rows=len(items)
        )
        restore_for(res, state, settings)
        try:
            plan = await _plan(run_dir, res, settings, items, state, tag, stops)
            by_key = {i.key: i for i in items}
            settler = ListingSettler(
                lambda: list_existing(res.client, settings),
                settings.on_exists,
                judge=lambda row, listed: judge(by_key[row.key], listed, sent=True, tag=tag),
            )
            try:
                sent, requests, stop_reason = await send_tasks(
                    res, settings, plan.tasks, progress, stops, lambda t: _settle(settler, t)
                )
            finally:
                await settler.close()
        except RunStopped as exc:
            stop_reason = f"{exc}; `bulk-sources resume {run_dir}` continues once fixed"
            plan = make_undo_plan(items, {}, finals=state.finals, tag=tag)
            why = f"not sent: {short_reason(stop_reason)}"
            opened = [i.valid_row() for i in items if i.key not in state.finals]
            plan.decided = []
            sent = [
                RowResult(r.row, r.name, Status.NOT_ATTEMPTED, error=why, key=r.key) for r in opened
            ]
        finally:
            with contextlib.suppress(OSError):
                res.journal.event("stop", reason=stop_reason)
    return plan, sent, requests, stop_reason


async def _plan(
    run_dir: Path,
    res: RunResources,
    settings: SubmitSettings,
    items: list[UndoItem],
    state: JournalState,
    tag: str | None,
    stops: StopRequests,
) -> Plan:
    listing = asyncio.ensure_future(list_existing(res.client, settings))
    listed = await stops.unless_stopped(listing, "listing existing sources")
    plan = make_undo_plan(
        items, by_name(listed), finals=state.finals, unanswered=state.unfinished, tag=tag
    )
    if not (run_dir / PLAN_FILE).exists():
        write_plan(run_dir / PLAN_FILE, sorted(plan.entries, key=lambda e: e.row))
    for result in plan.decided:
        res.journal.outcome(result)
    return plan


async def _settle(settler: ListingSettler, task: Task) -> RowResult | None:
    """A delete whose answer was lost: absent now means it went through; still there as
    the run left it means send it again."""
    decision = await settler(task.row)
    if decision is None or decision.status is None:
        return None
    return settled_result(task.row, decision, task.attempts)


def _report(
    run_dir: Path,
    record: RunRecord,
    items: list[UndoItem],
    results: list[RowResult],
    requests: Requests,
    stop_reason: str | None,
    started: float,
) -> RunReport:
    earlier = earlier_totals(run_dir)
    if stop_reason:
        short = short_reason(stop_reason)
        results = [
            replace(r, error=r.error.replace(stop_reason, short)) if r.status in RETRYABLE else r
            for r in results
        ]
    results = sorted(results, key=lambda r: r.row)
    counts = count_statuses(results)
    ended = time.time()
    return RunReport(
        run_dir=run_dir,
        catalog=record.catalog,
        catalog_sha256=record.catalog_sha256,
        rows=len(items),
        counts=counts,
        outcome=outcome_of(counts, stop_reason),
        started_at=ended - earlier.seconds - (ended - started),
        ended_at=ended,
        requests=earlier.requests.plus(requests),
        windows=[str(w) for w in record.settings.windows],
        failed_rows_file=run_dir / RESULTS_FILE,
        key_fingerprint=record.key_fingerprint or "",
        version=__version__,
        stopped=stop_reason,
        rollback_of=record.rollback_of,
        results=results,
    )
