"""The budget memory: one shared, locked log per budget identity in the per-user state directory.

A project's budget is shared by every run, process and key that spends it, so what each one
sends must be visible to the others as it happens, and survive restarts (a restart inside the
longest window must not burst again). Each identity (a key's fingerprint, or a project name)
has one append-only JSON-lines log:

    {"rid": "...", "sent": WALL}                 a request is about to go
    {"rid": "...", "done": WALL, "ok": BOOL}    its answer (or error) came back
    {"learned": ["50/10s", ...], "at": WALL, "why": "..."}   windows a run confirmed

Every append and every compaction happens under one `fcntl` lock on a sibling `.lock` file.
Compaction writes a uniquely named temporary file and renames it over the log; a writer that
finds the log's inode changed reopens it and reads it again from the start, so no line is
ever written to a file that has been replaced. Readers keep their offset and read only the
new lines under the same lock (sync), which is what lets two concurrent submits see each
other's sends before every admission.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import UsageError
from ..fileio import atomic_write
from .state_dir import ENV_STATE_DIR, kind_of, problem, state_dir, usable_budgets_dir
from .windows import parse_window

__all__ = ["ENV_STATE_DIR", "BudgetMemory", "Delta", "log_path", "state_dir"]

# Compact when the log holds this many times its live lines, checked every COMPACT_MIN lines.
COMPACT_FACTOR = 4
COMPACT_MIN = 2000
# Learned windows older than this many longest windows are forgotten (24 h for 15 min).
LEARNED_TTL_WINDOWS = 96
# Reads are in chunks of this size, and a line longer than MAX_LINE is not ours: dropped, so a
# damaged or hostile log never makes one unbounded read.
READ_CHUNK = 1 << 20
MAX_LINE = 1 << 16


def log_path(folder: Path, identity: str) -> Path:
    """The log of one identity in `folder` (a safe file name)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", identity)[:120] or "default"
    return folder / f"{safe}.jsonl"


@dataclass
class Delta:
    """What other writers added since the last sync."""

    done: list[tuple[str, float, bool | None]] = field(default_factory=list)
    sent: list[tuple[str, float]] = field(default_factory=list)
    learned: list[str] | None = None  # the windows another run learned last


@dataclass
class _Send:
    sent: float
    done: float | None = None
    ok: bool | None = None


class BudgetMemory:
    """The shared log of one budget identity. Use as a context manager (closes the file)."""

    def __init__(
        self,
        identity: str,
        horizon: float,
        *,
        directory: Path | None = None,
        clock: Callable[[], float] = time.time,
        compact_every: int = COMPACT_MIN,
    ) -> None:
        folder = usable_budgets_dir(directory)
        self.identity = identity
        self.path = log_path(folder, identity)
        safe = self.path.stem
        self.horizon = horizon
        self._clock = clock
        for path in (self.path, folder / f"{safe}.lock"):
            with contextlib.suppress(FileNotFoundError):
                if not stat.S_ISREG(mode := os.stat(path).st_mode):
                    raise problem(folder.parent, f"holds {path.name}, {kind_of(mode)}")
        try:
            self._lock_file = (folder / f"{safe}.lock").open("a+b")
        except OSError as exc:
            raise problem(folder.parent, f"cannot be written ({exc.strerror})") from None
        self._file: IO[bytes] | None = None
        self._inode = -1
        self._offset = 0
        self._tail = b""
        self._skipping = False
        self.sends: dict[str, _Send] = {}
        self._mine: set[str] = set()
        self.learned: dict[str, Any] | None = None
        # Learned records are news if another writer's and newer than any read (a compaction
        # reads the log again: a run's own old record, adopted, undid a lowered count).
        self._writer, self._learned_at = secrets.token_hex(4), -math.inf
        self.damaged: str | None = None  # a note when the learned record was unusable
        self._news = Delta()
        self._lines = 0
        self._compact_every = compact_every
        self._check_at = compact_every
        with self.locked():
            self._sync()
        self._news.learned = None  # there at open: learned_windows() serves it

    # -- the lock -------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)

    # -- reading --------------------------------------------------------------------------

    def sync(self) -> Delta:
        """Read what others appended since the last call (takes the lock)."""
        with self.locked():
            self._sync()
            return self.take_news()

    def take_news(self) -> Delta:
        """What others appended, as read by every sync since the last call (also the syncs
        inside appends: no news is ever read and dropped)."""
        news, self._news = self._news, Delta()
        return news

    def _sync(self) -> None:
        """Under the lock: reopen if the log was replaced, then read the new lines."""
        delta = self._news
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = -2
        if self._file is None or inode != self._inode:
            if self._file is not None:
                self._file.close()
            self._file = self.path.open("a+b")
            self._inode = os.fstat(self._file.fileno()).st_ino
            self._offset, self._tail, self._lines = 0, b"", 0
            self._skipping = False
        self._file.seek(self._offset)
        while chunk := self._file.read(READ_CHUNK):
            lines = (self._tail + chunk).split(b"\n")
            self._tail = lines.pop()  # a torn last line waits for its end (or is dropped)
            if self._skipping and lines:
                lines.pop(0)  # the rest of a line too long to be ours
                self._skipping = False
            if len(self._tail) > MAX_LINE:
                self._tail, self._skipping = b"", True
            for line in lines:
                self._lines += 1
                if len(line) <= MAX_LINE:
                    self._take(line, delta)
        self._offset = self._file.tell()

    def _take(self, line: bytes, delta: Delta) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return  # a line torn by a crash mid-write
        if not isinstance(record, dict):
            return
        if "learned" in record:
            self.learned = record
            at = record.get("at")
            if isinstance(at, (int, float)) and at > self._learned_at:
                self._learned_at = at
                if record.get("by") != self._writer:
                    delta.learned = _windows_of(record) or delta.learned
            return
        rid = record.get("rid")
        if not isinstance(rid, str):
            return
        with contextlib.suppress(TypeError, ValueError):
            # Only news goes in the delta: after a compaction by someone else the whole log
            # is read again and must not count twice.
            if "sent" in record:
                sent = float(record["sent"])
                if rid not in self.sends:
                    self.sends[rid] = _Send(sent)
                    if rid not in self._mine:
                        delta.sent.append((rid, sent))
            if "done" in record:
                done = float(record["done"])
                entry = self.sends.setdefault(rid, _Send(done))
                if entry.done is None:
                    entry.done = done
                    ok = record.get("ok")
                    entry.ok = ok if isinstance(ok, bool) else None
                    if rid not in self._mine:
                        delta.done.append((rid, entry.done, entry.ok))

    def stamps(self, *, now: float | None = None, timeout: float | None = None) -> list[float]:
        """Wall-clock completion stamps inside the horizon; a send with no answer yet counts
        as completing now (or at sent + timeout, the latest its answer could come)."""
        now = self._clock() if now is None else now
        out = []
        for entry in self.sends.values():
            if entry.done is not None:
                stamp = entry.done
            elif timeout is not None and entry.sent + timeout < now:
                stamp = entry.sent + timeout
            else:
                stamp = now
            if stamp > now - self.horizon:
                out.append(stamp)
        return sorted(out)

    def in_flight(self, *, now: float, timeout: float, exclude: set[str] | None = None) -> int:
        """Others' sends with no answer yet that may still be on their way."""
        skip = exclude if exclude is not None else self._mine
        return sum(
            1
            for rid, e in self.sends.items()
            if e.done is None and rid not in skip and e.sent + timeout >= now
        )

    def known(self, rid: str) -> bool:
        return rid in self.sends

    def learned_windows(self, *, now: float | None = None) -> list[str]:
        """The last confirmed windows, unless older than the TTL."""
        now = self._clock() if now is None else now
        record = self.learned
        if not record:
            return []
        parsed = _windows_of(record)
        if parsed is None:
            # Damaged (a hand edit, another version): the run starts from its ceilings, and
            # says so without blaming a --rate-limit nobody gave.
            self.damaged = f"the learned windows in {self.path} are damaged and were ignored"
            return []
        if now - record["at"] > self.horizon * LEARNED_TTL_WINDOWS:
            return []
        return parsed

    # -- writing --------------------------------------------------------------------------

    def record_sent(self, rid: str, t: float) -> None:
        with self.locked():
            self.append_locked({"rid": rid, "sent": t})

    def record_done(self, rid: str, t: float, ok: bool | None = None) -> None:
        record: dict[str, Any] = {"rid": rid, "done": t}
        if ok is not None:
            record["ok"] = ok
        with self.locked():
            self.append_locked(record)

    def record_learned(self, windows: list[str], why: str, t: float | None = None) -> None:
        at = self._clock() if t is None else t
        with self.locked():
            self.append_locked({"learned": windows, "at": at, "why": why, "by": self._writer})

    def append_locked(self, record: dict[str, Any]) -> None:
        """Under the lock: catch up with others (see take_news), then append one line."""
        self._sync()
        rid = record.get("rid")
        if isinstance(rid, str):
            self._mine.add(rid)
        assert self._file is not None
        self._file.write(json.dumps(record).encode() + b"\n")
        self._file.flush()
        self._offset = self._file.tell()
        self._lines += 1
        self._take(json.dumps(record).encode(), Delta())
        self._maybe_compact()

    def _maybe_compact(self) -> None:
        if self._lines < self._check_at:
            return
        live = self._live()
        if self._lines >= COMPACT_FACTOR * (2 * len(live) + 1):
            self._compact(live)
        else:
            self.sends = live  # what slid out of the horizon is never needed again
        self._check_at = self._lines + self._compact_every

    def _live(self) -> dict[str, _Send]:
        cutoff = self._clock() - self.horizon
        return {
            rid: e
            for rid, e in self.sends.items()
            if (e.done if e.done is not None else e.sent) > cutoff
        }

    def _compact(self, live: dict[str, _Send]) -> None:
        """Under the lock: rewrite the live lines to a fresh file and rename it over the log."""
        with atomic_write(self.path, "wb") as handle:
            for rid, e in live.items():
                handle.write(json.dumps({"rid": rid, "sent": e.sent}).encode() + b"\n")
                if e.done is not None:
                    done: dict[str, Any] = {"rid": rid, "done": e.done}
                    if e.ok is not None:
                        done["ok"] = e.ok
                    handle.write(json.dumps(done).encode() + b"\n")
            if self.learned is not None:
                handle.write(json.dumps(self.learned).encode() + b"\n")
        self.sends = dict(live)
        self._sync()  # reopen the new file, positioned at its end after reading it

    def compact(self) -> None:
        with self.locked():
            self._sync()
            self._compact(self._live())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._lock_file.close()

    def __enter__(self) -> BudgetMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _windows_of(record: dict[str, Any]) -> list[str] | None:
    """A learned record's windows, normalized; None if it is damaged."""
    at, windows = record.get("at"), record.get("learned")
    try:
        if not isinstance(windows, list) or not isinstance(at, (int, float)):
            raise UsageError("not a list of windows with a time")
        parsed = [str(parse_window(w)) for w in windows if isinstance(w, str)]
        if len(parsed) != len(windows) or not math.isfinite(at):
            raise UsageError("not a list of windows")
    except UsageError:
        return None
    return parsed
