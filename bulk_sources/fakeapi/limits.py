"""Server-side rate limits: exact sliding-window logs per key, and the window statistics.

A window (count, period) holds the mutations of the half-open interval (now - period, now].
The server refuses a mutation when any window already holds `count` entries at its arrival.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..limits.windows import Window


class SlidingLog:
    """Times in arrival order, kept only while they are still inside the window."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.times: deque[float] = deque()

    def prune(self, now: float) -> None:
        edge = now - self.period
        while self.times and self.times[0] <= edge:
            self.times.popleft()

    def add(self, t: float) -> int:
        """Record `t` (never earlier than the last entry) and return the window's new count."""
        self.prune(t)
        self.times.append(t)
        return len(self.times)


class RateLimiter:
    """One sliding log per window per budget (a project, or a key); the verdict for each
    mutation as it arrives. `windows_of` gives a budget other windows than `windows`."""

    def __init__(
        self,
        windows: Sequence[Window],
        count_rejected: bool = False,
        windows_of: Callable[[str], Sequence[Window]] | None = None,
    ) -> None:
        self.windows = list(windows)
        self.count_rejected = count_rejected
        self._windows_of = windows_of
        self._logs: dict[str, list[SlidingLog]] = {}

    def windows_for(self, key: str) -> list[Window]:
        return list(self._windows_of(key)) if self._windows_of is not None else self.windows

    def _logs_of(self, key: str) -> list[SlidingLog]:
        logs = self._logs.get(key)
        if logs is None:
            logs = [SlidingLog(w.period) for w in self.windows_for(key)]
            self._logs[key] = logs
        return logs

    def admit(self, key: str, now: float) -> float | None:
        """None if the mutation may go ahead (and is logged), else seconds until a slot frees."""
        logs = self._logs_of(key)
        wait: float | None = None
        for window, log in zip(self.windows_for(key), logs, strict=True):
            log.prune(now)
            held = len(log.times)
            if held >= window.count:
                # The window frees once its (held - count + 1) oldest entries have slid out.
                free_at = log.times[held - window.count] + window.period
                wait = max(wait or 0.0, free_at - now)
        if wait is None or self.count_rejected:
            for log in logs:
                log.add(now)
        return wait

    def restore(self, key: str, times: Iterable[float]) -> None:
        """Refill a key's logs with earlier admitted times (after a restart)."""
        logs = self._logs_of(key)
        for t in sorted(times):
            for log in logs:
                log.add(t)

    def clear(self) -> None:
        self._logs.clear()


def retry_after_header(wait: float) -> str:
    """Whole seconds, rounded up: a client that waits this long finds the slot free."""
    return str(max(1, math.ceil(wait)))


class WindowMax:
    """The most entries any window (t - period, t] ever held, updated as entries arrive.

    The maximum over all windows is reached by one ending at an entry (slide its end back to
    its last entry: it keeps every entry), so checking at each arrival is exact.
    """

    def __init__(self, period: float) -> None:
        self._log = SlidingLog(period)
        self.best = 0

    def add(self, t: float) -> None:
        self.best = max(self.best, self._log.add(t))


class WindowStats:
    """Per window: the most arrivals and the most accepted mutations in any sliding window."""

    def __init__(self, windows: Sequence[Window]) -> None:
        self.windows = list(windows)
        self.mutations = 0
        self.rejected = 0
        self._arrivals = [WindowMax(w.period) for w in self.windows]
        self._accepted = [WindowMax(w.period) for w in self.windows]

    def add(self, t: float, accepted: bool, counted: bool = True) -> None:
        # `counted=False` for arrivals restored from a state file: they fill the windows but
        # were not seen by this process.
        if counted:
            self.mutations += 1
            self.rejected += not accepted
        for arrivals in self._arrivals:
            arrivals.add(t)
        if accepted:
            for acc in self._accepted:
                acc.add(t)

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {
                "limit": w.count,
                "period": w.period,
                "window": str(w),
                "max_arrivals_in_window": arrivals.best,
                "max_accepted_in_window": acc.best,
            }
            for w, arrivals, acc in zip(self.windows, self._arrivals, self._accepted, strict=True)
        ]
