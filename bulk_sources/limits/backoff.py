"""Retry backoff and the one 429 pause that all workers share (GUIDE section 3)."""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

__all__ = ["SharedPause", "full_jitter", "parse_retry_after"]

_SECONDS = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def full_jitter(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """uniform(0, min(cap, base * 2**attempt)); attempt counts from 0."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    # 2.0**1024 overflows; the cap has long been reached by then.
    return rng.uniform(0.0, min(cap, base * 2.0 ** min(attempt, 1000)))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date.

    `now` is wall-clock epoch seconds (time.time() by default). None or an unreadable value
    gives None; a negative delay or a past date gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.match(text):
        seconds = float(text)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" or asctime: HTTP-dates are always GMT
        when = when.replace(tzinfo=UTC)
    delay = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, delay) if math.isfinite(delay) else None


class SharedPause:
    """One pause for all workers: a 429 means the project's shared budget is gone.

    Without Retry-After the first 429 pauses `base` plus up to `jitter * base`; while 429s
    continue (the streak) the pause is `base + full_jitter(streak - 1, base, cap - base)`,
    so at least `base` and at most `cap`. A 429 or success for a request sent before the
    current pause began is an echo of the burst already paid for: it does not touch the
    streak. Times are in `clock` (the running loop's time() by default).
    """

    def __init__(
        self,
        *,
        base: float = 10.0,
        cap: float = 900.0,
        jitter: float = 0.1,
        rng: random.Random | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not 0 < base <= cap:
            raise ValueError(f"need 0 < base <= cap, got base={base!r} cap={cap!r}")
        if not jitter >= 0:
            raise ValueError(f"jitter must be >= 0, got {jitter!r}")
        self.base, self.cap, self.jitter = base, cap, jitter
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock
        self._until = -math.inf
        self._started = -math.inf
        self._streak = 0
        self._total = 0

    @property
    def paused_until(self) -> float:
        """End of the current or last pause in clock time (-inf before the first 429)."""
        return self._until

    @property
    def streak(self) -> int:
        return self._streak

    @property
    def total_pauses(self) -> int:
        """429s that counted toward a streak (echoes excluded)."""
        return self._total

    def remaining(self) -> float:
        return max(0.0, self._until - self._now())

    def trigger(self, retry_after: float | None = None, *, sent_at: float | None = None) -> float:
        """Record a 429 and return the pause end (clock time).

        `sent_at` is when the rejected request was admitted (same clock); if that was before
        the current pause began, the streak stays and, without Retry-After, nothing changes.
        """
        now = self._now()
        fresh = sent_at is None or sent_at >= self._started
        if fresh:
            self._streak += 1
            self._total += 1
        if retry_after is not None:
            retry_after = max(0.0, retry_after)
            delay = retry_after + self._rng.uniform(0.0, self.jitter * min(retry_after, self.base))
        elif fresh:
            delay = self._backoff()
        else:
            return self._until
        self._until = max(self._until, now + delay)
        if fresh:
            self._started = now
        return self._until

    def record_success(self, *, sent_at: float | None = None) -> None:
        """A request got through: the streak is over (unless it was sent before the pause)."""
        if sent_at is None or sent_at >= self._started:
            self._streak = 0

    async def wait(self) -> None:
        """Return at once when not paused, else at the pause end (re-checked if extended)."""
        loop = asyncio.get_running_loop()
        while (now := self._now()) < (until := self._until):
            if self._clock is None:
                # call_at, not sleep(until - now): every waiter wakes at exactly `until`.
                fut: asyncio.Future[None] = loop.create_future()
                handle = loop.call_at(until, _resolve, fut)
                try:
                    await fut
                finally:
                    handle.cancel()
            else:
                await asyncio.sleep(until - now)

    def _backoff(self) -> float:
        if self._streak <= 1:
            return min(self.cap, self.base + self._rng.uniform(0.0, self.jitter * self.base))
        extra = full_jitter(
            self._streak - 1, base=self.base, cap=self.cap - self.base, rng=self._rng
        )
        return self.base + extra

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()

    def __repr__(self) -> str:
        return f"<SharedPause until={self._until} streak={self._streak} total={self._total}>"


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
