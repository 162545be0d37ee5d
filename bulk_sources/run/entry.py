"""The library's entry points for a submission: submit, dry run, resume, retry.

Data flows one way: catalog -> validation -> plan (listing + journal) -> executor -> report.
A fresh submit is a resume of a run folder whose journal is empty, so the two share one
path (`_carry_out`, a `Submission` through the run routine, run/routine.py); a retry is a
fresh submit of the failed rows (`start_run` with a `RetryOf`). Each entry point has a
blocking form for scripts and notebooks and an `_async` form for code already in a loop,
with the same parameters (plus `session`). A rollback's are in run/rollback/start.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from ..api.apikey import ApiKey
from ..catalog.reader import Catalog, open_catalog
from ..limits.state_dir import usable_budgets_dir
from ..version import __version__
from .dryrun import ServerCheck, dry_run_async
from .plan.retry import retry_subset
from .plan.tagging import with_tag
from .preflight import check_key, fixes_of, nothing_sent_yet, own_session
from .record.folder import (
    JOURNAL_FILE,
    RETRY_OF,
    RunLock,
    RunRecord,
    find_snapshot,
    new_run_dir,
    run_label,
    snapshot_catalog,
)
from .record.identity import same_key, with_note
from .record.journal import JournalState, read_journal
from .record.kept import journal_for_resume
from .record.summary import DryRun, RunReport
from .routine import Access, already_settled, run_invocation
from .send.progress import ProgressFactory, no_progress
from .settings import OnExists, SubmitSettings
from .submission import Submission
from .validating import refuse_header, validate_for_run

__all__ = [
    "dry_run",
    "dry_run_async",
    "resume_run",
    "resume_run_async",
    "retry_run",
    "retry_run_async",
    "submit_catalog",
    "submit_catalog_async",
]

EMPTY_CATALOG = "the catalog has a header and no rows: nothing to send"


def submit_catalog(
    path: Path,
    settings: SubmitSettings,
    api_key: ApiKey,
    *,
    progress: ProgressFactory = no_progress,
) -> RunReport:
    """Validate, plan and submit a catalog; every row ends up in the returned report."""
    return asyncio.run(submit_catalog_async(path, settings, api_key, progress=progress))


def dry_run(
    path: Path,
    settings: SubmitSettings,
    api_key: ApiKey,
    *,
    plan_file: Path | None = None,
    server_check: ServerCheck | None = None,
) -> DryRun:
    """Validate and list, and say what a submit would do and how long it takes; send nothing
    but, with `server_check`, the API's own dryRun checks. The plan goes to `plan_file`, or
    to a new dry-run folder under the report directory."""
    return asyncio.run(
        dry_run_async(path, settings, api_key, plan_file=plan_file, server_check=server_check)
    )


def resume_run(
    run_dir: Path,
    api_key: ApiKey,
    *,
    progress: ProgressFactory = no_progress,
    force_other_key: bool = False,
) -> RunReport:
    """Continue a run: final outcomes stay, sends with no answer are reconciled, the rest go.
    Refused with another key than the run's unless `force_other_key` (record/identity.py)."""
    return asyncio.run(
        resume_run_async(run_dir, api_key, progress=progress, force_other_key=force_other_key)
    )


def retry_run(
    run_dir: Path,
    api_key: ApiKey,
    *,
    include_invalid: bool = False,
    settings: SubmitSettings | None = None,
    on_exists: OnExists | None = None,
    progress: ProgressFactory = no_progress,
    force_other_key: bool = False,
) -> RunReport:
    """A new run of the rows of `run_dir` that failed or were not attempted (and invalid
    ones, fixed in the catalog, with `include_invalid`), under `settings` (default: the
    run's own), with `on_exists` instead of the settings' when given."""
    return asyncio.run(
        retry_run_async(
            run_dir,
            api_key,
            include_invalid=include_invalid,
            settings=settings,
            on_exists=on_exists,
            progress=progress,
            force_other_key=force_other_key,
        )
    )


async def submit_catalog_async(
    path: Path,
    settings: SubmitSettings,
    api_key: ApiKey,
    *,
    progress: ProgressFactory = no_progress,
    session: aiohttp.ClientSession | None = None,
) -> RunReport:
    """Validate, plan and submit a catalog; every row ends up in the returned report."""
    return await start_run(path, settings, Access(api_key, session, progress))


@dataclass(frozen=True)
class RetryOf:
    """Where a retry's rows come from: the run it retries and the catalog it was cut from."""

    run_dir: Path
    catalog: Path
    rows: list[int]  # the row number in `catalog` of each row of the retry's subset
    # row key -> action of a request sent without an answer in the retried run
    maybe_sent: Mapping[str, str]


async def start_run(
    path: Path,
    settings: SubmitSettings,
    access: Access,
    *,
    label: str | None = None,
    retry: RetryOf | None = None,
) -> RunReport:
    """A new run folder for the catalog at `path`, and its first invocation. `label` names
    the folder (default: the catalog's file name)."""
    path = Path(path)
    # Recorded absolute, so `resume` from another directory finds the same places.
    settings = settings.with_changes(report_dir=settings.report_dir.resolve())
    retry_of: str | None = None
    if retry is None and label is None:
        retry_of, label = fixes_of(path)
    label = label or path.stem
    async with contextlib.AsyncExitStack() as stack:
        access = await own_session(stack, access, settings)
        # Whole-file problems and a refused key before any run folder exists; then the
        # run's own copy, which is all the run reads from here on (the checks hold for it:
        # it is the same bytes).
        with nothing_sent_yet(None):
            catalog = open_catalog(path, settings.encoding, sheet=settings.sheet)
            refuse_header(catalog, settings)  # before a run folder: nothing to resume
            usable_budgets_dir()  # the budget's state directory: one sentence, no folder
        await check_key(settings, access)
        with nothing_sent_yet(None):
            run_dir = new_run_dir(settings.report_dir, label)
        # One signal guard from the folder's first file to the end of validation, so no
        # instant between is unguarded: before run.json a Ctrl-C removes the half-made
        # folder, from run.json on the folder is a run and stays.
        with nothing_sent_yet(run_dir):
            snapshot, sha256 = snapshot_catalog(path, run_dir)
            own_copy = catalog.relocated(snapshot)
            record = RunRecord(
                catalog=retry.catalog.resolve() if retry else path.resolve(),
                catalog_sha256=sha256,
                settings=settings,
                created_at=time.time(),
                version=__version__,
                retry_of=str(retry.run_dir) if retry else retry_of,
                key_fingerprint=access.api_key.fingerprint,
                label=label,
                source_rows=retry.rows if retry else None,
            )
            record.save(run_dir)
            stack.enter_context(RunLock(run_dir))
            folder = _Folder(run_dir, record, own_copy, sha256, JournalState())
            submission = _submission(folder, retry.maybe_sent if retry else None)
        return await _carry_out(submission, access)
    raise AssertionError("unreachable")  # mypy: an exit stack may swallow exceptions


async def resume_run_async(
    run_dir: Path,
    api_key: ApiKey,
    *,
    progress: ProgressFactory = no_progress,
    session: aiohttp.ClientSession | None = None,
    force_other_key: bool = False,
) -> RunReport:
    run_dir = Path(run_dir)
    record = RunRecord.load(run_dir)
    forced = same_key(run_dir, record, api_key, force_other_key, "resuming it")
    access = Access(api_key, session, progress)
    if record.rollback_of is not None:
        from .rollback.start import resume_rollback_async

        report = await resume_rollback_async(
            run_dir, record, api_key, progress=progress, session=session
        )
    else:
        from .rollback.already import refuse_rerun

        refuse_rerun(run_dir, record, "resume")  # an undone run is closed: nothing to send
        report = await _resume(run_dir, record, access)
    report.note = with_note(report.note, forced)
    return report


async def _resume(run_dir: Path, record: RunRecord, access: Access) -> RunReport:
    async with contextlib.AsyncExitStack() as stack:
        access = await own_session(stack, access, record.settings)
        with RunLock(run_dir):
            with nothing_sent_yet(run_dir):
                state = journal_for_resume(run_dir)  # refused when the report holds more
                source, sha256 = _resume_source(record, run_dir)
                settings = record.settings
                catalog = open_catalog(source, settings.encoding, sheet=settings.sheet)
                submission = _submission(_Folder(run_dir, record, catalog, sha256, state))
            return await _carry_out(submission, access, key_check=True)
    raise AssertionError("unreachable")  # mypy: an exit stack may swallow exceptions


async def retry_run_async(
    run_dir: Path,
    api_key: ApiKey,
    *,
    include_invalid: bool = False,
    settings: SubmitSettings | None = None,
    on_exists: OnExists | None = None,
    progress: ProgressFactory = no_progress,
    session: aiohttp.ClientSession | None = None,
    force_other_key: bool = False,
) -> RunReport:
    run_dir = Path(run_dir)
    record = RunRecord.load(run_dir)
    forced = same_key(run_dir, record, api_key, force_other_key, "a retry of it")
    from .rollback.already import refuse_rerun

    refuse_rerun(run_dir, record, "a retry of it")  # an undone run is closed
    settings = settings or record.settings
    if on_exists is not None:
        settings = settings.with_changes(on_exists=on_exists)
    # The retried run's lock: a retry while it runs (or is resumed) would send rows twice.
    with RunLock(run_dir), retry_subset(run_dir, record, settings, include_invalid) as chosen:
        journal = read_journal(run_dir / JOURNAL_FILE)
        report = await start_run(
            chosen.subset,
            settings.with_changes(encoding=None, sheet=None),  # the subset is UTF-8 CSV or Parquet
            Access(api_key, session, progress),
            label=run_label(record.label, RETRY_OF, run_dir),
            retry=RetryOf(
                run_dir,
                record.catalog,
                chosen.rows,
                {k: r["action"] for k, r in journal.unfinished.items()},
            ),
        )
    # keep the page's note; forced, what going on risked
    report.note = with_note(with_note(chosen.note, report.note), forced)
    return report


def _resume_source(record: RunRecord, run_dir: Path) -> tuple[Path, str]:
    """The catalog as it is now when it still exists (resume follows an edited, reordered or
    extended catalog: rows are matched by content), else the run's own copy. A retry's
    copy is a subset of `record.catalog`, so a retry always goes on from its copy."""
    if record.catalog.is_file() and record.source_rows is None:
        return snapshot_catalog(record.catalog, run_dir)
    copy = find_snapshot(run_dir)
    if copy is None:
        open_catalog(record.catalog)  # raises the usual "does not exist" sentence
        raise AssertionError("unreachable")
    return copy, record.catalog_sha256


@dataclass(frozen=True)
class _Folder:
    """A run folder as one invocation finds it: its record, catalog and journal."""

    run_dir: Path
    record: RunRecord
    catalog: Catalog
    catalog_sha256: str  # of the catalog as read now
    state: JournalState


def _submission(folder: _Folder, maybe_sent: Mapping[str, str] | None = None) -> Submission:
    """The folder's catalog validated into a `Submission` (the caller guards signals)."""
    settings = folder.record.settings
    validation = with_tag(validate_for_run(folder.catalog, settings), settings.tag)
    return Submission(
        folder.run_dir,
        folder.record,
        folder.catalog,
        validation,
        folder.state,
        folder.catalog_sha256,
        maybe_sent,
    )


async def _carry_out(
    submission: Submission, access: Access, *, key_check: bool = False
) -> RunReport:
    """The run routine over a validated `Submission`."""
    if key_check and not already_settled(submission):
        # A resume with a wrong key leaves the folder as it was: exit 2, not a stop.
        await check_key(submission.record.settings, access)
    report = await run_invocation(submission, access)
    if not report.results:
        report.note = "; ".join(n for n in (EMPTY_CATALOG, report.note) if n)
    return report
