"""A window nobody told us about, with a period between two known ones (docs/ratelimit.md).

Told 50/2s + 1800/15m against a project whose real windows are 100/10s + 1800/15m, the third
burst of 50 draws a 429 with fewer than 50 sent in the last 2 s and far fewer than 1800 in
the last 15 min. Lowering either needs someone else spending the budget; a window between
them that holds exactly what went through explains it with nobody else, at a far higher rate.
"""

from __future__ import annotations

from itertools import pairwise

from .evidence import Entry, Evidence
from .rules import WIDEN, Option, Rule, fmt

__all__ = ["between_options"]

# The period is proven longer than the span the 429 ended; the guess is this much longer.
# Each wrong guess costs a rejected attempt or a few and raises the proven floor to itself;
# a guess too long costs up to STEP x the time until bisection (learn.py) refines it.
STEP = 1.6
# Candidates tried per pair of known windows (each one must hold more than the last).
TRIES = 8


def between_options(log: Evidence, x: Entry, rules: list[Rule]) -> list[Option]:
    """For each pair of known windows, the tightest window between them that held what it
    was proven to take when x was refused: count c = what the limiter counted in period P at
    x's admission, P just over the span that held more than the shorter window's proven
    count, and c at least what any period P was ever proven to take."""
    known = [r for r in rules if r.ceiling is not None]
    out = []
    for shorter, longer in pairwise(known):
        floor = log.proven(shorter.period)
        need = floor + 1  # fewer would fit the shorter window
        for _ in range(TRIES):
            span = x.admit - log.recent_stamp(x, need)
            if span > shorter.period * WIDEN:
                # Sent at the shorter window's pace for many of its periods: the longer
                # window, lowered to what it held, explains that (the earlier pages' 900/15m).
                break
            period = max(span * STEP, shorter.period * STEP)
            if period >= longer.period:
                break
            count = log.held(x, period)
            if count >= longer.count:
                break  # as much as the longer window: it explains the 429 itself
            proven = log.scan_proven(period)
            # Less than two of the shorter window's bursts: its shortfall is as well explained
            # by someone else spending a little of that window (learn.py weighs that).
            if count >= max(need, proven, 2 * floor):
                rule = Rule(count, period, None, lower=span, confirmed=True)
                rule.relax_at = x.admit + period * WIDEN
                reason = (
                    f"429 with {count} sent in {fmt(span)} (more than the "
                    f"{fmt(shorter.period)} window was proven to take, far under the "
                    f"{fmt(longer.period)} one): a window of about {rule.window}"
                )
                out.append(Option(count / period, reason, [*rules, rule]))
                break
            need = max(count + 1, proven)
    return out
