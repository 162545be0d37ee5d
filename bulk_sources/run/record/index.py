"""Every run folder under a report directory, as `bulk-sources runs` shows them.

Each folder is read on its own and can't stop the others: a half-made folder (no run.json
yet), a damaged run.json or summary.json, an unreadable folder or a stray file becomes an
entry with a note, never an exception. Dry runs are found in `dry-runs/` (and, from
before it existed, as `*-dry-run` folders holding only a plan.csv).
"""

from __future__ import annotations

import calendar
import contextlib
import csv
import fcntl
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...errors import UsageError
from .folder import DRY_RUNS_DIR, LOCK_FILE, RUN_FILE, SUMMARY_FILE, RunRecord
from .summary import iso

PLAN_FILE = "plan.csv"  # run/plan/planfile.py's name, which sits above this module
_STAMP = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_STATES = {"ok": "done", "rows_failed": "done, rows to fix", "stopped": "stopped"}


@dataclass
class RunEntry:
    path: Path
    what: str  # submit, retry of X, rollback of Y, dry run
    state: str  # done, done, rows to fix, stopped, running, not finished, undone by Z, ...
    when: str | None = None  # ISO 8601, UTC
    target: str | None = None  # the API host
    catalog: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # statuses (or a plan's actions) > 0
    note: str = ""  # why the folder could not be read in full
    kind: str = "submit"
    of: str | None = None  # the run folder a retry retries or a rollback undoes
    _t: float = 0.0  # for the order: newest first

    def to_json(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.path),
            "kind": self.kind,
            "what": self.what,
            "state": self.state,
            "when": self.when,
            "target": self.target,
            "catalog": self.catalog,
            "counts": self.counts,
            "of": self.of,
            "note": self.note or None,
        }


def list_runs(report_dir: Path) -> list[RunEntry]:
    """Every folder under `report_dir` (and its dry-runs/), newest first; a rollback marks
    the run it undid."""
    entries = [_entry(p) for p in _folders(report_dir)]
    entries += [_dry_run(p) for p in _folders(report_dir / DRY_RUNS_DIR)]
    _mark_undone(entries)
    return sorted(entries, key=lambda e: (e._t, e.path.name), reverse=True)


def rollbacks_of(run_dir: Path, report_dir: Path) -> list[RunEntry]:
    """The rollback folders under `report_dir` that undo `run_dir`, newest first."""
    me = _key(run_dir)
    return [
        e
        for e in list_runs(report_dir)
        if e.kind == "rollback" and e.of is not None and _key(Path(e.of)) == me
    ]


def _folders(where: Path) -> list[Path]:
    try:
        return [p for p in where.iterdir() if p.is_dir() and p.name != DRY_RUNS_DIR]
    except OSError:
        return []  # no report dir yet (or unreadable): nothing to list


def _entry(path: Path) -> RunEntry:
    if not (path / RUN_FILE).is_file():
        if (path / PLAN_FILE).is_file() and path.name.endswith("-dry-run"):
            return _dry_run(path)
        return RunEntry(path, "?", "not a run", _when(path), note=f"no {RUN_FILE}", _t=_t(path))
    try:
        record = RunRecord.load(path)
    except UsageError as exc:
        return RunEntry(path, "?", "unreadable", _when(path), note=str(exc), _t=_t(path))
    of = record.rollback_of or record.retry_of
    what = record.kind if of is None else f"{record.kind} of {Path(of).name}"
    entry = RunEntry(
        path,
        what,
        "not finished",
        iso(record.created_at),
        urlsplit(record.settings.base_url).netloc or None,
        str(record.catalog),
        kind=record.kind,
        of=of,
        _t=record.created_at,
    )
    _read_summary(entry)
    if entry.state == "not finished" and _running(path):
        entry.state = "running"
    return entry


def _read_summary(entry: RunEntry) -> None:
    try:
        data = json.loads((entry.path / SUMMARY_FILE).read_text(encoding="utf-8"))
        counts = data["counts"]
        entry.counts = {str(k): int(v) for k, v in counts.items() if int(v)}
        entry.state = _STATES.get(str(data.get("outcome")), "not finished")
    except FileNotFoundError:
        entry.note = f"no {SUMMARY_FILE} yet: it stopped before its first report, or runs now"
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        entry.note = f"{SUMMARY_FILE} is damaged ({type(exc).__name__}); `resume` writes it again"


def _running(path: Path) -> bool:
    """Its lock is held: a process works on it now."""
    lock = path / LOCK_FILE
    if not lock.is_file():
        return False
    try:
        with lock.open("r", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def _dry_run(path: Path) -> RunEntry:
    entry = RunEntry(path, "dry run", "plan", _when(path), kind="dry run", _t=_t(path))
    label = _STAMP.sub("", path.name).lstrip("-").removesuffix("-dry-run")
    entry.catalog = label or None
    try:
        with (path / PLAN_FILE).open(encoding="utf-8", newline="") as handle:
            actions = Counter(str(r.get("action") or "?") for r in csv.DictReader(handle))
        entry.counts = dict(actions)
    except (OSError, ValueError, csv.Error) as exc:
        entry.note = f"no readable {PLAN_FILE} ({type(exc).__name__})"
    return entry


def _mark_undone(entries: list[RunEntry]) -> None:
    by_path = {_key(e.path): e for e in entries}
    for rollback in entries:
        if rollback.kind != "rollback" or rollback.of is None:
            continue
        undone = by_path.get(_key(Path(rollback.of)))
        if undone is None:
            continue
        if rollback.state == "done":
            undone.state = f"undone by {rollback.path.name}"
        else:
            undone.state += f"; rollback {rollback.path.name} {rollback.state}"


def _key(path: Path) -> str:
    with contextlib.suppress(OSError):
        return str(path.resolve())
    return str(path)


def _when(path: Path) -> str | None:
    """From the folder's name (its UTC time), else its modification time."""
    match = _STAMP.match(path.name)
    if match:
        y, mo, d, h, mi, s = match.groups()
        return f"{y}-{mo}-{d}T{h}:{mi}:{s}.000Z"
    return iso(_t(path)) if _t(path) else None


def _t(path: Path) -> float:
    match = _STAMP.match(path.name)
    if match:
        y, mo, d, h, mi, s = (int(g) for g in match.groups())
        return float(calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)))
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
