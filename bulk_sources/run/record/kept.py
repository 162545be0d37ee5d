"""What the run already reported must survive a lost or cut journal (issue 18, case 1).

Resume rebuilds results.csv and created.jsonl from the journal's final outcomes. Without
them, a row the run created is listed again and found `unchanged`, and created.jsonl is
rewritten empty: rollback then leaves the sources behind. So a resume whose journal is
missing, unreadable or holds no outcome for a row the report says the run made is refused
(nothing sent, nothing rewritten), and created.jsonl never loses a line it had.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ...errors import UsageError
from .folder import CREATED_FILE, JOURNAL_FILE, RESULTS_FILE, SUMMARY_FILE
from .journal import JournalState, read_journal
from .results import Status

_MADE = frozenset({Status.CREATED.value, Status.UPDATED.value})


def journal_for_resume(run_dir: Path) -> JournalState:
    """The journal, refused with one sentence when the run's report holds more than it."""
    path = run_dir / JOURNAL_FILE
    report = [
        name for name in (RESULTS_FILE, CREATED_FILE, SUMMARY_FILE) if (run_dir / name).exists()
    ]
    if not report:
        return read_journal(path)  # a run folder that never reported: nothing to lose
    holders = " and ".join(report)
    if not path.is_file():
        raise _refused(path, "is missing", holders, run_dir)
    try:
        state = read_journal(path)
    except OSError as exc:
        raise _refused(path, f"can't be read ({exc.strerror or exc})", holders, run_dir) from None
    # A send with no outcome is the journal's too: resume settles it by listing.
    made = {s.name for s in state.finals.values() if s.status.value in _MADE}
    made |= {s["name"] for s in state.unfinished.values()}
    lost = [n for n in _made_names(run_dir) if n not in made]
    if lost:
        why = f"holds no outcome for {len(lost)} rows the run made ({', '.join(lost[:3])})"
        raise _refused(path, why, holders, run_dir)
    return state


def _refused(path: Path, why: str, holders: str, run_dir: Path) -> UsageError:
    return UsageError(
        f"{path} {why}, but {holders} still hold what the run did: resume would report those "
        f"rows again from scratch, so nothing was sent; put the journal back, or "
        f"`bulk-sources rollback {run_dir}` undoes what created.jsonl records"
    )


def _made_names(run_dir: Path) -> list[str]:
    """Names created.jsonl says the run created or updated; lines that can't be read are
    left to the readers that name them."""
    names: list[str] = []
    for record in _json_objects(run_dir / CREATED_FILE):
        name = record.get("name")
        if record.get("status") in _MADE and isinstance(name, str):
            names.append(name)
    return list(dict.fromkeys(names))


def _json_objects(path: Path) -> Iterable[dict[str, object]]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def kept_lines(path: Path, names: set[str]) -> list[str]:
    """The lines of the created.jsonl at `path` for rows not among `names` (the rows being
    written now): a rewrite keeps them, so the file never loses a row the run made."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            out.append(line)  # kept as it is: the readers name a damaged line
            continue
        if not isinstance(record, dict) or record.get("name") not in names:
            out.append(line)
    return out
