"""What the executor shows of itself: what it has done (counters), what it is waiting
for, as numbers (for a progress line) and in words (after Ctrl-C), and its 429s as the
journal records them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass

from ...catalog.validation import ValidRow
from ...limits.budget import SharedBudget
from ..record.journal import Journal


@dataclass
class Counters:
    requests_sent: int = 0  # requests that may have reached the server
    refused: int = 0  # connections refused: nothing sent
    rate_limited: int = 0
    retries: int = 0
    first_request_at: float | None = None  # wall clock
    last_request_at: float | None = None


@dataclass(frozen=True)
class Waiting:
    in_flight: int = 0  # requests sent and not answered
    in_flight_for: float = 0.0  # seconds since the oldest of them went
    pause_left: float = 0.0  # seconds left of the shared 429 pause
    window_frees_in: float | None = None  # rows queue for a rate window: when the next may go
    retrying: int = 0  # rows waiting out a retry backoff
    next_retry_in: float = 0.0
    window: str = ""  # a full window in words (SharedBudget.window_wait)

    @property
    def stalled(self) -> bool:
        """Nothing can go right now: all that moves is the clock."""
        return (
            self.pause_left > 0
            or bool(self.window_frees_in)
            or (self.retrying > 0 and self.in_flight == 0)
        )

    def __str__(self) -> str:
        parts = []
        if self.window and self.pause_left <= 0 and not self.retrying:
            parts.append(self.window)  # first: a predictable wait (see predictable())
        if self.in_flight:
            parts.append(
                f"{_plural(self.in_flight, 'request')} in flight for {self.in_flight_for:.0f} s"
            )
        if self.pause_left > 0:
            parts.append(f"429 pause, {self.pause_left:.0f} s left")
        elif self.window_frees_in is not None and not self.window:
            parts.append(f"rate window frees in {self.window_frees_in:.0f} s")
        if self.retrying:
            parts.append(
                f"{_plural(self.retrying, 'row')} to retry, next in {self.next_retry_in:.0f} s"
            )
        return "; ".join(parts)


def predictable(text: str) -> bool:
    """True for a wait the windows alone explain (no 429 pause, no retry): it has an end,
    so a progress display keeps its ETA and does not call it a stall."""
    return text.startswith(WINDOW_WAIT)


WINDOW_WAIT = "waiting "


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def waiting_now(
    budget: SharedBudget,
    in_flight: Collection[float],
    backing_off: Collection[float],
    *,
    stopping: bool,
) -> Waiting:
    """What holds a run back now, from the loop times its requests went (`in_flight`) and
    its retries may go (`backing_off`); after a stop only the requests in flight count."""
    now = asyncio.get_running_loop().time()
    oldest = now - min(in_flight) if in_flight else 0.0
    if stopping:
        return Waiting(len(in_flight), oldest)
    limiter = budget.limiter
    window = limiter.estimate_finish(1) if limiter.waiting else None
    return Waiting(
        len(in_flight),
        oldest,
        pause_left=max(0.0, limiter.held_until - now),
        window_frees_in=window,
        retrying=len(backing_off),
        next_retry_in=max(0.0, min(backing_off) - now) if backing_off else 0.0,
        window=budget.window_wait() if limiter.waiting else "",
    )


def journal_429(
    journal: Journal, budget: SharedBudget, row: ValidRow, rid: str, stop: Callable[[str], None]
) -> None:
    """Journal a 429 right after the budget took it: the wait is the hold it left on every
    worker. A journal that can't be written stops the run (its send record stands)."""
    try:
        journal.rate_limited(rid=rid, key=row.key, row=row.row, wait=budget.resumes_in())
    except OSError as exc:
        stop(f"can't write the journal: {exc}")
