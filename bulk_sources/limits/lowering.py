"""A known window lowered to what it held when a 429 came (docs/ratelimit.md).

The first lowering of a window from what it was told waits for one more 429 with nothing
accepted in between. A single 429 that only such a lowering explains is as well explained by
someone else spending a shorter window: another client of the project, at 30 % of the quota,
left the burst window 94 of its 100, and the young run's one option lowered the 18 s quota
from 1800 to what it had sent, 573 (15x the limit in real time, since a lowered window
creeps back one request per period). Waiting costs one rejected attempt, the probe, when the
lowering is right. The second 429 confirms it only if no widening of the burst window explains
that one better (learn.py).
"""

from __future__ import annotations

from collections.abc import Callable

from .evidence import Entry, Evidence
from .rules import UNLIKELY, Option, Rule, fmt, lowered

__all__ = ["Pending", "first_lowering", "lower_options", "pending_lowering"]

# A lowering waiting for its second 429: the option, the window's index, the first 429's seq.
Pending = tuple[Option, int, int]


def lower_options(
    log: Evidence, x: Entry, rules: list[Rule], copy: Callable[[], list[Rule]]
) -> list[tuple[Option, int]]:
    """Each known window lowered to what it held, with its index. Below its proven count that
    needs another consumer of the budget to explain it, so such an option is weighed down."""
    out = []
    for i, rule in enumerate(rules):
        if rule.ceiling is None:
            continue  # a burst window's count is what went through; it widens instead
        held = log.held(x, rule.period)
        proven = log.proven(rule.period)
        if not 1 <= held < rule.count:
            continue
        option = Option(0.0, "", copy())
        # The 429 proves the count is at most `held` (what the limiter counted, late
        # answers included), the acceptances that it is at least `floor`; between the
        # two the lower keeps 429s rare (a busy machine's late stamps once made it 9 of
        # a real 8, and the next run paid for it), and the creep probes upward.
        floor = max(proven, log.floor(rule.period, x.admit - 2 * rule.period))
        count = min(held, floor) if floor >= 1 else held
        lowered(option.rules[i], count, x.admit)
        option.rules[i].confirmed = held >= proven
        option.rate = count / rule.period
        option.reason = (
            f"429 with {held} sent in the last {fmt(rule.period)} "
            f"(most ever accepted in {fmt(rule.period)}: {proven})"
        )
        if held < proven:
            option.rate *= UNLIKELY
            option.reason += ": another consumer shares the budget"
        out.append((option, i))
    return out


def pending_lowering(
    rules: list[Rule], pending: Pending | None, last_ok: int, copy: Callable[[], list[Rule]]
) -> Option | None:
    """The waiting lowering, applied to the rules in force, if nothing sent after its 429
    was accepted since (`last_ok` is the highest seq accepted): the window still refuses."""
    if pending is None or last_ok >= pending[2]:
        return None
    option, index, _ = pending
    if index >= len(rules) or rules[index].ceiling != option.rules[index].ceiling:
        return None
    current = copy()
    current[index] = Rule(**vars(option.rules[index]))
    return Option(option.rate, option.reason + ", and again", current)


def first_lowering(
    rules: list[Rule], best: Option, lowerings: list[tuple[Option, int]]
) -> int | None:
    """The index of the longest window if `best` would lower it for the first time with a
    burst window in force, someone else's share of which would explain the 429 as well.
    (The longest: the one a young run's proven count says least about, and whose wrong
    lowering costs most, creeping back one request per its period.)"""
    index = next((i for o, i in lowerings if o is best), None)
    if index is None or index != len(rules) - 1:
        return None
    if rules[index].count < (rules[index].ceiling or 0):
        return None
    return index if any(r.ceiling is None for r in rules) else None
