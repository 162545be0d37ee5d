"""What the learner believes: one Rule per window, each Change with its evidence, and the
constants of the inference (every one a share or a multiple of the windows' own periods)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .windows import Window, format_period

__all__ = [
    "Change",
    "Option",
    "Rule",
    "in_flight_bounds",
    "may_ask",
    "past_proven",
    "round_up",
    "shortest_refusing",
]

# A burst window starts at this share of the shortest known period and widens by WIDEN per
# repeat, so its period is found in at most log_WIDEN(64) = 3 wrong guesses at any scale.
BURST_START = 1 / 64
WIDEN = 4.0
# Told only a long window (the current page's 15 minutes), the first guess is 1/900 of it
# (1 s for 15 min), or the period at which the burst's count is FASTEST times the long
# window's average rate if longer (50/s for 1800/15m: 100 at once guesses 2 s), widened on
# each repeat to a round period (ROUND) at least BURST_WIDEN longer.
BURST_GUESS = 1 / 900
FASTEST = 25.0
BURST_WIDEN = 1.5
# Rate limits are configured in round periods (the pages' own: 10 s, 15 min), so a paced
# guess widens to the next of these multiples of the first guess (1 s for 15 min) at least
# BURST_WIDEN past it: 1 s, 2 s, 5 s, 10 s. A round guess that holds is often exact, where
# one of 2.5 s for 2 s costs a fifth of the rate, or a bisection's 429s to recover it.
ROUND = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900)
# A burst window's period is refined by bisection until known within this share; each step
# is judged after this many of its periods (a wrong one draws its 429 in the first).
PRECISION = 1 / 8
BISECT_CLEAN = 2
# A bisection step is asked only while rejected attempts stay within this share of answers:
# half the 2 % the run's 429s are held to, the other half for the 429s no one can avoid.
ASK_SHARE = 1 / 64
MAX_BACKOFF = 10
# Past a window's proven count, requests in flight are bounded by the probe cap or this share
# of the proven count (slow start: a wrong guess wastes at most ~3 % of what is known to go).
PROBE_SHARE = 32
# Weight of an explanation that needs someone else spending the budget (a window lowered
# below what it was proven to take): a 10 s window must look 16 times likelier to win over
# a 15 min one, which is what the default windows' rates (10/s against 2/s) call for.
UNLIKELY = 1 / 16


@dataclass
class Rule:
    """One window as currently believed: `ceiling` None marks a discovered burst window."""

    count: int
    period: float
    ceiling: int | None
    lower: float = 0.0  # burst windows: the period is proven longer than this
    upper: float = math.inf  # burst windows: the period is proven at most this
    relax_at: float = math.inf
    backoff: int = 0
    # Lowered on evidence that needs nobody else (it held at least what it was proven to
    # take): worth remembering for the next run. Otherwise someone else's use lowered it.
    confirmed: bool = False
    # A burst window guessed under a long window alone (1/900 of it), widened BURST_WIDEN.
    paced: bool = False
    # (seq, since, at) of the 429 that found a tight burst: an acceptance answered after
    # `at` of a request admitted before it, since `since`, was in the burst and not counted.
    late: tuple[int, float, float] | None = None
    # Burst windows: when this count and period were set (what was admitted since tests it).
    since: float = -math.inf
    # Burst windows: its count was lowered for someone else's share (below what went through).
    shared: bool = False

    @property
    def judged_over(self) -> int:
        """Periods a bisection step is judged over: one for a paced guess (its first is
        where a wrong one draws its 429), BISECT_CLEAN otherwise."""
        return 1 if self.paced else BISECT_CLEAN

    @property
    def window(self) -> Window:
        return Window(self.count, self.period)


@dataclass(frozen=True)
class Change:
    at: float  # clock time
    before: tuple[Window, ...]
    after: tuple[Window, ...]
    reason: str

    def as_json(self, wall_offset: float = 0.0) -> dict[str, Any]:
        return {
            "at": round(self.at + wall_offset, 3),
            "before": [str(w) for w in self.before],
            "after": [str(w) for w in self.after],
            "reason": self.reason,
        }


@dataclass
class Option:
    rate: float
    reason: str
    rules: list[Rule] = field(default_factory=list)


def lowered(rule: Rule, count: int, now: float) -> None:
    """Lower a window to `count`; it relaxes after a clean period that doubles each time."""
    rule.count = max(1, count)
    rule.backoff = min(rule.backoff + 1, MAX_BACKOFF)
    rule.relax_at = now + rule.period * 2**rule.backoff


def without_redundant(rules: list[Rule]) -> list[Rule]:
    """Drop a burst window that a known one implies (no more requests in a longer period)."""
    known = [r for r in rules if r.ceiling is not None]
    kept = [
        r
        for r in rules
        if r.ceiling is not None
        or not any(k.period >= r.period and k.count <= r.count for k in known)
    ]
    return sorted(kept, key=lambda r: r.period)


def may_ask(rule: Rule, rejections: int, answers: int) -> bool:
    """Whether a bisection step of a burst window may be asked. Told only the quota, the
    period was guessed round from it (ROUND) and is likely the server's own, so a step below
    it is a question the server answers with a 429: asked only while the run's rejected
    attempts, that one included, stay within ASK_SHARE of its answers. A 100-row run that
    found a 20/2s window with two 429s asks none (each would be one more 1 % of its
    attempts). Told a short window too, the period is a guess in steps of WIDEN, bisected
    as it comes (held, a 10/1s window guessed at 2.5 s runs 2.5 times too slow)."""
    return not rule.paced or rejections + 1 <= answers * ASK_SHARE


def round_up(period: float, unit: float) -> float:
    """The least round multiple of `unit` (ROUND) that is at least `period`, else `period`."""
    for m in ROUND:
        if unit * m >= period * (1 - 1e-9):
            return unit * m
    return period


def fmt(seconds: float) -> str:
    return format_period(seconds) if math.isfinite(seconds) else "ever"


def shortest_refusing(periods: Sequence[float]) -> float:
    """The shortest window that may be the one refusing, what an unexplained 429 waits and
    the safety bound's pauses grow from: the shortest in force, or with one window alone
    (the quota told alone), the burst protection not learned yet, 1/900 of it (1 s for
    15 min; a run whose first request met another run's burst waited the whole quota)."""
    return min(periods) if len(periods) > 1 else periods[0] * BURST_GUESS


def past_proven(rules: list[Rule], rtt: float | None, most: int) -> int:
    """How many may fly past a window's proven count, the round trips' median being `rtt`:
    enough to send at twice FASTEST times the longest told window's average rate (the
    fastest burst protection the learner guesses: the slow start is not what holds a run
    below it), at least 2 (one alone turns a burst into a sequence: 50 at 5 ms round trips
    take 0.25 s of a 1 s cycle) and at most `most`. Each one more is one more rejected
    attempt when an unknown window fills: at 0-5 ms, 4 made a 100-row run's first 429 four.
    """
    if rtt is None:
        return most
    longest = max(rules, key=lambda r: r.period)
    rate = FASTEST * (longest.ceiling or longest.count) / longest.period
    return max(2, min(most, math.ceil(2 * rate * rtt)))


def in_flight_bounds(
    rules: list[Rule], proven: Callable[[float], int], probed: int | None, probe_cap: int
) -> tuple[list[int], list[int]]:
    """Per window, the count it is known to take and how many may be in flight past it."""
    counts, caps = [], []
    for i, r in enumerate(rules):
        known = max(1, proven(r.period))
        if i == probed:  # relaxing: one rejected attempt at most
            counts.append(known)
            caps.append(1)
        elif r.ceiling is None:
            # A burst window's count is what its 429 proved went through, not a guess to slow
            # down for (at high latency few acceptances fit inside its period, and its proven
            # count would cap it at a few per round trip).
            counts.append(r.count)
            caps.append(probe_cap)
        elif i < len(rules) - 1 and r.count == r.ceiling:
            # A short window someone told the tool, never lowered: its ceiling is the count
            # to hold. Slowing down for its proven count never ends at a round trip over
            # 1/32 of its period (the slow start caps what can be proven: told 100/2s at
            # 0-100 ms, the run stayed at 4 in flight, 1.32x the limit).
            counts.append(r.count)
            caps.append(probe_cap)
        else:
            counts.append(known)
            # Slow start in proportion while a window grows toward its ceiling; one a 429
            # lowered is at what the server refused, where a few in flight will do.
            lowered = r.count < r.ceiling
            caps.append(probe_cap if lowered else max(probe_cap, known // PROBE_SHARE))
    return counts, caps
