"""The report page's timeline: when each request went, what the windows held, and the waits.

Everything comes from the run folder: the journal's `send` records (wall time, row key,
attempt), its `unit_type` requests and `429` records (each 429 answer, as it came) across
every invocation, and the budget in summary.json (the windows in force and each learned
change). An invocation without `429` records (a journal older than them) is read the old
way: off the executor's rule that a 429 is not one of the row's attempts
(send/executor.py), a row's next send with the *same* attempt number means the earlier
one was answered 429. Any other answer that sends the row again (5xx, no answer, a switch
to an update) counts an attempt, and a refused key ends the invocation.

A wait is a gap between requests long enough to notice, named by what most likely held
the run: a 429 within it or just before, else a window that was full when it began, else
answers and retry backoff. The same rule covers the time before the first request
(reading, listing) and after the last (answers, settling), so the parts add up to the
run's duration.
"""

from __future__ import annotations

import json
import statistics
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ...limits.windows import Window, format_period, parse_window
from .journal import UNIT_TYPE_EVENT, UNIT_TYPE_SENDS

# A gap counts as a wait above this share of the shortest window's period (0.5 s for
# 10 s), and above this many median gaps (so a run paced by its latency shows none).
WAIT_SHARE_OF_SHORT = 0.05
WAIT_MEDIAN_GAPS = 5.0
# A window counts as full when it held this share of its count as the wait began: the
# limiter counts by completion and keeps a drift pad, so the send-time count falls short.
FULL_SHARE = 0.9
# More requests than this are drawn as per-bucket maxima (uPlot copes, the page's size
# would not): peaks, the thing the chart is for, stay exact.
MAX_POINTS = 20_000

BEFORE_FIRST = "before the first request (reading the catalog, listing)"
AFTER_LAST = "after the last request (answers, settling)"
AFTER_429 = "held after a 429"
BACKOFF = "answers and retry backoff"


@dataclass
class Segment:
    """One invocation (submit, then each resume): its sends in time order."""

    start: float
    end: float
    times: list[float] = field(default_factory=list)
    rejected: list[float] = field(default_factory=list)  # 429 answers (journal `429` records)
    inferred: list[float] = field(default_factory=list)  # sends answered 429, by the old rule


@dataclass
class Wait:
    start: float
    end: float
    why: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Lane:
    """One window's chart: requests in the trailing `period` at each request, and the limit."""

    period: float
    counts: list[int]
    limits: list[int | None]

    @property
    def label(self) -> str:
        return format_period(self.period)


@dataclass
class Timeline:
    times: list[float]
    lanes: list[Lane]
    rejected: list[float]
    waits: list[Wait]
    off: list[tuple[float, float]]  # between invocations: nothing ran
    busy: float  # seconds the invocations ran

    def breakdown(self) -> list[tuple[str, float]]:
        """Where the time went, longest first; the rest of `busy` is "sending"."""
        spent: dict[str, float] = {}
        for w in self.waits:
            spent[w.why] = spent.get(w.why, 0.0) + w.seconds
        sending = max(0.0, self.busy - sum(spent.values()))
        return sorted([("sending", sending), *spent.items()], key=lambda kv: -kv[1])

    def to_json(self) -> dict[str, Any]:
        xs, lanes = _thinned(self.times, self.lanes)
        return {
            "x": [round(t, 3) for t in xs],
            "lanes": [
                {"label": lane.label, "period": lane.period, "counts": c, "limits": lim}
                for lane, (c, lim) in zip(self.lanes, lanes, strict=True)
            ],
            "rejected": [round(t, 3) for t in self.rejected],
            "waits": [[round(w.start, 3), round(w.end, 3), w.why] for w in self.waits],
            "off": [[round(a, 3), round(b, 3)] for a, b in self.off],
        }


def read_segments(path: Path) -> list[Segment]:
    """The journal's sends, per invocation; a torn or foreign line is skipped."""
    segments: list[Segment] = []
    last_attempt: dict[str, tuple[int, float]] = {}
    if not path.exists():
        return segments
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
                kind, t = record.get("event"), float(record["t"])
            except (ValueError, TypeError, KeyError, AttributeError):
                continue
            if kind == "start" or not segments:
                segments.append(Segment(t, t))
                last_attempt = {}
            seg = segments[-1]
            seg.end = max(seg.end, t)
            if kind == "429":
                seg.rejected.append(t)
            if kind == UNIT_TYPE_EVENT and record.get("action") in UNIT_TYPE_SENDS:
                seg.times.append(t)  # a unit ID type request: under the same windows
            if kind != "send":
                continue
            key, attempt = str(record.get("key")), record.get("attempt")
            before = last_attempt.get(key)
            if before is not None and before[0] == attempt:
                seg.inferred.append(before[1])
            if isinstance(attempt, int):
                last_attempt[key] = (attempt, t)
            seg.times.append(t)
    for seg in segments:
        seg.times.sort()
        # An invocation that journalled 429s wrote every one; one that did not is either
        # older than the record (the rule finds them) or had none (the rule finds none).
        seg.rejected = sorted(seg.rejected) if seg.rejected else seg.inferred
    return segments


def limit_schedule(budget: dict[str, Any] | None, windows: Sequence[str]) -> LimitSchedule:
    """The windows in force over time: the run's own, then every learned change."""
    budget = budget or {}
    changes = [c for c in budget.get("changes") or [] if isinstance(c, dict)]
    first = changes[0].get("before") if changes else budget.get("in_force")
    steps = [(float("-inf"), _windows(first or windows))]
    steps += [(float(c.get("at", 0.0)), _windows(c.get("after") or [])) for c in changes]
    return LimitSchedule(steps)


@dataclass
class LimitSchedule:
    steps: list[tuple[float, list[Window]]]

    def periods(self) -> list[float]:
        """The windows told (the first step) and those in force at the end (the last): the
        learner's passing hypotheses in between get no chart of their own."""
        return sorted({w.period for w in self.steps[0][1] + self.steps[-1][1]})

    def windows_at(self, t: float) -> list[Window]:
        current: list[Window] = []
        for since, windows in self.steps:
            if since > t:
                break
            current = windows
        return current

    def at(self, t: float, period: float) -> int | None:
        counts = [w.count for w in self.windows_at(t) if w.period == period]
        return min(counts) if counts else None


def _windows(texts: Iterable[Any]) -> list[Window]:
    out = []
    for text in texts:
        try:
            out.append(parse_window(str(text)))
        except UsageError:
            continue
    return out


def build_timeline(segments: list[Segment], schedule: LimitSchedule) -> Timeline:
    times = sorted(t for s in segments for t in s.times)
    periods = schedule.periods()
    lanes = [_lane(times, p, schedule) for p in periods]
    rejected = sorted(t for s in segments for t in s.rejected)
    short = periods[0] if periods else 10.0
    waits = [w for s in segments for w in _waits(s, short, times, schedule)]
    off = [(a.end, b.start) for a, b in pairwise(segments)]
    busy = sum(s.end - s.start for s in segments)
    return Timeline(times, lanes, rejected, waits, off, busy)


def _lane(times: list[float], period: float, schedule: LimitSchedule) -> Lane:
    counts: list[int] = []
    lo = 0
    for i, t in enumerate(times):
        while times[lo] <= t - period:
            lo += 1
        counts.append(i - lo + 1)
    return Lane(period, counts, [schedule.at(t, period) for t in times])


def _waits(seg: Segment, short: float, times: list[float], schedule: LimitSchedule) -> list[Wait]:
    if not seg.times:
        return [Wait(seg.start, seg.end, BEFORE_FIRST)] if seg.end > seg.start else []
    gaps = [b - a for a, b in pairwise(seg.times)]
    median = statistics.median(gaps) if gaps else 0.0
    threshold = max(short * WAIT_SHARE_OF_SHORT, median * WAIT_MEDIAN_GAPS)
    out = []
    if seg.times[0] - seg.start > threshold:
        out.append(Wait(seg.start, seg.times[0], BEFORE_FIRST))
    for a, b in pairwise(seg.times):
        if b - a > threshold:
            out.append(Wait(a, b, _why(a, b, short, seg.rejected, times, schedule)))
    if seg.end - seg.times[-1] > threshold:
        out.append(Wait(seg.times[-1], seg.end, AFTER_LAST))
    return out


def _why(
    t: float,
    end: float,
    short: float,
    rejected: list[float],
    times: list[float],
    schedule: LimitSchedule,
) -> str:
    # A 429 answered within the gap (a `429` record), or sent up to a short period before
    # it began (the old rule's send time).
    if any(t - short <= r < end for r in rejected):
        return AFTER_429
    # The longest full window frees last: it is the one that held the run.
    for w in sorted(schedule.windows_at(t), key=lambda w: -w.period):
        held = bisect_right(times, t) - bisect_right(times, t - w.period)
        if held >= FULL_SHARE * w.count:
            return f"the {format_period(w.period)} window full"
    return BACKOFF


def _thinned(
    times: list[float], lanes: list[Lane]
) -> tuple[list[float], list[tuple[list[int], list[int | None]]]]:
    if len(times) <= MAX_POINTS:
        return times, [(lane.counts, lane.limits) for lane in lanes]
    step = -(-len(times) // MAX_POINTS)
    xs = [times[i] for i in range(0, len(times), step)]
    out = []
    for lane in lanes:
        counts = [max(lane.counts[i : i + step]) for i in range(0, len(times), step)]
        limits = [lane.limits[i] for i in range(0, len(times), step)]
        out.append((counts, limits))
    return xs, out
