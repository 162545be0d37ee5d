"""Windows learned elsewhere: by an earlier run on this budget (the learner starts from
them), or by another run on it now (it reads our sends as we read its, so what its answers
proved about the server holds for us too)."""

from __future__ import annotations

from collections.abc import Sequence

from .rules import MAX_BACKOFF, PRECISION, WIDEN, Rule
from .windows import Window

__all__ = ["adopted", "started"]


def started(rules: list[Rule], start: Sequence[Window], now: float) -> list[Rule]:
    """Windows an earlier run confirmed: kept, and probed only after many clean periods
    (a run right after must not spend its budget re-learning them). A burst window under
    the quota alone is paced, as it was when learned: a 429 widens it to the next round
    period (a run started 0.3 s after another took its `100/184ms` and widened it to
    736ms, where the other went to 300ms: 2.5x the limit, 1.5x now)."""
    rules = list(rules)
    by_period = {r.period: r for r in rules}
    for w in start:
        rule = by_period.get(w.period)
        if rule is None:
            if w.period >= rules[0].period or any(r.ceiling is None for r in rules):
                continue  # only one burst window, shorter than every known one
            rule = Rule(w.count, w.period, None, lower=w.period / WIDEN * 2, upper=w.period)
            rule.paced = len(rules) == 1  # told the quota alone, as when it was learned
            rules.insert(0, rule)
        rule.count, rule.confirmed = min(rule.count, w.count), True
        rule.backoff = MAX_BACKOFF
        rule.relax_at = now + rule.period * 2**MAX_BACKOFF
    return sorted(rules, key=lambda r: r.period)


def adopted(rules: list[Rule], windows: Sequence[Window], now: float) -> list[Rule] | None:
    """Another run's burst window, when ours is missing or proven to take fewer in the same
    period; None if nothing changes. Only burst protection, which nobody told either run:
    a told window each run lowers on its own evidence (the other's reading of a 429 may be
    someone else's share). Without this a run started 0.3 s after another re-learned the
    burst window from the other's burst in flight, misread it as `35/1.25s`, widened it to
    `96/15s`, and stalled 90x the limit on 20/1s; two started together each kept the count
    its own answers proved, half of it (10/1s and 12/1s for 20/1s: 1.9-2.7x)."""
    known = [r for r in rules if r.ceiling is not None]
    theirs = [w for w in windows if known and w.period < known[0].period]
    if not theirs:
        return None
    w, ours = theirs[0], next((r for r in rules if r.ceiling is None), None)
    if ours is not None:
        if ours.period != w.period or ours.count >= w.count:
            return None
        ours.count, ours.shared = w.count, False  # copies: the caller's rules are its own
        return rules
    alone = len(known) == 1
    rule = Rule(w.count, w.period, None, confirmed=True, paced=alone, since=now)
    rule.lower = w.period * (1 - PRECISION) if alone else w.period / WIDEN
    rule.relax_at = now + w.period
    return sorted([*rules, rule], key=lambda r: r.period)
