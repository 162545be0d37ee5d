"""Rate-limit memory across processes, kept per API-key fingerprint in the report directory.

A new run right after another with the same key must start with the budget that is really
left. Each request appends a `sent` line before it goes and a `done` line when its answer
(or error) comes back; on start, the lines inside the longest window become the limiter's
history. A send with no `done` (the process died) is stamped `now`, which is never earlier
than its real arrival at the server.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO


class LimitMemory:
    def __init__(
        self, path: Path, horizon: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.horizon = horizon
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._entries = self._load()
        self._compact()
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def _load(self) -> dict[str, tuple[float, float | None]]:
        entries: dict[str, tuple[float, float | None]] = {}
        if not self.path.exists():
            return entries
        cutoff = self._clock() - self.horizon
        with self.path.open("r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                    rid = str(record["rid"])
                except (ValueError, KeyError, TypeError):
                    continue  # a torn line from a crash mid-write
                sent, done = entries.get(rid, (float("inf"), None))
                if "sent" in record:
                    sent = float(record["sent"])
                if "done" in record:
                    done = float(record["done"])
                entries[rid] = (sent, done)
        return {
            rid: (sent, done)
            for rid, (sent, done) in entries.items()
            if (done if done is not None else sent) > cutoff
        }

    def _compact(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            for rid, (sent, done) in self._entries.items():
                record: dict[str, object] = {"rid": rid, "sent": sent}
                if done is not None:
                    record["done"] = done
                handle.write(json.dumps(record) + "\n")
        os.replace(tmp, self.path)

    def stamps(self, *, now: float | None = None, timeout: float | None = None) -> list[float]:
        """Wall-clock completion stamps of the requests inside the horizon."""
        now = self._clock() if now is None else now
        out = []
        for sent, done in self._entries.values():
            if done is not None:
                out.append(done)
            elif timeout is not None and sent + timeout < now:
                out.append(sent + timeout)  # its answer could not have come later than that
            else:
                out.append(now)
        return sorted(out)

    def known(self, rid: str) -> bool:
        return rid in self._entries

    def record_sent(self, rid: str, t: float) -> None:
        self._write({"rid": rid, "sent": t})

    def record_done(self, rid: str, t: float) -> None:
        self._write({"rid": rid, "done": t})

    def _write(self, record: dict[str, object]) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
