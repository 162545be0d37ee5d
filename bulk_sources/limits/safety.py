"""The safety bound: what the run does after a 429, whatever the learner believes.

The learner (learn.py) explains each 429 with a window and schedules the resume for when that
window frees. It can be wrong: with latency, answers come back out of order and the server's
arrival times are only known to lie in [send, answer], so an inference may name the wrong
window or free it too early. Rejected attempts count against the project's quota for
everyone, so a wrong belief must not be able to turn into a 429 storm. This bound is
independent of the learner, in the way TCP's retransmission back-off is independent of its
congestion estimate:

- After a fresh 429 (one of a request admitted after the previous 429 was seen) at most one
  request of ours is in flight: the probe. Only an acceptance of a request admitted *after*
  that 429 lifts it, since an acceptance of one sent before may have arrived before the
  rejected one and proves nothing about the window having freed.
- The lifting is gradual (slow start): each such acceptance allows one more in flight, i.e.
  the allowance doubles per round trip, until it reaches the shortest window's count, where
  the windows themselves are the bound again. A wrong belief then costs at most what the
  allowance had in flight when the next 429 came, never a full burst.
- While 429s continue (no acceptance, or less than the shortest ceiling's period between
  them; each CLEAN_RUN acceptances per rejected attempt between them forgive one), the
  pause grows: on top of the
  learner's resume time, the run holds for full jitter over `base * 2**(streak - 1)` (the
  first 429 trusts the learner alone), `base` being the shortest window in force (the
  burst window most likely to be the one refusing; with the quota alone in force, the
  shortest burst window guessed, 1/900 of it: 1 s for 15 min), capped by `max_wait`.

Every constant is a window's own period or count, so the bound behaves the same at any time
scale.
"""

from __future__ import annotations

import math
import random

from .backoff import full_jitter
from .limiter import MultiWindowLimiter
from .rules import shortest_refusing

__all__ = ["SafetyBound"]

# This many acceptances per rejected attempt (a 429 and its echoes: sent before it, refused
# after) is a rate of rejected attempts at the target's 2 %: learning, not 429s that
# continue, so each such run forgives one 429 of the streak (a learner's relaxing probes,
# one rejected attempt some seconds apart, once paused the run 8 s when told 100/10s).
CLEAN_RUN = 50


class SafetyBound:
    """One per limiter; the learner calls rejected() and accepted() with each answer."""

    def __init__(
        self,
        limiter: MultiWindowLimiter,
        *,
        max_wait: float,
        memory: float,
        rng: random.Random | None = None,
    ) -> None:
        self.limiter = limiter
        self.max_wait = max_wait
        self.memory = memory
        self.last = -math.inf  # when the last fresh 429 came
        self.clean = True  # something was accepted since it
        self.rng = rng if rng is not None else random.Random()
        self.streak = 0  # fresh 429s with no acceptance of a probe between them
        self.since = 0  # acceptances of requests sent after the last fresh 429
        self.echoes = 0  # 429s since then of requests sent before it (the learner counts)
        self.after = math.inf  # requests admitted at or after this seq are probes
        self.pauses: list[float] = []  # each extra pause taken, for reports and tests

    @property
    def engaged(self) -> bool:
        return self.limiter.cap is not None

    def rejected(self, seq: int, now: float) -> float:
        """A fresh 429 of request `seq`: one probe at a time, and a growing pause.
        Returns the extra pause held (seconds, 0 for the first of a streak)."""
        # The streak ends with a clean stretch (something accepted since, and the shortest
        # ceiling's period gone by without a 429), and shrinks by each clean run.
        long_ago = now - self.last > self.limiter.span(self.memory)
        if self.clean:  # a leaky count: each clean run since forgives one 429
            forgiven = self.since // (CLEAN_RUN * (1 + self.echoes))
            self.streak = 0 if long_ago else max(0, self.streak - forgiven)
        self.last, self.clean, self.since, self.echoes = now, False, 0, 0
        self.streak += 1
        self.after = self.limiter.next_seq
        self.limiter.cap = 1
        if self.streak < 3:
            return 0.0
        periods = [w.period for w in self.limiter.windows] or [1.0]
        base = self.limiter.span(shortest_refusing(periods))
        pause = full_jitter(self.streak - 3, base=base, cap=self.max_wait, rng=self.rng)
        self.limiter.hold_until(now + pause)
        self.pauses.append(pause)
        return pause

    def accepted(self, seq: int) -> None:
        """An acceptance: if of a probe sent after the last 429, widen the allowance."""
        self.clean = True
        self.since += seq >= self.after
        cap = self.limiter.cap
        if cap is None or seq < self.after:
            return
        windows = self.limiter.windows
        ceiling = min((w.count for w in windows), default=1)
        self.limiter.cap = None if cap + 1 >= ceiling else cap + 1
