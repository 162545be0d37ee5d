"""The learner's evidence: the limiter's log with each request's fate, and what it proves.

Each entry is one request as the limiter saw it: admission order, admission time, completion
stamp, and whether the server accepted it (None: no answer, or another process's send).
`held` is what the limiter counted in a window when it admitted a request; `proven` is the
most requests ever accepted inside one period (all their arrivals fit in it: each was
admitted after the period's start and answered before its end).
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from .limiter import MultiWindowLimiter, Slot

__all__ = ["Entry", "Evidence"]


def _admit(entry: Entry) -> float:
    return entry.admit


def _stamp(entry: Entry) -> float:
    return entry.stamp


@dataclass(frozen=True)
class Entry:
    seq: int  # admission order; -1 for another process's send
    admit: float
    stamp: float
    accepted: bool | None  # None: no answer (it may or may not have counted)


class Evidence:
    def __init__(self, limiter: MultiWindowLimiter) -> None:
        self.limiter = limiter
        self.entries: list[Entry] = []
        self._accepted_admits: list[float] = []
        self._proven: dict[float, int] = {}

    def record(self, slot: Slot, accepted: bool | None) -> Entry | None:
        if slot.stamp is None:
            return None  # cancelled: never sent
        entry = Entry(slot.seq, slot.admitted_at, slot.stamp, accepted)
        self.entries.append(entry)
        return entry

    def add_foreign(self, sends: Sequence[tuple[float, float, bool | None]]) -> list[Entry]:
        """Another process's (sent, done, accepted): counted before anything of ours."""
        added = [Entry(-1, sent, done, ok) for sent, done, ok in sends]
        self.entries.extend(added)
        self.entries.sort(key=lambda e: e.stamp)
        return added

    def prune(self, now: float, keep: float) -> None:
        """Forget what is older than `keep` (rarely: only once twice that has piled up)."""
        entries = self.entries
        if entries and entries[0].stamp < now - 2 * keep:
            self.entries = [e for e in entries if e.stamp >= now - keep]
            self._accepted_admits = [a for a in self._accepted_admits if a >= now - keep]

    def note_accepted(self, entry: Entry, periods: Sequence[float]) -> None:
        insort(self._accepted_admits, entry.admit)
        acc = self._accepted_admits
        for period in periods:
            held = len(acc) - bisect_right(acc, entry.stamp - period)
            self._proven[period] = max(self.proven(period), held)

    def proven(self, period: float) -> int:
        if period not in self._proven:
            self._proven[period] = self._scan_proven(period)
        return self._proven[period]

    def scan_proven(self, period: float) -> int:
        """proven(period) from the log, not cached (for a period no rule watches yet)."""
        return self._scan_proven(period)

    def taken_since(self, period: float, since: float) -> int:
        """The most of our own requests admitted at or after `since` that were accepted
        inside one period (another process's answers come late: no proof of a window)."""
        return self._scan_proven(period, since, own=True)

    def _scan_proven(self, period: float, since: float = -math.inf, own: bool = False) -> int:
        best, admits = 0, list[float]()
        for e in self.entries:
            if e.accepted and e.admit >= since and (e.seq >= 0 or not own):
                insort(admits, e.admit)
                best = max(best, len(admits) - bisect_right(admits, e.stamp - period))
        return best

    def floor(self, period: float, since: float) -> int:
        """The least count a window of `period` can have, from acceptances answered since
        `since`: one accepted request y proves the window took more than every request that
        surely reached the server in its window before y (answered before y was sent, sent
        after y's answer less the period), refused ones included, since the server counts
        those too. Unlike `proven` this counts the rejected attempts that fill a window."""
        known = sorted((e for e in self.entries if e.accepted is not None), key=_stamp)
        stamps = [e.stamp for e in known]
        rtt = max((e.stamp - e.admit for e in known), default=0.0)
        best = 0
        for y in known:
            if not y.accepted or y.stamp < since:
                continue
            lo = y.stamp - period
            i, j = bisect_right(stamps, lo), bisect_right(stamps, y.admit)
            # Only a request still in flight at `lo` was sent before it: within one rtt.
            early, k = 0, i
            while k < j and stamps[k] <= lo + rtt:
                early += known[k].admit <= lo
                k += 1
            best = max(best, j - i - early + 1)
        return best

    def tightest(self, k: int, *, others: bool = False) -> float:
        """The shortest span that held k of our accepted requests (inf if fewer): a window
        of that period with a count below k would have refused one of them. A proof, from
        admissions (before arrival) and stamps (after it). With `others`, another run's
        acceptances on this budget too: as sure a proof, but only for raising a count read
        short (two runs that each counted only their own read half of 20/1s each); one that
        shortens a period instead turned two runs' 100/200ms into `80/0.1619s`, faster than
        the server in back-to-back bursts, and stalled 10.9x."""
        accepted = sorted(
            (e for e in self.entries if e.accepted and (others or e.seq >= 0)), key=_admit
        )
        best, latest = math.inf, deque[int]()  # indices of the group's stamps, largest first
        for j, entry in enumerate(accepted):
            while latest and accepted[latest[-1]].stamp <= entry.stamp:
                latest.pop()
            latest.append(j)
            first = j - k + 1
            if first < 0:
                continue
            while latest[0] < first:
                latest.popleft()
            best = min(best, accepted[latest[0]].stamp - accepted[first].admit)
        return best

    def before(self, x: Entry, *, reach: bool = False) -> list[float]:
        """Stamps of what was admitted before x (in flight then: +inf), newest first; with
        `reach`, of everything that may have reached the server before x (admitted before
        x's answer)."""
        if reach:
            stamps = [e.stamp for e in self.entries if e.admit < x.stamp and e is not x]
            opened = sum(s.admitted_at < x.stamp for s in self.limiter.open_slots())
        else:
            stamps = [e.stamp for e in self.entries if e.seq < x.seq and e is not x]
            opened = sum(s.seq < x.seq for s in self.limiter.open_slots())
        return sorted([*stamps, *[math.inf] * opened], reverse=True)

    def held(self, x: Entry, period: float) -> int:
        """What the limiter counted in the window when it admitted x."""
        edge = x.admit - self.limiter.span(period)
        return sum(1 for s in self.before(x) if s > edge)

    def held_by_others(self, x: Entry, period: float) -> int:
        """Of what held counts, other processes' sends (answered)."""
        edge = x.admit - self.limiter.span(period)
        return sum(1 for e in self.entries if e.seq < 0 and e.stamp > edge)

    def possible(self, x: Entry, period: float) -> int:
        """Requests that may have reached the server in the window of `period` before x:
        sent before x's answer, answered (or not yet) after x's send less the period. A 429
        of x from a window of that period proves its count is at most this."""
        edge = x.admit - self.limiter.span(period)
        done = sum(1 for e in self.entries if e is not x and e.admit < x.stamp and e.stamp > edge)
        return done + sum(s.admitted_at < x.stamp for s in self.limiter.open_slots())

    def held_accepted(self, x: Entry, period: float) -> int:
        """Of what held counts, the requests known accepted: those could have arrived before
        x, while a rejected one arrived when the window was already full and one still in
        flight is unknown. With arrivals anywhere in [send, answer] this is the count that
        holds for every order of arrival (fewer is the side of rare 429s)."""
        edge = x.admit - self.limiter.span(period)
        before = (e for e in self.entries if e.seq < x.seq and e is not x)
        return sum(1 for e in before if e.accepted and e.stamp > edge)

    def recent_stamp(self, x: Entry, k: int, *, reach: bool = False) -> float:
        """Stamp of the k-th newest entry before x (-inf if there are fewer)."""
        before = self.before(x, reach=reach)
        return before[k - 1] if 1 <= k <= len(before) else -math.inf
