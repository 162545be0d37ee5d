"""Starting, resuming and planning a rollback (its library entry points), and its refusals.

A rollback undoes a run: it deletes what the run created and restores what it updated,
only where the server still holds exactly what the run wrote (undo.py decides each row).

A rollback is a run of its own: its folder (`<catalog>-rollback-of-<run's time>`), journal,
results.csv and summary.json, the same limiter and rate-limit memory, and `resume` goes
on from its folder (run.json's `rollback_of`). Refused, with a sentence: a rollback of a
rollback, of a run still running (its lock is held), or with another key than the run's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import aiohttp

from ...api.apikey import ApiKey
from ...api.protocol import target_host
from ...catalog.reader import file_sha256
from ...errors import RollbackRefused, RunLockedError, UsageError
from ...limits.windows import Window
from ...models import ListedSource
from ...version import __version__
from ..plan.existing import by_name, list_existing
from ..plan.planfile import PLAN_FILE, write_plan
from ..plan.projectunits import created_by
from ..plan.rows import Plan, PlanEntry, estimate_seconds
from ..record.folder import (
    CREATED_FILE,
    JOURNAL_FILE,
    LOCK_FILE,
    ROLLBACK_OF,
    RunLock,
    RunRecord,
    new_dry_run_dir,
    new_run_dir,
    run_label,
)
from ..record.identity import forced_note, other_key, with_note
from ..record.journal import read_journal
from ..record.page import add_dry_run_page
from ..record.report import read_run_results
from ..record.results import Status
from ..record.summary import DryRun, RunReport
from ..resources import open_client
from ..routine import Access, run_invocation
from ..send.progress import ProgressFactory, no_progress
from ..send.signals import StopRequests
from .already import refuse_second_rollback
from .reversal import Rollback
from .undo import UNDO_FILE, UndoItem, make_undo_plan, read_created, read_items, write_items

__all__ = ["plan_rollback", "resume_rollback_async", "rollback_run", "rollback_run_async"]

EXAMPLES_PER_ACTION = 5


def rollback_run(
    run_dir: Path,
    api_key: ApiKey,
    *,
    force_other_key: bool = False,
    progress: ProgressFactory = no_progress,
) -> RunReport:
    """Undo `run_dir` (a submit, resume or retry folder): every row ends up in the report."""
    return asyncio.run(
        rollback_run_async(run_dir, api_key, force_other_key=force_other_key, progress=progress)
    )


def plan_rollback(
    run_dir: Path, api_key: ApiKey, *, force_other_key: bool = False, plan_file: Path | None = None
) -> DryRun:
    """What a rollback would do (plan.csv), sending nothing."""
    return asyncio.run(_plan_rollback(Path(run_dir), api_key, force_other_key, plan_file))


async def rollback_run_async(
    run_dir: Path,
    api_key: ApiKey,
    *,
    force_other_key: bool = False,
    progress: ProgressFactory = no_progress,
    session: aiohttp.ClientSession | None = None,
) -> RunReport:
    original, record = _undoable(Path(run_dir), api_key, force_other_key)
    async with open_client(record.settings, api_key, session) as client:
        await client.check_key()  # a wrong key: exit 2 before the rollback's folder exists
    forced = other_key(original, record, api_key.fingerprint, "a rollback")
    with _held(original):
        created = original / CREATED_FILE
        items = read_created(created)
        settings = record.settings
        label = run_label(record.label, ROLLBACK_OF, original)
        folder = new_run_dir(settings.report_dir, label)
        write_items(folder / UNDO_FILE, items)
        mine = RunRecord(
            catalog=created,
            catalog_sha256=file_sha256(created),
            settings=settings,
            created_at=time.time(),
            version=__version__,
            key_fingerprint=api_key.fingerprint,
            label=label,
            rollback_of=str(original),
        )
        mine.save(folder)
        with RunLock(folder):
            report = await _undo(folder, mine, items, record, Access(api_key, session, progress))
    report.note = with_note(report.note, forced and forced_note(original))
    return report


async def resume_rollback_async(
    run_dir: Path,
    record: RunRecord,
    api_key: ApiKey,
    *,
    progress: ProgressFactory = no_progress,
    session: aiohttp.ClientSession | None = None,
) -> RunReport:
    """`resume` of a rollback folder: final outcomes stay, lost answers are settled by
    listing, the rest is sent."""
    assert record.rollback_of is not None
    original = Path(record.rollback_of)
    with _held(original), RunLock(run_dir):
        items = read_items(run_dir / UNDO_FILE)
        of = RunRecord.load(original) if (original / "run.json").exists() else record
        return await _undo(run_dir, record, items, of, Access(api_key, session, progress))


async def _undo(
    run_dir: Path, record: RunRecord, items: list[UndoItem], undone: RunRecord, access: Access
) -> RunReport:
    """`undone`: the record of the run being undone (its tag)."""
    state = read_journal(run_dir / JOURNAL_FILE)
    original = Path(record.rollback_of or run_dir)
    kind = Rollback(
        run_dir,
        record,
        items,
        state,
        tag=undone.settings.tag,
        unit_types=created_by(original / JOURNAL_FILE),
        unsettled=note(original),
    )
    return await run_invocation(kind, access)


def _undoable(original: Path, api_key: ApiKey, force_other_key: bool) -> tuple[Path, RunRecord]:
    """The run folder (absolute) and its record, once none of the refusals applies."""
    original = original.resolve()
    record = RunRecord.load(original)
    if record.rollback_of is not None:
        raise RollbackRefused(
            f"{original} is a rollback (of {record.rollback_of}) and is not rolled back; "
            "to redo that run, submit its catalog again"
        )
    refused = other_key(original, record, api_key.fingerprint, "a rollback")
    if refused and not force_other_key:
        raise RollbackRefused(refused)
    refuse_second_rollback(original, record)
    if not (original / CREATED_FILE).is_file():
        raise UsageError(
            f"{original} has no {CREATED_FILE}: nothing it did is recorded yet; "
            f"`bulk-sources resume {original}` first"
        )
    return original, record


@contextlib.contextmanager
def _held(original: Path) -> Iterator[None]:
    """The undone run's lock, held while the rollback works: it must not run meanwhile."""
    try:
        with RunLock(original):
            yield
    except RunLockedError:
        holder = _holder(original)
        raise RollbackRefused(
            f"{original} is still running ({holder} holds it); wait for it to finish or stop "
            "it, then roll it back"
        ) from None


def _holder(original: Path) -> str:
    try:
        return (original / LOCK_FILE).read_text(encoding="utf-8").strip() or "another process"
    except OSError:
        return "another process"


def note(original: Path) -> str:
    """A remark on rows of the undone run that never settled: what they did is not undone."""
    try:
        results = read_run_results(original)
    except UsageError:
        return ""
    unknown = sum(r.status is Status.UNKNOWN for r in results)
    if not unknown:
        return ""
    return (
        f"{unknown} rows of {original} never settled (unknown) and are not undone; "
        f"`bulk-sources resume {original}`, then roll back again"
    )


async def _plan_rollback(
    original: Path, api_key: ApiKey, force_other_key: bool, plan_file: Path | None
) -> DryRun:
    original, record = _undoable(original, api_key, force_other_key)
    with _held(original):
        items = read_created(original / CREATED_FILE)
    settings = record.settings
    listed: list[ListedSource] = []
    if items:
        async with open_client(settings, api_key, None) as client:
            await client.check_key()  # a wrong key: exit 2, as for every command
            with StopRequests() as stops:
                job = asyncio.ensure_future(list_existing(client, settings))
                listed = await stops.unless_stopped(job, "listing")
    plan = make_undo_plan(items, by_name(listed), finals={}, tag=settings.tag)
    made_folder = plan_file is None
    if plan_file is None:
        label = run_label(record.label, ROLLBACK_OF, original) + "-dry-run"
        folder = new_dry_run_dir(settings.report_dir, label)
        plan_file = folder / PLAN_FILE
    write_plan(plan_file, sorted(plan.entries, key=lambda e: e.row))
    dry = _dry_run(original / CREATED_FILE, plan, settings.windows, plan_file)
    dry.target = target_host(settings.base_url)
    types = created_by(original / JOURNAL_FILE)
    if types:
        dry.notes.append(
            f"unit ID types the run created, deleted after the rows where no source still "
            f"maps them (up to {len(types)} more requests): {', '.join(types)}"
        )
    if made_folder:
        add_dry_run_page(dry, settings.base_url)
    return dry


def _dry_run(created: Path, plan: Plan, windows: Sequence[Window], plan_file: Path) -> DryRun:
    """What the rollback planned from `created` (created.jsonl), as a dry run reports it."""
    entries, requests = plan.entries, len(plan.tasks)
    examples: dict[str, list[PlanEntry]] = {}
    for entry in sorted(entries, key=lambda e: e.row):
        shown = examples.setdefault(entry.action, [])
        if len(shown) < EXAMPLES_PER_ACTION:
            shown.append(entry)
    return DryRun(
        catalog=created,
        rows=len(entries),
        actions=dict(Counter(e.action for e in entries)),
        requests=requests,
        estimated_seconds=estimate_seconds(requests, windows),
        windows=[str(w) for w in windows],
        examples=examples,
        plan_file=plan_file,
    )
