"""The run routine: the steps of every kind of run (submit, resume, retry, rollback), once.

`run_invocation(kind, access)` takes one invocation of a run folder through the same steps
whatever the kind: the "already settled" shortcut, journal start, restore the rate-limit
history, list and plan, send under the signals (lost answers settled by listing), fill in
created rows' data, the stop branch (every open row not_attempted, with the resume
command), journal stop, and the report. What differs between kinds is a `RunKind` (the
strategy, as dlt's stages plug into `Pipeline.run`): its rows, how they are planned, how a
lost answer is judged and what its report adds. `Submission` (run/submission.py) is the
kind for submit, resume and retry; `Rollback` (run/rollback/reversal.py) for a rollback.

The walk from the command line to the POST, one direction:
    cli.submit.run_submit
    -> run.entry.submit_catalog -> submit_catalog_async
    -> run.entry.start_run                          (the run folder and its run.json)
    -> run.entry._carry_out                         (validate: a `Submission` of the folder)
    -> run.routine.run_invocation -> _list_plan_send -> _send_rows
    -> run.send.executor.Executor.run -> _worker -> _process -> _send
    -> api.client.ConsoleClient.create -> request                       (the POST)
`resume` enters at run.entry.resume_run_async -> _carry_out, `retry` at retry_run_async
-> start_run, `rollback` at run.rollback.start.rollback_run_async -> _undo -> run_invocation.
Whatever happens (a refused key, an unreachable API, a signal, a full disk), every row
ends up in the report once.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiohttp

from ..api.apikey import ApiKey
from ..catalog.validation import ValidRow
from ..errors import RunStopped
from ..limits.budget import SharedBudget
from ..models import ListedSource, SourceContent
from ..version import __version__
from .plan.existing import by_name, list_existing
from .plan.planfile import PLAN_FILE, write_plan
from .plan.rows import Plan, PlanEntry
from .plan.settle import Decision, ListingSettler, settled_result
from .record.created import with_listed_data, without_data
from .record.finish import Ending
from .record.folder import RunRecord
from .record.journal import Journal, JournalState
from .record.report import report_intact
from .record.results import RowResult, Status
from .record.summary import Requests, RunReport
from .resources import RunResources, run_resources
from .send.executor import Executor, Task
from .send.history import restore_history
from .send.progress import ProgressFactory, no_progress
from .send.signals import StopRequests

NOTHING_TO_RESUME = "nothing to resume: every row already has a final outcome"


class RunKind(Protocol):
    """What one kind of run brings to the routine; everything else is the routine's."""

    run_dir: Path
    record: RunRecord
    state: JournalState  # what this folder's journal held when the invocation began

    @property
    def total(self) -> int:
        """The rows the journal's start event counts."""
        ...

    def rows(self) -> list[ValidRow]:
        """Every row the run settles, in order (a row with a final outcome is kept)."""
        ...

    async def prepare(self, res: RunResources, stops: StopRequests) -> None:
        """Before the listing, when some row is open: e.g. check (and create) the unit ID
        types the rows need; it may make rows invalid (then `rows()` no longer holds them)."""
        ...

    async def finish(self, res: RunResources) -> None:
        """After every row was sent and settled (not when the run stopped): e.g. a
        rollback deletes the unit ID types its run created that no source maps any more."""
        ...

    def plan(self, listed: list[ListedSource]) -> Plan:
        """The plan given the listing (empty: the offline plan, for kept rows)."""
        ...

    def plan_entries(self, plan: Plan) -> list[PlanEntry]:
        """What plan.csv holds."""
        ...

    def judge(self, row: ValidRow, listed: ListedSource | None) -> Decision:
        """A row whose request's answer was lost, given its name's listing (None: absent)."""
        ...

    def report(
        self,
        outcomes: list[RowResult],
        befores: Mapping[str, SourceContent],
        ending: Ending,
        *,
        write: bool,
    ) -> RunReport:
        """The report of every row, written to the folder when `write`."""
        ...


@dataclass(frozen=True)
class Access:
    """How a run reaches the API and shows its progress, the same for every kind."""

    api_key: ApiKey
    session: aiohttp.ClientSession | None = None  # None: the run opens (and closes) its own
    progress: ProgressFactory = no_progress


@dataclass
class _Sent:
    """What the steps of one invocation leave for the report."""

    plan: Plan = field(default_factory=Plan)
    results: list[RowResult] = field(default_factory=list)  # of the rows sent (or not)

    def outcomes(self) -> list[RowResult]:
        return self.plan.kept + self.plan.decided + self.results


def already_settled(kind: RunKind) -> bool:
    """Every row of the folder has its final outcome and its report: nothing to send."""
    state = kind.state
    open_rows = any(row.key not in state.finals for row in kind.rows())
    return bool(state.records) and not open_rows and report_intact(kind.run_dir)


async def run_invocation(kind: RunKind, access: Access) -> RunReport:
    """One invocation of `kind`'s run folder, from its journal to its report."""
    state = kind.state
    open_rows = [row for row in kind.rows() if row.key not in state.finals]
    ending = Ending(
        started=time.time(),
        key_fingerprint=access.api_key.fingerprint,
        resumed=bool(state.records),
    )
    if already_settled(kind):
        # Nothing happened: the report on disk stays as it was.
        report = kind.report(kind.plan([]).kept, {}, ending, write=False)
        report.note = NOTHING_TO_RESUME
        return report
    with StopRequests() as stops:
        sent = await _list_plan_send(kind, access, stops, open_rows, ending)
    return kind.report(sent.outcomes(), {**sent.plan.befores, **state.befores}, ending, write=True)


async def _list_plan_send(
    kind: RunKind, access: Access, stops: StopRequests, open_rows: list[ValidRow], ending: Ending
) -> _Sent:
    """Inside the run's resources: journal start, history, list, plan, send, fill created
    rows' data, journal stop; what it sent and how it ended go to `ending` and the result."""
    settings = kind.record.settings
    sent = _Sent()
    async with run_resources(kind.run_dir, settings, access.api_key, access.session) as res:
        res.journal.event("start", resumed=ending.resumed, version=__version__, rows=kind.total)
        ending.restored = restore_history(res.budget, kind.state, settings)
        try:
            if open_rows:
                await kind.prepare(res, stops)
                open_rows = [row for row in kind.rows() if row.key not in kind.state.finals]
            listed = await _list_if(bool(open_rows), res, stops, "listing existing sources")
            sent.plan = _plan_rows(kind, res.journal, listed)
            sent.results, ending.requests, ending.stop_reason = await _send_rows(
                kind, res, sent.plan, access.progress, stops
            )
            if ending.stop_reason is None:
                await _fill_created(res, stops, listed, sent)
                # Not cut short by a signal: the rows are settled, and the step is a listing
                # and a few bounded requests; a stop here must not report them unsent.
                await kind.finish(res)
        except RunStopped as exc:
            # Before any request (the listing failed, or a signal): every open row is
            # not_attempted, and resume picks them up.
            ending.stop_reason = f"{exc}; `bulk-sources resume {kind.run_dir}` continues once fixed"
            sent = _Sent(Plan(kept=kind.plan([]).kept), [_not_sent(row, exc) for row in open_rows])
        finally:
            ending.budget = res.budget.report()
            with contextlib.suppress(OSError):  # a full disk: the report still goes out
                res.journal.event("stop", reason=ending.stop_reason)
    return sent


async def _list_if(
    needed: bool, res: RunResources, stops: StopRequests, doing: str
) -> list[ListedSource]:
    """What the project holds (GETs, outside the mutation quota); nothing when not `needed`."""
    if not needed:
        return []
    listing = asyncio.ensure_future(list_existing(res.client, res.settings))
    return await stops.unless_stopped(listing, doing)


def _plan_rows(kind: RunKind, journal: Journal, listed: list[ListedSource]) -> Plan:
    """The plan, written once to plan.csv; what it settles and replaces goes to the journal."""
    plan = kind.plan(listed)
    if not (kind.run_dir / PLAN_FILE).exists():
        write_plan(kind.run_dir / PLAN_FILE, kind.plan_entries(plan))
    for result in plan.decided:
        journal.outcome(result)
    for task in plan.tasks:
        before = plan.befores.get(task.row.key)
        if before is not None and task.row.key not in kind.state.befores:
            journal.before(key=task.row.key, name=task.row.name, content=before)
    return plan


async def _settle(
    settler: ListingSettler, journal: Journal, befores: dict[str, SourceContent], task: Task
) -> RowResult | None:
    """A row whose answer was lost, as the next listing shows it: a final result, or None
    to send it again (absent, or the listing failed: the API's wording is the fallback)."""
    decision = await settler(task.row)
    if decision is None:
        return None
    if decision.status is not None:
        return settled_result(task.row, decision, task.attempts)
    if decision.action == "update" and task.action == "create":
        # Present with other content under --on-exists update: the create becomes an update.
        task.action = "update"
        if decision.before is not None and task.row.key not in befores:
            befores[task.row.key] = decision.before
            journal.before(key=task.row.key, name=task.row.name, content=decision.before)
    return None


async def _fill_created(
    res: RunResources, stops: StopRequests, listed: list[ListedSource], sent: _Sent
) -> None:
    """Listing data for rows settled as created without an answer; the journal keeps it,
    so created.jsonl stays complete across resumes. A row settled during the sends was
    created after the plan's listing: then the list is read again (GETs, outside the
    mutation quota). If that fails, the rows stay created, without data."""
    groups = [sent.plan.kept, sent.plan.decided, sent.results]
    missing = {r.name for group in groups for r in without_data(group)}
    if not missing:
        return
    if not missing <= set(by_name(listed)):
        try:
            listed = await _list_if(True, res, stops, "listing what was created")
        except RunStopped:
            return
    filled = [with_listed_data(group, listed) for group in groups]
    for before, after in zip(groups, filled, strict=True):
        for old, new in zip(before, after, strict=True):
            if new is not old:
                res.journal.outcome(new)
    sent.plan.kept, sent.plan.decided, sent.results = filled


def new_run_id() -> str:
    """A run's prefix for its requests' ids, unique across processes: the budget memory
    tells runs' sends apart by id, and two runs started together (their plans' listings
    answered in the same millisecond) took each other's sends for their own, each blind
    to half the burst it was learning (2.4x)."""
    return f"{int(time.time() * 1000):x}-{secrets.token_hex(4)}"


async def _send_rows(
    kind: RunKind,
    res: RunResources,
    plan: Plan,
    progress_factory: ProgressFactory,
    stops: StopRequests,
) -> tuple[list[RowResult], Requests, str | None]:
    """The plan's tasks through the executor under the run's limits, signals and journal; a
    lost answer is settled by the next listing, judged as `kind` judges (`_settle`)."""
    settings = res.settings
    settler = ListingSettler(
        lambda: list_existing(res.client, settings), settings.on_exists, judge=kind.judge
    )
    progress = progress_factory(len(plan.tasks), res.budget.limiter.estimate_finish)
    executor = Executor(
        client=res.client,
        settings=settings,
        budget=res.budget,
        journal=res.journal,
        progress=progress,
        run_id=new_run_id(),
        rng=res.jitter_rng,
        settle=lambda task: _settle(settler, res.journal, plan.befores, task),
    )
    progress.watch(executor.waiting_for)

    def on_signal(reason: str, now: bool) -> None:
        executor.stop(reason, now=now)
        # The library prints nothing: the progress (the CLI) says what the stop waits for.
        progress.stopping(now=now, waiting=executor.waiting_for(), grace=settings.stop_grace)

    stops.direct_to(on_signal)
    if stops.reason is not None:
        executor.stop(stops.reason)
    try:
        async with asyncio.TaskGroup() as group:
            tickers = [
                group.create_task(progress.keep_fresh()),
                group.create_task(_keep_synced(res.journal, executor)),
            ]
            try:
                sent = await executor.run(plan.tasks)
            finally:
                for ticker in tickers:
                    ticker.cancel()
    finally:
        stops.direct_to(None)
        progress.close()
        await settler.close()
    return sent, _requests(executor, res.budget), executor.stop_reason


def _requests(executor: Executor, budget: SharedBudget) -> Requests:
    c = executor.counters
    return Requests(
        sent=c.requests_sent,
        rate_limited_429=c.rate_limited,
        retries=c.retries,
        pauses=budget.learner.fresh_rejections,
        first_at=c.first_request_at,
        last_at=c.last_request_at,
    )


async def _keep_synced(journal: Journal, executor: Executor) -> None:
    try:
        await journal.keep_synced()
    except OSError as exc:
        # The disk filled up or went away: stop taking rows; the report still covers all.
        executor.stop(f"can't write the journal: {exc}")


def _not_sent(row: ValidRow, why: Exception) -> RowResult:
    return RowResult(row.row, row.name, Status.NOT_ATTEMPTED, error=f"not sent: {why}", key=row.key)
