"""A run that was rolled back is closed: resume, retry and a second rollback say so, send nothing.

Resume of an undone run would report its rows `created` while the sources are gone (and
make the rest); a second rollback would send its DELETEs again. Both are refused with the
rollback folder that undid it, or that is still undoing it (`resume` finishes that one).
A rollback that ended leaving rows (rows to fix) does not close the run: another rollback
may still undo what remains.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import RollbackRefused, UsageError
from ..record.folder import RunRecord
from ..record.index import rollbacks_of

_FINISHED = "done"
_OPEN = ("rows to fix",)  # a rollback that left rows: the run can be rolled back again


def undone_by(run_dir: Path, record: RunRecord) -> tuple[Path, str] | None:
    """(the rollback folder, its state) that undid or is undoing `run_dir`, if any."""
    # Beside the run too: a run folder moved with its rollbacks still knows them.
    for where in dict.fromkeys((record.settings.report_dir, run_dir.parent)):
        for entry in rollbacks_of(run_dir, where):
            if entry.state not in _OPEN:
                return entry.path, entry.state
    return None


def refuse_rerun(run_dir: Path, record: RunRecord, doing: str) -> None:
    """`resume` or `retry` (`doing`: "resume", "a retry of it") of an undone run: it would
    report rows `created` whose sources are gone, or make rows beside a run that is undone."""
    found = undone_by(run_dir, record)
    if found is None:
        return
    folder, state = found
    if state == _FINISHED:
        raise UsageError(
            f"{run_dir} was undone by the rollback {folder}; {doing} sends nothing "
            "(to make its sources again, submit its catalog again)"
        )
    raise UsageError(
        f"{run_dir} is being rolled back by {folder} ({state}); {doing} sends nothing: "
        f"`bulk-sources resume {folder}` finishes the rollback"
    )


def refuse_second_rollback(run_dir: Path, record: RunRecord) -> None:
    found = undone_by(run_dir, record)
    if found is None:
        return
    folder, state = found
    if state == _FINISHED:
        raise RollbackRefused(
            f"{run_dir} was already rolled back by {folder}; nothing was sent again"
        )
    raise RollbackRefused(
        f"{run_dir} has a rollback not finished, {folder} ({state}); nothing was sent: "
        f"`bulk-sources resume {folder}` finishes it"
    )
