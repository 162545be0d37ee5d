"""The run journal: append-only JSON lines, one as a request is about to go, one per 429
answer, one per outcome.

Each record is flushed to the OS as it is written (a `kill -9` can't lose it) and fsync'd at
least once a second (a power cut loses at most the last second). A torn last line, the
mark of a crash mid-write, is skipped on read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ...models import SourceContent
from .results import RowResult, Status
from .runfiles import damaged, whole_number
from .shapes import BeforeRecord, FinalRecord, RateLimitedRecord, SendRecord
from .summary import iso


class Journal:
    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        fsync_interval: float = 1.0,
    ) -> None:
        self.path = path
        self._clock = clock
        self._fsync_interval = fsync_interval
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._last_sync = clock()
        self._dirty = False

    def _write(
        self,
        record: SendRecord | RateLimitedRecord | BeforeRecord | FinalRecord | dict[str, Any],
    ) -> None:
        line = _stamped(record)
        self._file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()
        self._dirty = True
        if self._clock() - self._last_sync >= self._fsync_interval:
            self.sync()

    def sync(self) -> None:
        if self._dirty and not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._dirty = False
        self._last_sync = self._clock()

    async def keep_synced(self) -> None:
        """fsync at least once a second even when no record comes to trigger it."""
        while True:
            await asyncio.sleep(self._fsync_interval)
            self.sync()

    def event(self, kind: str, **fields: Any) -> None:
        self._write({"event": kind, "t": self._clock(), **fields})

    def sending(
        self, *, rid: str, key: str, row: int, name: str, action: str, attempt: int
    ) -> None:
        record: SendRecord = {
            "event": "send",
            "t": self._clock(),
            "rid": rid,
            "key": key,
            "row": row,
            "name": name,
            "action": action,
            "attempt": attempt,
        }
        self._write(record)

    def rate_limited(self, *, rid: str, key: str, row: int, wait: float) -> None:
        """A 429 answer to request `rid`, and how long the budget it taught holds the run."""
        record: RateLimitedRecord = {
            "event": "429",
            "t": self._clock(),
            "rid": rid,
            "key": key,
            "row": row,
            "wait": round(max(0.0, wait), 3),
        }
        self._write(record)

    def before(self, *, key: str, name: str, content: SourceContent) -> None:
        """The source's content before this run updates it: what a rollback restores."""
        record: BeforeRecord = {
            "event": "before",
            "t": self._clock(),
            "key": key,
            "name": name,
            "content": content,
        }
        self._write(record)

    def outcome(self, result: RowResult) -> None:
        record: FinalRecord = {
            "event": "final",
            "t": self._clock(),
            "key": result.key,
            "row": result.row,
            "name": result.name,
            "status": result.status.value,
            "http_status": result.http_status,
            "message": result.error,
            "attempts": result.attempts,
            "data": result.data,
        }
        if result.problems:
            record["problems"] = [{"field": f, "error": e} for f, e in result.problems]
        self._write(record)

    def close(self) -> None:
        if not self._file.closed:
            try:
                self.sync()
            finally:
                self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        # A failed final fsync (full disk) must not replace the run's own outcome.
        with contextlib.suppress(OSError):
            self.close()


def _stamped(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with `at` beside `t`: `t` (seconds since the epoch) is what the tool reads
    back, `at` the same instant for a person reading the file (UTC, ISO 8601)."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        out[name] = value
        if name == "t" and isinstance(value, int | float):
            out["at"] = iso(value)
    return out


@dataclass
class JournalState:
    """What a journal says: final outcomes and sends with no outcome, both by row key."""

    finals: dict[str, RowResult] = field(default_factory=dict)
    unfinished: dict[str, SendRecord] = field(default_factory=dict)
    # rid -> wall time sent: every mutation request (rows' and unit ID types')
    sends: dict[str, float] = field(default_factory=dict)
    # row key -> the source's content before the first update of this run folder
    befores: dict[str, SourceContent] = field(default_factory=dict)
    records: int = 0
    skipped_lines: int = 0
    rows: int = 0  # the most rows an invocation's start event counted (0: none said)


# The unit ID type requests (run/plan/projectunits.py): mutations a resume counts too.
UNIT_TYPE_EVENT = "unit_type"
UNIT_TYPE_SENDS = frozenset({"create", "delete"})

JOURNAL_FIX = (
    "put the line back as it was, or delete it (resume then settles that row by listing "
    "what the project holds)"
)


def read_journal(path: Path) -> JournalState:
    """What the journal says. A torn line (a crash mid-write) is skipped; a line that is JSON
    but not a record as the tool writes it (edited by hand) is refused, naming the line."""
    state = JournalState()
    if not path.exists():
        return state
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for n, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                state.skipped_lines += 1  # a torn line from a crash mid-write
                continue
            if not isinstance(record, dict):
                state.skipped_lines += 1
                continue
            state.records += 1
            try:
                _take(state, record)
            except (ValueError, TypeError) as exc:
                raise damaged(path, n, str(exc), JOURNAL_FIX) from None
    return state


def _take(state: JournalState, record: dict[str, Any]) -> None:
    kind = record.get("event")
    key = record.get("key")
    if kind == "start":
        rows = record.get("rows")
        if isinstance(rows, int) and not isinstance(rows, bool):
            state.rows = max(state.rows, rows)
    elif kind == "send" and isinstance(key, str):
        sent = _send_record(record, key)
        state.sends[sent["rid"]] = sent["t"]
        if key not in state.finals:
            state.unfinished[key] = sent
    elif kind == UNIT_TYPE_EVENT and record.get("action") in UNIT_TYPE_SENDS:
        # A mutation under the same windows; one written before unit_type lines carried a
        # rid (one line per type, not per request) still counts once, by its line.
        rid = record.get("rid")
        state.sends[rid if isinstance(rid, str) else f"line-{state.records}"] = _time(record)
    elif kind == "before" and isinstance(key, str):
        content = record.get("content")
        if isinstance(content, dict):
            # The first one counts: a resume lists after its own update went through.
            state.befores.setdefault(key, content)
    elif kind == "final" and isinstance(key, str):
        result = _final(record, key)
        state.unfinished.pop(key, None)
        state.finals[key] = result


def _final(record: dict[str, Any], key: str) -> RowResult:
    try:
        status = Status(str(record.get("status")))
    except ValueError:
        raise ValueError(f"status {record.get('status')!r} is not one the tool writes") from None
    name, data, http = record.get("name"), record.get("data"), record.get("http_status")
    if name is not None and not isinstance(name, str):
        raise ValueError(f"name is {name!r}, not a text")
    if data is not None and not isinstance(data, dict):
        raise ValueError("data is not a JSON object")
    return RowResult(
        row=whole_number(record.get("row", 0), "row"),
        name=name,
        status=status,
        http_status=None if http is None else whole_number(http, "http_status"),
        attempts=whole_number(record.get("attempts", 0), "attempts"),
        error=str(record.get("message") or ""),
        key=key,
        data=record.get("data"),  # a JSON object or null, checked above
        problems=_problems(record.get("problems")),
    )


def _problems(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(p, dict) and isinstance(p.get("field"), str) and isinstance(p.get("error"), str)
        for p in value
    ):
        raise ValueError('problems is not a list of {"field", "error"}')
    return tuple((p["field"], p["error"]) for p in value)


def _time(record: dict[str, Any]) -> float:
    t = record.get("t", 0.0)
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise ValueError(f"t is {t!r}, not a time")
    return float(t)


def _send_record(record: dict[str, Any], key: str) -> SendRecord:
    """A send line as read back, each field checked: a journal may be torn or edited."""
    row, attempt = record.get("row"), record.get("attempt")
    return {
        "event": "send",
        "t": _time(record),
        "rid": str(record.get("rid")),
        "key": key,
        "row": row if isinstance(row, int) else 0,
        "name": str(record.get("name") or ""),
        "action": str(record.get("action") or "create"),
        "attempt": attempt if isinstance(attempt, int) else 0,
    }
