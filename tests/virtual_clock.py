"""A virtual clock for asyncio tests: loop.time() is virtual and idle waits jump ahead.

The loop's selector is wrapped: it still polls real I/O, without blocking, but when nothing
is ready and a timer is pending it moves virtual time straight to that timer's deadline
instead of sleeping. asyncio.sleep, wait_for/timeout, call_at, aiolimiter and anything else
built on loop.time() then run exactly and instantly.

    from tests.virtual_clock import run, virtual_clock

    def test_sync():                          # a fresh loop, virtual time starts at 0.0
        assert run(main()) == ...

    async def test_async():                   # pytest-asyncio: patch the running loop
        with virtual_clock() as clock:        # time() is 0.0 here
            await asyncio.sleep(3600)
            assert clock.time() == 3600.0

A timer that keeps re-arming itself for the current instant (aiolimiter does, when float
rounding leaves its bucket a hair short) would spin forever on a frozen clock; after
SPIN_LIMIT such turns the clock moves by one ulp, as a real one would have.

Limits: only timers advance time, so work in other threads (run_in_executor, DNS lookups)
or other processes is not waited for while a timer is pending (pass `io_grace` to poll
real I/O a little before each jump). If nothing is scheduled and nothing arrives within
`idle_timeout` real seconds, the run fails with VirtualClockStalled instead of hanging.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import selectors
import weakref
from collections.abc import Coroutine, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = [
    "VirtualClock",
    "VirtualClockStalled",
    "current_clock",
    "most_in_window",
    "most_overlapping",
    "new_loop",
    "run",
    "sleep_until",
    "virtual_clock",
]

T = TypeVar("T")
SPIN_LIMIT = 100
_installed: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, VirtualClock] = (
    weakref.WeakKeyDictionary()
)


class VirtualClockStalled(RuntimeError):
    """Nothing scheduled and no I/O: every task waits on something that never comes."""


class VirtualClock:
    def __init__(self, start: float = 0.0, *, idle_timeout: float = 5.0, io_grace: float = 0.0):
        self.start = start
        self.idle_timeout = idle_timeout
        self.io_grace = io_grace
        self._now = start
        self._loop: asyncio.BaseEventLoop | None = None
        self._selector: selectors.BaseSelector | None = None
        self._spins = 0

    def time(self) -> float:
        return self._now

    @property
    def elapsed(self) -> float:
        return self._now - self.start

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take over loop.time() and its selector; pending timers keep their distance."""
        if not isinstance(loop, asyncio.BaseEventLoop) or not hasattr(loop, "_selector"):
            raise TypeError(f"need a selector event loop, got {type(loop).__name__}")
        if self._loop is not None or loop in _installed:
            raise RuntimeError("a virtual clock is already installed")
        _shift_timers(loop, self._now - loop.time())
        self._loop, self._selector = loop, loop._selector
        loop._selector = _JumpingSelector(self._selector, self, loop)
        loop.time = self.time  # type: ignore[method-assign]
        _installed[loop] = self

    def uninstall(self) -> None:
        """Give the loop its real clock back; leftover timers keep their distance."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        del loop.time
        loop._selector = self._selector  # type: ignore[attr-defined]
        _installed.pop(loop, None)
        _shift_timers(loop, loop.time() - self._now)

    def _jump(self, loop: asyncio.BaseEventLoop, timeout: float) -> None:
        scheduled: list[asyncio.TimerHandle] = loop._scheduled  # type: ignore[attr-defined]
        # _run_once has dropped cancelled timers from the head, so this is the next deadline;
        # jumping to it exactly (not now + timeout) keeps float times exact.
        target = scheduled[0].when() if scheduled else self._now + timeout
        self._now = max(self._now, target)
        self._spins = 0

    def _spin(self) -> None:
        """A timer re-armed at the current instant again and again (aiolimiter does this when
        float rounding leaves it a hair short): a real clock would have moved, so move one ulp.
        """
        self._spins += 1
        if self._spins > SPIN_LIMIT:
            self._now = math.nextafter(self._now, math.inf)
            self._spins = 0


class _JumpingSelector:
    """Delegates to the real selector but never blocks while a timer is pending."""

    def __init__(
        self, inner: selectors.BaseSelector, clock: VirtualClock, loop: asyncio.BaseEventLoop
    ) -> None:
        self._inner, self._clock, self._loop = inner, clock, loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            if not self._loop._ready and not self._loop._stopping:  # type: ignore[attr-defined]
                self._clock._spin()  # woken only by a timer that is already due
            return self._inner.select(0)
        events = self._inner.select(self._clock.io_grace)
        if events:
            return events
        if timeout is None:
            events = self._inner.select(self._clock.idle_timeout)
            if not events:
                raise VirtualClockStalled(
                    f"no timer pending and no I/O for {self._clock.idle_timeout}s real time "
                    f"at virtual time {self._clock.time()}: a deadlock?"
                )
            return events
        self._clock._jump(self._loop, timeout)
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _shift_timers(loop: asyncio.AbstractEventLoop, offset: float) -> None:
    scheduled: list[asyncio.TimerHandle] = getattr(loop, "_scheduled", [])
    if offset and scheduled:
        for handle in scheduled:
            handle._when += offset  # type: ignore[attr-defined]
        heapq.heapify(scheduled)


def new_loop(start: float = 0.0, **options: float) -> asyncio.AbstractEventLoop:
    """A new selector event loop on a virtual clock starting at `start`."""
    loop = asyncio.SelectorEventLoop()
    VirtualClock(start, **options).install(loop)
    return loop


def run(main: Coroutine[Any, Any, T], *, start: float = 0.0, **options: float) -> T:
    """asyncio.run(main) on a fresh loop whose clock is virtual and starts at `start`."""
    with asyncio.Runner(loop_factory=lambda: new_loop(start, **options)) as runner:
        return runner.run(main)


@contextmanager
def virtual_clock(start: float = 0.0, **options: float) -> Iterator[VirtualClock]:
    """Put the running loop on a virtual clock for the block (inside an async test)."""
    clock = VirtualClock(start, **options)
    clock.install(asyncio.get_running_loop())
    try:
        yield clock
    finally:
        clock.uninstall()


def current_clock() -> VirtualClock:
    """The virtual clock of the running loop."""
    return _installed[asyncio.get_running_loop()]


async def sleep_until(when: float) -> None:
    """Sleep until loop time `when` exactly (sleep(when - now) can miss it by a rounding)."""
    loop = asyncio.get_running_loop()
    if when <= loop.time():
        await asyncio.sleep(0)
        return
    fut: asyncio.Future[None] = loop.create_future()
    handle = loop.call_at(when, _resolve, fut)
    try:
        await fut
    finally:
        handle.cancel()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def most_in_window(times: Iterable[float], period: float) -> int:
    """Most of `times` inside any sliding window (t - period, t]."""
    ordered = sorted(times)
    best = first = 0
    for last, t in enumerate(ordered):
        while ordered[first] + period <= t:  # same float expression as the limiter's expiry
            first += 1
        best = max(best, last - first + 1)
    return best


def most_overlapping(spans: Iterable[tuple[float, float]], period: float) -> int:
    """Most requests that could have arrived in one window (t - period, t], arrivals unknown.

    Each (admitted, released) request may arrive anywhere in between, so it can fall in the
    window iff admitted <= t and released + period > t; the maximum is at some admitted t.
    """
    items = list(spans)
    return max(
        (sum(a <= t and r + period > t for a, r in items) for t, _ in items),
        default=0,
    )
