"""Client-side limiter that keeps several sliding windows at once (docs/ratelimit.md).

A request holds a slot from admission until its answer comes back, and its log stamp is the
completion time. The server's arrival time lies between the two, so admitting only while
every window has `stamps + in_flight < count` keeps every server-side window within its
count under any latency or reordering.
"""

from __future__ import annotations

import asyncio
import math
from bisect import bisect_right, insort
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress

from aiolimiter import AsyncLimiter

from .slot import Slot
from .windows import DRIFT, RECHECK_SHARE, Window, exact_schedule

__all__ = ["MultiWindowLimiter", "Slot"]


class MultiWindowLimiter:
    """FIFO admission under every window at once, with in-flight requests counted.

    Every period is padded for clock drift against the server by `drift` (a share of the
    period) plus `margin` seconds. `spacing`, if set, is a minimum gap between the moments
    acquire() returns, kept by `aiolimiter.AsyncLimiter(1, spacing)` after log admission (so
    the slot is held while pacing and the windows stay exact). `clock` defaults to the running
    loop's time(); all stamps are in that clock. The windows may change while running
    (set_windows: a learner lowers, relaxes or adds them). `cap` bounds the requests in
    flight (None: no bound), `hold_until` admits nothing before a time, `foreign_in_flight`
    counts requests another process has in flight (`recheck` reads their answers)."""

    def __init__(
        self,
        windows: Sequence[Window],
        *,
        drift: float = DRIFT,
        margin: float = 0.0,
        spacing: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not margin >= 0:
            raise ValueError(f"margin must be >= 0, got {margin!r}")
        if not drift >= 0:
            raise ValueError(f"drift must be >= 0, got {drift!r}")
        if spacing is not None and not spacing > 0:
            raise ValueError(f"spacing must be > 0, got {spacing!r}")
        self.margin = margin
        self.drift = drift
        self.spacing = spacing
        self._clock = clock
        self._pacer = AsyncLimiter(1, spacing) if spacing is not None else None
        self._log: list[float] = []
        self._in_flight = 0
        self._open: dict[int, Slot] = {}
        self._next_seq = 0
        self._cap: int | None = None
        self._hold = -math.inf
        self._foreign = 0
        self._waiters: deque[asyncio.Future[Slot]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self.recheck: Callable[[], None] | None = None
        self._set(windows)

    def span(self, period: float) -> float:
        """A period as this limiter keeps it: padded for drift."""
        return period * (1.0 + self.drift) + self.margin

    def _set(self, windows: Sequence[Window]) -> None:
        self.windows = tuple(windows)
        self._proven: tuple[tuple[int, int], ...] | None = None  # (proven, cap) per window
        self._guard: tuple[int, float] | None = None
        # Expiry is always computed as `stamp + span <= now`, the same float expression the
        # wake-up time uses, so a timer set for a stamp's expiry finds it expired.
        self._spans = tuple((w.count, self.span(w.period)) for w in self.windows)
        self._horizon = max((span for _, span in self._spans), default=0.0)

    def set_windows(
        self,
        windows: Sequence[Window],
        proven: Sequence[int] | None = None,
        caps: Sequence[int] | None = None,
        guard: Window | None = None,
    ) -> None:
        """Replace the windows now; stamps older than the new horizon may be forgotten.

        `proven[i]` is how many requests window i is known to take (a learner's lower bound):
        while a window holds at least that many, at most `caps[i]` requests (default 1) are
        in flight, so a wrong guess above the proven count costs at most that many rejected
        attempts. `guard` is a window being relaxed (a probe): while what it would hold
        reaches its count, one request at most is in flight, so a single request tests it.
        """
        self._set(windows)
        if proven is not None:
            bounds = caps if caps is not None else [1] * len(proven)
            if not len(proven) == len(bounds) == len(self.windows):
                raise ValueError("proven and caps need one value per window")
            self._proven = tuple(zip(proven, bounds, strict=True))
        self._guard = (guard.count, self.span(guard.period)) if guard is not None else None
        self._poke()

    @property
    def cap(self) -> int | None:
        return self._cap

    @cap.setter
    def cap(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError(f"cap must be >= 1, got {value!r}")
        self._cap = value
        self._poke()

    def hold_until(self, when: float) -> None:
        """Admit nothing before `when` (clock time); an earlier hold is never shortened."""
        self._hold = max(self._hold, when)
        self._poke()

    @property
    def held_until(self) -> float:
        return self._hold

    @property
    def foreign_in_flight(self) -> int:
        return self._foreign

    @foreign_in_flight.setter
    def foreign_in_flight(self, value: int) -> None:
        self._foreign = max(0, value)
        self._poke()

    @property
    def next_seq(self) -> int:
        """The sequence number the next admitted slot will get (slots count from 0)."""
        return self._next_seq

    def open_slots(self) -> list[Slot]:
        """Slots admitted and not yet released or cancelled, in admission order."""
        return list(self._open.values())

    def _poke(self) -> None:
        if self._waiters:
            self._wake()

    # -- public -------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return sum(not fut.done() for fut in self._waiters)

    async def acquire(self) -> Slot:
        """Wait until admitted; the slot counts in every window from now until released."""
        slot = await self._admit()
        if self._pacer is not None:
            try:
                await self._pacer.acquire()
            except BaseException:
                slot.cancel()
                raise
        return slot

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """acquire(); release() on exit, even on error (the request may have been sent)."""
        slot = await self.acquire()
        try:
            yield slot
        finally:
            slot.release()

    def add_history(self, stamps: Iterable[float]) -> None:
        """Add earlier completion stamps (clock time, any order), e.g. after a restart."""
        new = [float(s) for s in stamps]
        if not all(math.isfinite(s) for s in new):
            raise ValueError("history stamps must be finite")
        self._log.extend(new)
        self._log.sort()
        self._poke()

    def stamps(self) -> list[float]:
        """Completed stamps that still count in some window, oldest first."""
        self._prune(self._now())
        return list(self._log)

    def estimate_finish(self, n: int) -> float:
        """Seconds from now until n more requests could all be admitted (zero latency, in-flight
        ones completing now, queued waiters not included, spacing as a 1/spacing window)."""
        if n <= 0:
            return 0.0
        now = self._now()
        self._prune(now)
        windows = [Window(count, span) for count, span in self._spans]
        if self.spacing is not None:
            windows.append(Window(1, self.spacing))
        history = [*self._log, *[now] * (self._in_flight + self._foreign)]
        start = max(now, self._hold)
        return max(0.0, exact_schedule(n, windows, history, start=start)[-1] - now)

    def overfull(self) -> bool:
        """True when in-flight requests (ours, others') and stamps break a window: another
        process took the slot we were just given."""
        now = self._now()
        self._prune(now)
        in_flight = self._in_flight + self._foreign
        for count, span in self._spans:
            live = len(self._log) - bisect_right(self._log, now, key=_expiry(span))
            if live + in_flight > count:
                return True
        return False

    def free_at(self) -> float:
        """Earliest clock time a request could be admitted if nothing else changes (in-flight
        ones counted as completing now; ignores the cap)."""
        now = self._now()
        at = self._free_at(now, capped=False)
        return now + self.estimate_finish(1) if at is None else at

    # -- internals ----------------------------------------------------------------------

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()

    async def _admit(self) -> Slot:
        now = self._now()
        if not self._waiters and self._free_at(now) == now:
            return self._grant(now)
        fut: asyncio.Future[Slot] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._wake()
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                # Admitted in the same instant we were cancelled: the request is never sent.
                fut.result().cancel()
            else:
                with suppress(ValueError):  # _wake may have dropped it already
                    self._waiters.remove(fut)
                self._wake()
            raise

    def _grant(self, now: float) -> Slot:
        self._in_flight += 1
        slot = Slot(self, now, self._next_seq)
        self._next_seq += 1
        self._open[slot.seq] = slot
        return slot

    def _finish(self, slot: Slot, *, stamped: bool, refused: bool = False) -> float | None:
        self._in_flight -= 1
        self._open.pop(slot.seq, None)
        stamp = None
        if stamped:
            stamp = self._now()
            if not self._log or stamp >= self._log[-1]:
                self._log.append(stamp)
            else:
                insort(self._log, stamp)
        if self._waiters and refused:  # its 429 is applied first: the safety bound's probe
            asyncio.get_running_loop().call_soon(self._wake)
        elif self._waiters:
            self._wake()
        return stamp

    def _wake(self) -> None:
        """Admit waiters from the head while possible, else set one timer for the head."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._waiters:
            return
        now = self._now()
        while self._waiters:
            head = self._waiters[0]
            if head.done():  # cancelled; its task removes it later, or we drop it here
                self._waiters.popleft()
                continue
            at = self._free_at(now)
            if at is None:
                if self._in_flight == 0 and self.recheck is not None:
                    # Only others' sends in flight block: no answer of ours will come to
                    # read theirs by, so look again (a share of the shortest window late).
                    delay = min(span for _, span in self._spans) / RECHECK_SHARE
                    self._timer = asyncio.get_running_loop().call_later(delay, self._recheck)
                return  # else only a release or cancel can help; both call _wake
            if at > now:
                self._timer = self._call_at(at, now)
                return
            self._waiters.popleft()
            head.set_result(self._grant(now))

    def _recheck(self) -> None:
        if self.recheck is not None:
            self.recheck()
        self._wake()

    def _call_at(self, at: float, now: float) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        if self._clock is None:
            return loop.call_at(at, self._wake)
        return loop.call_later(max(0.0, at - now), self._wake)

    def _free_at(self, now: float, *, capped: bool = True) -> float | None:
        """Earliest time >= now a request could be admitted; None if in-flight ones block."""
        if capped and self._cap is not None and self._in_flight >= self._cap:
            return None
        self._prune(now)
        log, at = self._log, max(now, self._hold)
        in_flight = self._in_flight + self._foreign
        proven = self._proven if capped else None
        if capped and self._guard is not None and self._in_flight >= 1:
            count, span = self._guard
            if len(log) - bisect_right(log, now, key=_expiry(span)) + in_flight >= count:
                return None
        for i, (count, span) in enumerate(self._spans):
            expired = bisect_right(log, now, key=_expiry(span))
            live = len(log) - expired
            # Beyond what the window is known to take, a wrong guess may cost what is in
            # flight: at most the window's cap.
            if proven and live + in_flight >= proven[i][0] and self._in_flight >= proven[i][1]:
                return None
            excess = live + in_flight - (count - 1)
            if excess <= 0:
                continue
            if excess > live:
                return None
            at = max(at, log[expired + excess - 1] + span)
        return at

    def _prune(self, now: float) -> None:
        log, horizon = self._log, self._horizon
        if log and log[0] + horizon <= now:
            del log[: bisect_right(log, now, key=_expiry(horizon))]


def _expiry(span: float) -> Callable[[float], float]:
    def expires(stamp: float) -> float:
        return stamp + span

    return expires
