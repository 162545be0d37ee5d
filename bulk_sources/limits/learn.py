"""Learning the project's real budget from its answers (docs/ratelimit.md).

The windows a run is told are ceilings. Every answer is evidence, read off the limiter's own
log (completion-stamped, in-flight counted, rejected attempts included since they count at
the server):
- For a period P, the most requests accepted inside one period P is a proven lower bound on
  that window's count (`proven`).
- A 429 says some window was full when the rejected request arrived. For each window, `held`
  is what the limiter counted when it admitted that request. A window whose `held` is below
  its proven count cannot be the one; of the others, the explanation kept is the one that
  leaves the highest rate (the smallest change). When the 429 came in a burst shorter than
  every known window, a new short window (burst protection) is the most permissive
  hypothesis; it is widened after each repeat until it explains the 429s or merges into a
  known window. A 429 after at least two full bursts of the shortest window, far under the
  longer one, is a window between them (hidden_window.py); burst windows: burst_window.py.
- Learned windows are provisional: after clean periods they creep back toward the ceiling,
  one request at a time, and the limiter lets at most `probe_cap` requests be in flight past a
  window's proven count, so a wrong guess costs at most that many rejected attempts.
The pause after a 429 is when the inferred windows free (the limiter's own schedule);
Retry-After, when sent, is one more floor on it, capped by `max_wait`.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence

from .burst_window import burst_options, counted_short, late_answer
from .elsewhere import adopted, started
from .evidence import Entry, Evidence
from .limiter import MultiWindowLimiter, Slot
from .lowering import Pending, first_lowering, lower_options, pending_lowering
from .rules import (
    BISECT_CLEAN,
    MAX_BACKOFF,
    PRECISION,
    Change,
    Rule,
    fmt,
    in_flight_bounds,
    may_ask,
    past_proven,
    shortest_refusing,
    without_redundant,
)
from .safety import SafetyBound
from .windows import Window

__all__ = ["BudgetLearner", "Change", "Rule"]

# Round trips the in-flight bound past a proven count is read from (their median).
RTTS = 16


class BudgetLearner:
    """Feeds a MultiWindowLimiter the windows the answers support.

    Call accepted(slot) / rejected(slot, retry_after) / unanswered(slot) after each released
    slot, foreign(stamps) for another process's completed sends.
    """

    def __init__(
        self,
        limiter: MultiWindowLimiter,
        ceilings: Sequence[Window],
        *,
        start: Sequence[Window] = (),
        probe_cap: int = 4,
        max_wait: float = 3600.0,
        rng: random.Random | None = None,
    ) -> None:
        self.limiter = limiter
        self.probe_cap = probe_cap
        self.max_wait = max_wait
        self.rules = [Rule(w.count, w.period, w.count) for w in sorted(ceilings)]
        self.changes: list[Change] = []
        self.rejections = 0
        self.fresh_rejections = 0
        self.answers = 0  # own requests answered: a bisection is asked within a share
        self.log = Evidence(limiter)
        self._epoch = 0
        self._probe: tuple[int, Rule, float] | None = None
        self._unexplained = 0
        self._pending: Pending | None = None
        self._last_ok = -1  # the highest seq accepted
        self._rtts: deque[float] = deque(maxlen=RTTS)  # the last answers' round trips
        self.last_accepted: float | None = None
        # Seeded unless told: a test's pauses are then repeatable; a run passes its own.
        self.safety = SafetyBound(
            limiter,
            max_wait=max_wait,
            memory=min(w.period for w in ceilings),
            rng=rng or random.Random(0),
        )
        self.rules = started(self.rules, start, self._now())
        self._apply()

    # -- evidence -----------------------------------------------------------------------

    def accepted(self, slot: Slot) -> None:
        entry = self._record(slot, True)
        if entry is None:
            return
        self.answers += 1
        self.log.note_accepted(entry, [rule.period for rule in self.rules])
        self.last_accepted = entry.stamp
        self._unexplained = 0
        self._last_ok = max(self._last_ok, entry.seq)
        self.safety.accepted(entry.seq)
        self._late(entry)
        self._relax(entry.stamp)
        self._apply()

    def _late(self, entry: Entry) -> None:
        before = self.windows
        if self._probe is None and late_answer(self.rules, entry):
            self._changed(entry.stamp, before, "a late answer of the burst: counted")

    def unanswered(self, slot: Slot) -> None:
        self._record(slot, None)

    def foreign(self, sends: Sequence[tuple[float, float, bool | None]]) -> None:
        """Completed sends of another process on the same budget: (sent, done, accepted)
        in clock time. They fill windows (held), and what they got through proves counts
        as ours does: each arrived in [sent, done] too, read late is all."""
        periods = [rule.period for rule in self.rules]
        for entry in self.log.add_foreign(sends):
            if entry.accepted:
                self.log.note_accepted(entry, periods)

    def adopt(self, windows: Sequence[Window]) -> None:
        """Windows another run on this budget just learned (limits/elsewhere.py)."""
        before, now = self.windows, self._now()
        rules = adopted([Rule(**vars(r)) for r in self.settled()], windows, now)
        if rules is None:
            return
        self.rules, self._probe = rules, None  # a probe being judged is withdrawn
        # A 429 of what was sent before is an echo of the burst the other run learned from
        # (read as a new one, it widened the window just taken: 20/1s to 20/2s, 1.5x).
        self._epoch = self.limiter.next_seq
        self.changes.append(Change(now, before, self.windows, "another run learned it"))
        self._apply()

    def rejected(self, slot: Slot, retry_after: float | None = None) -> float:
        """Learn from a 429 and return when sending may resume (clock time)."""
        entry = self._record(slot, False)
        self.rejections += 1
        self.answers += 1
        now = self._now()
        if retry_after is not None:
            self.limiter.hold_until(now + min(max(0.0, retry_after), self.max_wait))
        if entry is None or entry.seq < self._epoch:
            self.safety.echoes += entry is not None  # an echo: sent before the last 429
            return self.limiter.free_at()
        self.fresh_rejections += 1
        self._epoch = self.limiter.next_seq
        for rule in self.rules:  # a clean period starts again from here
            rule.relax_at = max(rule.relax_at, now + rule.period)
        if not self._revert_probe(entry, now):
            self._explain(entry, now)
        self._apply()
        self.safety.rejected(entry.seq, now)
        return self.limiter.free_at()

    # -- state --------------------------------------------------------------------------

    @property
    def windows(self) -> tuple[Window, ...]:
        return tuple(rule.window for rule in self.rules)

    def proven(self, period: float) -> int:
        """Most requests ever accepted inside one period (a lower bound on its count)."""
        return self.log.proven(period)

    def _record(self, slot: Slot, accepted: bool | None) -> Entry | None:
        entry = self.log.record(slot, accepted)
        if entry is not None and accepted is not None:
            self._rtts.append(entry.stamp - entry.admit)
        if entry is not None:
            self.log.prune(entry.stamp, keep=2 * max(r.period for r in self.rules))
        return entry

    def starved(self, since: float, now: float | None = None) -> bool:
        """True when nothing was accepted for max_wait (counted from `since` at the latest)."""
        now = self._now() if now is None else now
        last = max(since, self.last_accepted or -math.inf)
        return now - last >= self.max_wait

    # -- inference ----------------------------------------------------------------------

    def _explain(self, x: Entry, now: float) -> None:
        lowerings = lower_options(self.log, x, self.rules, self._copy)
        options = [*(o for o, _ in lowerings), *burst_options(self.log, x, self._copy())]
        if self.last_accepted is None:
            options = []  # nothing went through yet: no count to learn, only to wait
        best = max(options, key=lambda o: o.rate, default=None)
        pending, self._pending = self._pending, None
        again = pending_lowering(self.rules, pending, self._last_ok, self._copy)
        # Confirmed, unless the burst window widened explains this 429 (two runs started
        # together: the quota lowered to 95, 49.8x, where `97/200ms` was on offer).
        if again is not None and (best is None or any(o is best for o, _ in lowerings)):
            best = again
        elif (
            best is not None and (first := first_lowering(self.rules, best, lowerings)) is not None
        ):
            self._pending, best = (best, first, x.seq), None  # wait for a second 429
        if best is None:
            # Nothing we sent explains it: someone else holds the budget. Wait the shortest
            # window that may be refusing, doubling while it lasts, up to the longest (no
            # pounding, no fixed pause).
            periods = [r.period for r in self.rules]
            wait = min(shortest_refusing(periods) * 2**self._unexplained, max(periods))
            if wait < max(periods):  # doubling ends at the longest (2**1025 overflows)
                self._unexplained += 1
            self.limiter.hold_until(now + self.limiter.span(wait))
            return
        self._unexplained = 0
        before = self.windows
        self.rules = without_redundant(best.rules)
        self._probe = None
        self.changes.append(Change(now, before, self.windows, best.reason))

    def _revert_probe(self, x: Entry, now: float) -> bool:
        """A 429 where a relaxing step let more through than before: that probe failed,
        however long it was judged (a bisection of 20/2s to 1.846s at 0-200 ms was still
        judged 13 periods on; its 429 read as someone else's share lowered the count)."""
        probe, self._probe = self._probe, None
        if probe is None:
            return False
        index, old, _ = probe
        if index >= len(self.rules):
            return False
        if self.log.held(x, old.period) < old.count:
            return False  # the old window would have let it through too: not the probe
        rule, before = self.rules[index], self.windows
        if rule.ceiling is None:
            rule.lower = max(rule.lower, rule.period)
            rule.period = old.period if rule.count == old.count else rule.period
        bisecting = rule.ceiling is None and rule.count == old.count
        rule.count = min(rule.count, old.count)
        if bisecting:  # a bisection step is bounded by its precision: no backoff
            rule.relax_at = now + rule.period * BISECT_CLEAN
        else:
            rule.backoff = min(rule.backoff + 1, MAX_BACKOFF)
            rule.relax_at = now + rule.period * 2**rule.backoff
        self.changes.append(Change(now, before, self.windows, "429 on a probe: undone"))
        return True

    def _relax(self, now: float) -> None:
        if self._probe is not None:
            index, _, at = self._probe
            if index < len(self.rules):
                rule, old = self.rules[index], self._probe[1]
                # Clean periods alone prove nothing (a run's tail may never fill the window):
                # the probe is kept once the window took what it allows, else still judged.
                # A shorter burst period needs more: more than its count accepted within
                # less than the old period, which the old window would have refused (one
                # burst at the start of a long window fits any shorter period).
                shorter = rule.ceiling is None and rule.period < old.period
                if now - at < rule.period * rule.judged_over:
                    return
                # tightest() scans the log: only for a shorter burst period, once judged.
                tightest = self.log.tightest(rule.count + 1) if shorter else math.inf
                taken = tightest < old.period if shorter else self.proven(rule.period) >= rule.count
                if not taken:
                    return
                if shorter:  # proven at most `tightest`, not the probe's own period
                    rule.period = rule.upper = max(rule.period, tightest)
            self._probe = None  # it went through clean: keep it
        for index, rule in enumerate(self.rules):
            if now < rule.relax_at or self._probe is not None:
                continue
            before, old = self.windows, Rule(**vars(rule))
            # A burst window keeps the count one burst got through (a probe of it is a 429).
            ceiling = rule.ceiling if rule.ceiling is not None else rule.count
            # Bisect between what 429s proved and the lesser of the period in force and
            # what went through proves (clean periods alone prove nothing).
            if rule.ceiling is None and counted_short(self.log, rule):
                self._changed(now, before, "more than its count went through: counted")
            if (
                rule.ceiling is None
                and rule.upper > 0
                and rule.upper - rule.lower > rule.upper * PRECISION
            ):
                if not may_ask(rule, self.rejections, self.answers):
                    rule.relax_at = now + rule.period  # asked again a period on
                    continue
                rule.period = (rule.lower + rule.upper) / 2
                rule.relax_at = now + rule.period * rule.judged_over
                reason = "clean periods: probing a shorter burst window"
            elif rule.count < ceiling:
                rule.count += 1
                rule.relax_at = now + rule.period
                reason = f"clean {fmt(rule.period)}: probing one more"
            else:
                rule.relax_at = math.inf
                continue
            self._probe = (index, old, now)
            self._changed(now, before, reason)

    def _changed(self, now: float, before: tuple[Window, ...], reason: str) -> None:
        last = self.changes[-1] if self.changes else None
        if last is not None and last.reason == reason and reason.startswith(("clean", "a late")):
            before = last.before  # a creep is one change, however many steps
            self.changes.pop()
        self.changes.append(Change(now, before, self.windows, reason))

    # -- helpers ------------------------------------------------------------------------

    def settled(self) -> list[Rule]:
        """The rules in force, with a relaxing probe still being judged shown as what it
        relaxed: a probe is a question to the server, not something learned."""
        rules = list(self.rules)
        if self._probe is not None and self._probe[0] < len(rules):
            rules[self._probe[0]] = self._probe[1]
        return rules

    @property
    def probing(self) -> Window | None:
        """The window a relaxing probe is trying, while it is being judged."""
        if self._probe is None or self._probe[0] >= len(self.rules):
            return None
        return self.rules[self._probe[0]].window

    def remembered(self) -> tuple[Window, ...]:
        """The learned windows worth starting the next run from (a probe still being judged
        is not one of them)."""
        return tuple(r.window for r in self.settled() if r.confirmed)

    def _apply(self) -> None:
        probed = self._probe[0] if self._probe is not None else None
        rtt = sorted(self._rtts)[len(self._rtts) // 2] if self._rtts else None
        flying = past_proven(self.rules, rtt, self.probe_cap)
        proven, caps = in_flight_bounds(self.rules, self.proven, probed, flying)
        guard = self._probe[1].window if self._probe is not None else None
        self.limiter.set_windows(self.windows, proven=proven, caps=caps, guard=guard)

    def _copy(self) -> list[Rule]:
        return [Rule(**vars(r)) for r in self.rules]

    def _now(self) -> float:
        return self.limiter._now()
