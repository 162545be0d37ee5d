"""One invocation of a run folder: list, plan, send, and leave a complete report.

`RunResources` owns what lives for the invocation (HTTP session, journal, rate-limit
budget with its shared memory); background tickers run in a TaskGroup so their errors surface.
Whatever happens (a refused key, an unreachable API, a signal, a full disk), every catalog
row ends up in the report once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from ..api.apikey import ApiKey
from ..api.client import ConsoleClient, make_session
from ..catalog.reader import Catalog
from ..catalog.validation import ValidationReport
from ..errors import RunStopped
from ..limits.budget import SharedBudget
from ..version import __version__
from .plan.existing import by_name, list_existing
from .plan.planfile import PLAN_FILE, write_plan
from .plan.rows import Plan, all_entries, make_plan
from .plan.settle import ListingSettler, settled_result
from .record.created import with_listed_data, without_data
from .record.finish import finish_run
from .record.folder import JOURNAL_FILE, RunRecord
from .record.journal import Journal, JournalState
from .record.results import RowResult, Status
from .record.summary import Requests, RunReport
from .send.executor import Executor, Task
from .send.history import open_budget, restore_history
from .send.progress import ProgressFactory
from .send.signals import StopRequests
from .settings import SubmitSettings


@contextlib.asynccontextmanager
async def open_client(
    settings: SubmitSettings, api_key: ApiKey, session: aiohttp.ClientSession | None
) -> AsyncIterator[ConsoleClient]:
    """A client over the given session, or over one of our own that is closed after."""
    owned = session is None
    if session is None:
        session = make_session(settings.concurrency, base_url=settings.base_url)
    try:
        yield ConsoleClient(
            session,
            settings.base_url,
            api_key,
            timeout=settings.timeout,
            respect_review_settings=settings.respect_review_settings,
        )
    finally:
        if owned:
            await session.close()


@dataclass
class RunResources:
    client: ConsoleClient
    journal: Journal
    budget: SharedBudget
    jitter_rng: random.Random  # the executor's retry jitter


@contextlib.asynccontextmanager
async def run_resources(
    run_dir: Path,
    settings: SubmitSettings,
    api_key: ApiKey,
    session: aiohttp.ClientSession | None,
) -> AsyncIterator[RunResources]:
    # The run's one random stream (retry jitter), seeded for repeatable tests.
    jitter_rng = random.Random(settings.seed)
    # Closing flushes: on a full or vanished disk that fails, and the writes before it have
    # already stopped the run and said so, so the report still goes out.
    with Journal(run_dir / JOURNAL_FILE) as journal, open_budget(settings, api_key) as budget:
        async with open_client(settings, api_key, session) as client:
            yield RunResources(client, journal, budget, jitter_rng)


@dataclass
class Invocation:
    """What one submit or resume hands to `execute`."""

    run_dir: Path
    record: RunRecord
    catalog: Catalog
    validation: ValidationReport
    state: JournalState
    catalog_sha256: str
    # row key -> action of a request sent without an answer in the run this one retries
    maybe_sent: Mapping[str, str] | None = None
    list_api: bool = True


async def execute(
    inv: Invocation,
    api_key: ApiKey,
    session: aiohttp.ClientSession | None,
    progress: ProgressFactory,
    stops: StopRequests,
) -> RunReport:
    settings = inv.record.settings
    started = time.time()
    stop_reason: str | None = None
    plan = Plan()
    sent: list[RowResult] = []
    requests = Requests()
    restored = 0
    async with run_resources(inv.run_dir, settings, api_key, session) as res:
        res.journal.event(
            "start", resumed=bool(inv.state.records), version=__version__, rows=inv.validation.total
        )
        restored = restore_for(res, inv.state, settings)
        try:
            plan, listed = await _plan(inv, res, stops)
            sent, requests, stop_reason = await _send(inv, res, plan, progress, stops)
            if stop_reason is None:
                plan.kept, plan.decided, sent = await _fill_created(
                    res, settings, stops, listed, [plan.kept, plan.decided, sent]
                )
        except RunStopped as exc:
            # Before any request (the listing failed, or a signal): every open row is
            # not_attempted, and resume picks them up.
            stop_reason = f"{exc}; `bulk-sources resume {inv.run_dir}` continues once fixed"
            plan = make_plan(inv.validation.valid, {}, settings.on_exists, finals=inv.state.finals)
            sent = [
                _not_sent(task.row.row, task.row.name, task.row.key, exc) for task in plan.tasks
            ]
        finally:
            budget = res.budget.report()
            with contextlib.suppress(OSError):  # a full disk: the report below still goes out
                res.journal.event("stop", reason=stop_reason)
    return finish_run(
        inv.run_dir,
        inv.record,
        inv.catalog,
        inv.validation,
        plan.kept + plan.decided + sent,
        befores={**plan.befores, **inv.state.befores},
        requests=requests,
        stop_reason=stop_reason,
        started=started,
        restored=restored,
        key_fingerprint=api_key.fingerprint,
        catalog_sha256=inv.catalog_sha256,
        resumed=bool(inv.state.records),
        budget=budget,
    )


async def _plan(
    inv: Invocation, res: RunResources, stops: StopRequests
) -> tuple[Plan, list[dict[str, Any]]]:
    """The plan, and the listing it was made from."""
    settings = inv.record.settings
    pending = any(row.key not in inv.state.finals for row in inv.validation.valid)
    listed: list[dict[str, Any]] = []
    if pending and inv.list_api:
        listing = asyncio.ensure_future(list_existing(res.client, settings))
        listed = await stops.unless_stopped(listing, "listing existing sources")
    unanswered = {k: str(r.get("action", "create")) for k, r in inv.state.unfinished.items()}
    plan = make_plan(
        inv.validation.valid,
        by_name(listed),
        settings.on_exists,
        finals=inv.state.finals,
        maybe_sent={**(inv.maybe_sent or {}), **unanswered},
    )
    if not (inv.run_dir / PLAN_FILE).exists():
        write_plan(inv.run_dir / PLAN_FILE, all_entries(plan, inv.validation))
    for result in plan.decided:
        res.journal.outcome(result)
    for task in plan.tasks:
        before = plan.befores.get(task.row.key)
        if before is not None and task.row.key not in inv.state.befores:
            res.journal.before(key=task.row.key, name=task.row.name, content=before)
    return plan, listed


async def _fill_created(
    res: RunResources,
    settings: SubmitSettings,
    stops: StopRequests,
    listed: list[dict[str, Any]],
    groups: list[list[RowResult]],
) -> tuple[list[RowResult], ...]:
    """Listing data for rows settled as created without an answer; the journal keeps it,
    so created.jsonl stays complete across resumes. A row settled during the sends was
    created after the plan's listing: then the list is read again (GETs, outside the
    mutation quota). If that fails, the rows stay created, without data."""
    missing = {r.name for group in groups for r in without_data(group)}
    if not missing:
        return tuple(groups)
    if not missing <= set(by_name(listed)):
        try:
            listing = asyncio.ensure_future(list_existing(res.client, settings))
            listed = await stops.unless_stopped(listing, "listing what was created")
        except RunStopped:
            return tuple(groups)
    filled = tuple(with_listed_data(group, listed) for group in groups)
    for before, after in zip(groups, filled, strict=True):
        for old, new in zip(before, after, strict=True):
            if new is not old:
                res.journal.outcome(new)
    return filled


def _lost_answers(res: RunResources, settings: SubmitSettings) -> ListingSettler:
    return ListingSettler(lambda: list_existing(res.client, settings), settings.on_exists)


async def _settle(
    settler: ListingSettler, res: RunResources, befores: dict[str, dict[str, Any]], task: Task
) -> RowResult | None:
    decision = await settler(task.row)
    if decision is None or decision.action == "create":
        return None  # absent (or the listing failed): send again; the wording is the fallback
    if decision.action == "update":
        task.action = "update"
        if decision.before is not None and task.row.key not in befores:
            befores[task.row.key] = decision.before
            res.journal.before(key=task.row.key, name=task.row.name, content=decision.before)
        return None
    return settled_result(task.row, decision, task.attempts)


async def _send(
    inv: Invocation,
    res: RunResources,
    plan: Plan,
    progress_factory: ProgressFactory,
    stops: StopRequests,
) -> tuple[list[RowResult], Requests, str | None]:
    settings = inv.record.settings
    settler = _lost_answers(res, settings)
    try:
        return await send_tasks(
            res,
            settings,
            plan.tasks,
            progress_factory,
            stops,
            lambda task: _settle(settler, res, plan.befores, task),
        )
    finally:
        await settler.close()


def restore_for(res: RunResources, state: JournalState, settings: SubmitSettings) -> int:
    """Seed the rate budget with what earlier processes sent; how many stamps."""
    return restore_history(res.budget, state, settings)


async def send_tasks(
    res: RunResources,
    settings: SubmitSettings,
    tasks: list[Task],
    progress_factory: ProgressFactory,
    stops: StopRequests,
    settle: Callable[[Task], Awaitable[RowResult | None]] | None,
) -> tuple[list[RowResult], Requests, str | None]:
    """Send `tasks` through the executor under the run's limits, signals and journal;
    `settle` is its hook for lost answers (Executor.settle)."""
    progress = progress_factory(len(tasks), res.budget.limiter.estimate_finish)
    executor = Executor(
        client=res.client,
        settings=settings,
        budget=res.budget,
        journal=res.journal,
        progress=progress,
        run_id=f"{int(time.time() * 1000):x}",
        rng=res.jitter_rng,
    )
    progress.watch(executor.waiting_for)
    executor.settle = settle

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
                sent = await executor.run(tasks)
            finally:
                for ticker in tickers:
                    ticker.cancel()
    finally:
        stops.direct_to(None)
        progress.close()
    c = executor.counters
    requests = Requests(
        sent=c.requests_sent,
        rate_limited_429=c.rate_limited,
        retries=c.retries,
        pauses=res.budget.learner.fresh_rejections,
        first_at=c.first_request_at,
        last_at=c.last_request_at,
    )
    return sent, requests, executor.stop_reason


async def _keep_synced(journal: Journal, executor: Executor) -> None:
    try:
        await journal.keep_synced()
    except OSError as exc:
        # The disk filled up or went away: stop taking rows; the report still covers all.
        executor.stop(f"can't write the journal: {exc}")


def _not_sent(row: int, name: str, key: str, why: Exception) -> RowResult:
    return RowResult(row, name, Status.NOT_ATTEMPTED, error=f"not sent: {why}", key=key)
