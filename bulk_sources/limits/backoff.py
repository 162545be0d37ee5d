"""Retry backoff (full jitter) and reading Retry-After.

The pause after a 429 is no longer a fixed base with jitter: it is when the window the
learner infers frees (limits/learn.py), Retry-After being one more floor on it."""

from __future__ import annotations

import math
import random
import re
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

__all__ = ["full_jitter", "parse_retry_after"]

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
