"""Rate-limit windows: `COUNT/PERIOD` parsing and the exact sliding-window schedule.

A window (count, period) means: in every sliding interval of length `period`, at most
`count` requests. Shared by the client's limiter, the server stand-in and the benchmarks.
"""

from __future__ import annotations

import re
from bisect import insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import UsageError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)\s*$")


@dataclass(frozen=True, order=True)
class Window:
    count: int
    period: float  # seconds

    def __str__(self) -> str:
        return f"{self.count}/{format_period(self.period)}"

    @property
    def period_text(self) -> str:
        return format_period(self.period)


# Statsig's current Console API page (2026): ~1,800 attempts per 15 min per project, plus
# burst protection whose count and period it does not publish: learned from the answers
# (burst_window.py), since any short window guessed here would be a ceiling the real one
# may be far above (20 per 1 s is 2.4x faster than 100 per 10 s over 300 requests).
DEFAULT_WINDOWS: tuple[Window, ...] = (Window(1800, 900.0),)
# The stand-in's windows by default: the page's quota and, as its burst protection, the
# earlier pages' 100 per 10 s, which the tool is not told.
STAND_IN_WINDOWS: tuple[Window, ...] = (Window(100, 10.0), Window(1800, 900.0))
# The earlier page (Apr 2024 to mid 2026): `--rate-limit 100/10s --rate-limit 900/15m`.
EARLIER_WINDOWS: tuple[Window, ...] = (Window(100, 10.0), Window(900, 900.0))
# Clock drift between us and the server, as a share of each window's period (100 ppm: 0.09 s
# on 15 min, 1 ms on 10 s), so a test with windows scaled x0.02 is the real run scaled.
DRIFT = 1e-4

# Blocked by another process's requests in flight, a limiter looks for their answers this
# often per shortest window: the wait that adds is at most that share of the window.
RECHECK_SHARE = 8


def format_period(seconds: float) -> str:
    """10s, 15m, 200ms; a period that is none of these in seconds."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    if (seconds * 1000).is_integer():
        return f"{int(seconds * 1000)}ms"
    return f"{seconds:.4g}s"


def parse_window(text: str) -> Window:
    """Parse `100/10s`, `900/15m`, `20/500ms`, `5/1h` (a bare unit means 1 of it: `10/s`)."""
    match = _PATTERN.match(text)
    if not match:
        raise UsageError(
            f"rate limit {text!r} is not COUNT/PERIOD; write it like 100/10s or 900/15m "
            "(units: ms, s, m, h)"
        )
    count = int(match.group(1))
    amount = float(match.group(2)) if match.group(2) else 1.0
    period = amount * _UNITS[match.group(3)]
    if count < 1 or period <= 0:
        raise UsageError(
            f"rate limit {text!r} needs a count of at least 1 and a period above 0, like 100/10s"
        )
    return Window(count, period)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(text: str) -> float:
    """`1h`, `30m`, `90s`, `250ms`, or plain seconds: seconds, above 0."""
    match = _DURATION.match(text)
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"] if match else 0.0
    if seconds <= 0:
        raise UsageError(f"{text!r} is not a duration; write it like 1h, 30m, 90s or 250ms")
    return seconds


def exact_schedule(
    n: int, windows: Sequence[Window], history: Iterable[float] = (), start: float = 0.0
) -> list[float]:
    """Earliest send times of n requests, in order, that keep every window, given earlier
    send times (which may lie after `start`, e.g. restored from another process).

    Request k may go at max(start, the previous request, sorted[len - count] + period) over
    all windows: the sliding-window log, the fastest schedule any client can keep without
    a 429 (zero latency assumed).
    """
    times = sorted(history)
    out: list[float] = []
    t = start
    for _ in range(n):
        size = len(times)
        for window in windows:
            if size >= window.count:
                t = max(t, times[size - window.count] + window.period)
        insort(times, t)
        out.append(t)
    return out
