"""The library API of a submission: `submit_catalog`, `resume_run`, `retry_run`.

Data flows one way: catalog -> validation -> plan (listing + journal) -> executor -> report.
A fresh submit is a resume of a run folder whose journal is empty, so the two share one path.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

from ..api.apikey import ApiKey
from ..api.client import ConsoleClient
from ..catalog.reader import Catalog, file_sha256, open_catalog, write_rows_subset
from ..catalog.validation import ValidationReport, validate_catalog
from ..errors import RunStopped, UsageError
from ..limits.backoff import SharedPause
from ..limits.limiter import MultiWindowLimiter
from ..limits.memory import LimitMemory
from ..version import __version__
from .executor import Executor
from .folder import (
    CREATED_FILE,
    JOURNAL_FILE,
    RESULTS_FILE,
    SUMMARY_FILE,
    RunLock,
    RunRecord,
    new_run_dir,
)
from .journal import Journal, JournalState, read_journal
from .plan import Plan, estimate_seconds, make_plan
from .progress import Progress
from .report import (
    count_statuses,
    read_results,
    write_created,
    write_failed,
    write_results,
    write_summary,
)
from .results import RETRYABLE, RowResult, Status
from .settings import OnExists, SubmitSettings

EXIT_OK, EXIT_ROWS_FAILED, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3
LIMITS_DIR = ".rate-limits"


@dataclass
class RunSummary:
    run_dir: Path | None
    exit_code: int
    counts: dict[str, int]
    results: list[RowResult] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    message: str = ""  # what the CLI prints before the run folder


def submit_catalog(
    path: Path, settings: SubmitSettings, api_key: ApiKey, **kwargs: Any
) -> RunSummary:
    """Validate, plan and submit a catalog; blocking wrapper for scripts and notebooks."""
    return asyncio.run(submit_catalog_async(path, settings, api_key, **kwargs))


def resume_run(run_dir: Path, api_key: ApiKey, **kwargs: Any) -> RunSummary:
    return asyncio.run(resume_run_async(run_dir, api_key, **kwargs))


def retry_run(run_dir: Path, api_key: ApiKey, **kwargs: Any) -> RunSummary:
    return asyncio.run(retry_run_async(run_dir, api_key, **kwargs))


async def submit_catalog_async(
    path: Path,
    settings: SubmitSettings,
    api_key: ApiKey,
    *,
    session: aiohttp.ClientSession | None = None,
    retry_of: str | None = None,
    maybe_sent: Collection[str] = (),
) -> RunSummary:
    catalog = open_catalog(Path(path), settings.encoding)
    # Recorded absolute, so `resume` from another directory finds the same rate-limit memory.
    settings = settings.with_changes(report_dir=settings.report_dir.resolve())
    validation = validate_catalog(catalog, keep_valid=True)
    if settings.dry_run:
        async with _client(settings, api_key, session) as client:
            existing = await _list_names(client, validation, settings)
        plan = make_plan(validation.valid, existing, settings.on_exists)
        return _dry_run_summary(catalog, validation, plan, settings, api_key)
    run_dir = new_run_dir(settings.report_dir, catalog.path)
    record = RunRecord(
        catalog=catalog.path.resolve(),
        catalog_sha256=file_sha256(catalog.path),
        settings=settings,
        created_at=time.time(),
        version=__version__,
        retry_of=retry_of,
        key_fingerprint=api_key.fingerprint,
    )
    record.save(run_dir)
    with RunLock(run_dir):
        return await _execute(
            run_dir, record, catalog, validation, api_key, session, JournalState(), maybe_sent
        )


async def resume_run_async(
    run_dir: Path, api_key: ApiKey, *, session: aiohttp.ClientSession | None = None
) -> RunSummary:
    """Continue a run: final outcomes stay, sends with no answer are reconciled, the rest go."""
    run_dir = Path(run_dir)
    record = RunRecord.load(run_dir)
    with RunLock(run_dir):
        state = read_journal(run_dir / JOURNAL_FILE)
        catalog = open_catalog(record.catalog, record.settings.encoding)
        validation = validate_catalog(catalog, keep_valid=True)
        if (
            all(row.key in state.finals for row in validation.valid)
            and (run_dir / SUMMARY_FILE).exists()
        ):
            summary = await _execute(
                run_dir, record, catalog, validation, api_key, session, state, (), list_api=False
            )
            summary.message = "nothing to resume: every row already has a final outcome"
            return summary
        return await _execute(run_dir, record, catalog, validation, api_key, session, state, ())


async def retry_run_async(
    run_dir: Path,
    api_key: ApiKey,
    *,
    include_invalid: bool = False,
    settings: SubmitSettings | None = None,
    on_exists: OnExists | None = None,
    session: aiohttp.ClientSession | None = None,
) -> RunSummary:
    """A new run of the rows that ended failed or not_attempted (and invalid, if asked),
    with the run's settings unless `settings` or `on_exists` say otherwise."""
    run_dir = Path(run_dir)
    record = RunRecord.load(run_dir)
    results_path = run_dir / RESULTS_FILE
    if not results_path.exists():
        raise UsageError(f"{run_dir} has no {RESULTS_FILE} yet; run `bulk-sources resume` first")
    previous = read_results(results_path)
    retry_keys = {r.key for r in previous if r.status in RETRYABLE and r.key}
    invalid_rows = {r.row for r in previous if r.status is Status.INVALID}
    settings = settings or record.settings
    if on_exists is not None:
        settings = settings.with_changes(on_exists=on_exists)
    catalog = open_catalog(record.catalog, settings.encoding)
    validation = validate_catalog(catalog, keep_valid=True)
    chosen = {row.row for row in validation.valid if row.key in retry_keys}
    if include_invalid:
        # Fixed rows have new content, so they are found by their row number.
        chosen |= invalid_rows
    journal = read_journal(run_dir / JOURNAL_FILE)
    subset_dir = settings.report_dir / ".retry-catalogs"
    subset_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".parquet" if catalog.format == "parquet" else ".csv"
    subset = subset_dir / f"{run_dir.name}-retry-{int(time.time())}{suffix}"
    write_rows_subset(catalog, chosen, subset)
    return await submit_catalog_async(
        subset,
        settings.with_changes(encoding=None),
        api_key,
        session=session,
        retry_of=str(run_dir),
        maybe_sent=set(journal.unfinished),
    )


@contextlib.asynccontextmanager
async def _client(
    settings: SubmitSettings, api_key: ApiKey, session: aiohttp.ClientSession | None
) -> Any:
    owned = session is None
    if session is None:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.concurrency + 2)
        )
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


async def _list_names(
    client: ConsoleClient, validation: ValidationReport, settings: SubmitSettings
) -> set[str]:
    if not validation.valid:
        return set()
    # GET is not said to count against the mutation windows, but be gentle: 5 pages/s.
    pacer = AsyncLimiter(5, 1)
    items = await client.list_all(
        pace=pacer.acquire,
        max_attempts=settings.max_attempts,
        retry_base=settings.retry_base,
        retry_cap=settings.retry_cap,
    )
    return {str(item.get("name")) for item in items if item.get("name") is not None}


def _static_results(validation: ValidationReport) -> list[RowResult]:
    out = []
    for row, errors in validation.invalid.items():
        out.append(
            RowResult(
                row,
                validation.row_name(row),
                Status.INVALID,
                error="; ".join(f"{e.field}: {e.reason}" for e in errors),
            )
        )
    for row, (name, first) in validation.duplicates.items():
        out.append(RowResult(row, name, Status.DUPLICATE, error=f"duplicate of row {first}"))
    return out


def _limit_memory(settings: SubmitSettings, api_key: ApiKey) -> LimitMemory:
    horizon = max(w.period for w in settings.windows) + settings.margin
    path = settings.report_dir / LIMITS_DIR / f"{api_key.fingerprint}.jsonl"
    return LimitMemory(path, horizon)


def _restore_history(
    limiter: MultiWindowLimiter,
    memory: LimitMemory,
    state: JournalState,
    settings: SubmitSettings,
) -> int:
    """Seed the limiter with what earlier processes sent; returns how many stamps."""
    wall_now = time.time()
    stamps = memory.stamps(now=wall_now, timeout=settings.timeout)
    horizon = memory.horizon
    for rid, sent in state.sends.items():
        if not memory.known(rid) and sent > wall_now - horizon:
            # Only the journal knows this send: its answer came at the latest at the timeout.
            stamps.append(min(wall_now, sent + settings.timeout))
    loop_now = asyncio.get_running_loop().time()
    limiter.add_history(loop_now - (wall_now - s) for s in stamps)
    return len(stamps)


async def _execute(
    run_dir: Path,
    record: RunRecord,
    catalog: Catalog,
    validation: ValidationReport,
    api_key: ApiKey,
    session: aiohttp.ClientSession | None,
    state: JournalState,
    maybe_sent: Collection[str],
    *,
    list_api: bool = True,
) -> RunSummary:
    settings = record.settings
    started = time.time()
    static = _static_results(validation)
    journal = Journal(run_dir / JOURNAL_FILE)
    memory = _limit_memory(settings, api_key)
    limiter = MultiWindowLimiter(settings.windows, margin=settings.margin, spacing=settings.spacing)
    pause = SharedPause(
        base=settings.pause_base, cap=settings.pause_cap, rng=random.Random(settings.seed)
    )
    resumed = bool(state.records)
    journal.event("start", resumed=resumed, version=__version__, rows=validation.total)
    restored = _restore_history(limiter, memory, state, settings)
    plan = Plan()
    stop_reason: str | None = None
    executor: Executor | None = None
    sent: list[RowResult] = []
    try:
        async with _client(settings, api_key, session) as client:
            pending = [row for row in validation.valid if row.key not in state.finals]
            existing = (
                await _list_names(client, validation, settings) if pending and list_api else set()
            )
            plan = make_plan(
                validation.valid,
                existing,
                settings.on_exists,
                finals=state.finals,
                maybe_sent=set(state.unfinished) | set(maybe_sent),
            )
            for result in plan.decided:
                journal.outcome(result)
            progress = Progress(
                len(plan.tasks), quiet=settings.quiet, estimate=limiter.estimate_finish
            )
            executor = _make_executor(client, settings, limiter, pause, journal, memory, progress)
            tickers = [
                asyncio.create_task(progress.keep_fresh()),
                asyncio.create_task(journal.keep_synced()),
            ]
            try:
                with _stop_on_signals(executor):
                    sent = await executor.run(plan.tasks)
            finally:
                for ticker in tickers:
                    ticker.cancel()
                progress.close()
            stop_reason = executor.stop_reason
    except RunStopped as exc:
        # The pre-flight listing failed: nothing was sent, every open row is not_attempted.
        stop_reason = str(exc)
        plan = make_plan(validation.valid, set(), settings.on_exists, finals=state.finals)
        sent = [
            RowResult(
                t.row.row,
                t.row.name,
                Status.NOT_ATTEMPTED,
                error=f"not sent: {exc}",
                key=t.row.key,
            )
            for t in plan.tasks
        ]
    finally:
        journal.event("stop", reason=stop_reason)
        journal.close()
        memory.close()
    results = sorted(static + plan.kept + plan.decided + sent, key=lambda r: r.row)
    counts = count_statuses(results)
    exit_code = _exit_code(counts, stop_reason)
    write_results(run_dir / RESULTS_FILE, results)
    write_created(run_dir / CREATED_FILE, results)
    failed_file = write_failed(run_dir, catalog, results)
    counters = executor.counters if executor else None
    ended = time.time()
    catalog_sha256 = file_sha256(catalog.path)
    data: dict[str, Any] = {
        "tool": "bulk-sources",
        "version": __version__,
        "run_dir": str(run_dir),
        "catalog": str(record.catalog),
        "catalog_sha256": catalog_sha256,
        "catalog_changed_since_start": catalog_sha256 != record.catalog_sha256,
        "retry_of": record.retry_of,
        "resumed": resumed,
        "rows": validation.total,
        "counts": counts,
        "exit_code": exit_code,
        "stopped": stop_reason,
        "started_at": _iso(started),
        "ended_at": _iso(ended),
        "duration_s": round(ended - started, 3),
        "requests_sent": counters.requests_sent if counters else 0,
        "rate_limited_429": counters.rate_limited if counters else 0,
        "retries": counters.retries if counters else 0,
        "pauses": pause.total_pauses,
        "first_request_at": _iso(counters.first_request_at) if counters else None,
        "last_request_at": _iso(counters.last_request_at) if counters else None,
        "windows": [str(w) for w in settings.windows],
        "restored_rate_limit_history": restored,
        "failed_rows_file": str(failed_file),
        "key_fingerprint": api_key.fingerprint,
    }
    write_summary(run_dir / SUMMARY_FILE, data)
    message = "the catalog has a header and no rows: nothing to send" if not results else ""
    return RunSummary(run_dir, exit_code, counts, results, data, message)


def _make_executor(
    client: ConsoleClient,
    settings: SubmitSettings,
    limiter: MultiWindowLimiter,
    pause: SharedPause,
    journal: Journal,
    memory: LimitMemory,
    progress: Progress,
) -> Executor:
    return Executor(
        client=client,
        settings=settings,
        limiter=limiter,
        pause=pause,
        journal=journal,
        memory=memory,
        progress=progress,
        run_id=f"{int(time.time() * 1000):x}",
        rng=random.Random(settings.seed),
    )


@contextlib.contextmanager
def _stop_on_signals(executor: Executor) -> Iterator[None]:
    """Ctrl-C / SIGTERM: stop taking rows, let requests in flight answer, then report."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, executor.stop, f"interrupted by {sig.name}")
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (e.g. a notebook): the caller handles cancellation
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _exit_code(counts: dict[str, int], stop_reason: str | None) -> int:
    if stop_reason is not None or counts[Status.NOT_ATTEMPTED.value]:
        return EXIT_STOPPED
    if counts[Status.INVALID.value] or counts[Status.FAILED.value]:
        return EXIT_ROWS_FAILED
    return EXIT_OK


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def _dry_run_summary(
    catalog: Catalog,
    validation: ValidationReport,
    plan: Plan,
    settings: SubmitSettings,
    api_key: ApiKey,
) -> RunSummary:
    memory = _limit_memory(settings, api_key)
    now = time.time()
    history = memory.stamps(now=now, timeout=settings.timeout)
    memory.close()
    requests = len(plan.tasks)
    seconds = estimate_seconds(requests, settings.windows, history, now=now)
    counts = count_statuses(_static_results(validation) + plan.decided)
    data: dict[str, Any] = {
        "dry_run": True,
        "rows": validation.total,
        "would_create": plan.count("create"),
        "would_update": plan.count("update"),
        "would_skip_existing": counts[Status.EXISTS.value],
        "would_fail_existing": counts[Status.FAILED.value],
        "invalid": counts[Status.INVALID.value],
        "duplicates": counts[Status.DUPLICATE.value],
        "requests": requests,
        "estimated_seconds": round(seconds, 1),
        "windows": [str(w) for w in settings.windows],
    }
    lines = [
        f"dry run of {catalog.path}: {validation.total} rows, nothing sent",
        f"  would create:  {data['would_create']}",
        f"  would update:  {data['would_update']}",
        f"  would skip:    {data['would_skip_existing']} (already exist)",
        f"  would fail:    {data['would_fail_existing']} (already exist, --on-exists fail)",
        f"  invalid:       {data['invalid']}",
        f"  duplicates:    {data['duplicates']}",
        f"  {requests} requests under {', '.join(data['windows'])} take at least "
        f"{_duration(seconds)}",
    ]
    exit_code = EXIT_ROWS_FAILED if data["invalid"] else EXIT_OK
    return RunSummary(None, exit_code, counts, [], data, "\n".join(lines))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"
