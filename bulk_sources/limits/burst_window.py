"""A burst window nobody told us about, shorter than every known one (docs/ratelimit.md).

A 429 that came in a burst shorter than a quarter of every known window is explained by a
window of what that burst got through. Told a short window, its period starts at 1/64 of
the shortest known one and widens 4x on each repeat (never past the tightest span that held
more than its count) until it explains the 429s or merges into a known window. Told only the
quota (the defaults), it starts at 1/900 of it (1 s for 15 min; `Rule.paced`), widens 2.5x,
and its count is what surely fit in the period, raised by the burst's late answers. With
latency the server's arrival times lie anywhere in [send, answer]: the count is what was
known accepted, raised to what was accepted within the period's proven lower bound, so it
is neither inflated by requests that arrived after the refused one (a storm) nor kept below
what went through (a crawl).
"""

from __future__ import annotations

import math

from .evidence import Entry, Evidence
from .hidden_window import STEP, between_options
from .rules import (
    BURST_GUESS,
    BURST_START,
    BURST_WIDEN,
    FASTEST,
    PRECISION,
    UNLIKELY,
    WIDEN,
    Option,
    Rule,
    fmt,
    lowered,
    round_up,
)

__all__ = ["burst_options", "counted_short", "late_answer"]


def burst_options(log: Evidence, x: Entry, rules: list[Rule]) -> list[Option]:
    """Options for a 429 that a burst shorter than every known window explains: a new
    burst window, or the one already guessed widened (or merged into a known one)."""
    known = [r for r in rules if r.ceiling is not None]
    bursts = [r for r in rules if r.ceiling is None]
    if not known:
        return []
    if bursts:
        widened = _widen(log, x, rules, bursts[0], known)
        return [*widened, *_shared(log, x, rules, bursts[0], widened)]
    between = between_options(log, x, _copy(rules))
    shortest = known[0].period
    # Told only a long window (the current page's 15 minutes) and refused far under the
    # count it was told (not the count a 429 lowered it to: a 100/15m project's 20/1s
    # burst, refused at 30, was read as someone else's share of the quota, lowered to 18),
    # a quarter of it, or half of it by more than the precision when the rest are other
    # processes' sends (a run started beside another that had sent 600 of 1800 read its
    # first 429 as the quota lowered to 602, and stalled 16x; the earlier page's 900 of
    # the page's 1800 is the quota's),
    # the guess is 1/900 of it (1 s), the count what went through within the guess:
    # all of a burst sent faster than that, and no more than a guess-long stretch of a
    # steadier stream. Told a short window too, the count is what that window held, and the
    # guess a small share of it.
    held = log.held(x, shortest)
    told = known[0].ceiling or known[0].count
    mine = held - log.held_by_others(x, shortest)
    far = held * WIDEN < told or (mine * WIDEN < told and held * 2 < told * (1 - PRECISION))
    alone = len(known) == 1 and far
    guess = shortest * (BURST_GUESS if alone else BURST_START)
    if alone:
        held = log.held(x, guess)
    if held < 1:
        return between
    span = x.admit - log.recent_stamp(x, held)
    if not math.isfinite(span):
        return between  # one of them is still in flight: its arrival bounds nothing yet
    # Answered after x was sent (answers reorder): it proves no period, only >= 0.
    span = max(0.0, span)
    period = max(guess, span * 1.25)
    if alone:  # nor faster than FASTEST times the long window's average rate, as told
        period = max(period, held * shortest / told / FASTEST)
    if period > shortest / WIDEN or (held < log.proven(period) and not alone):
        # Spread over much of the shortest window: that window explains it better.
        return between
    # Told only a long window, the first guess is also the shortest period assumed: a
    # bisection below it would spend a 429 per step on burst protection faster than any seen.
    floor = guess * (1 - PRECISION) if alone else 0.0
    # held counts requests sent before x that may have arrived after it (latency
    # reorders): the count is what was accepted of them, at least what was proven. Alone,
    # only what surely fit in the period: a stream's stamps overstate it.
    accepted = 0 if alone else log.held_accepted(x, shortest)
    held = max(1, accepted, log.proven(period))
    rule = Rule(held, period, None, lower=max(span, floor), confirmed=True, paced=alone)
    rule.since = x.stamp
    if alone and span < period / WIDEN:
        rule.late = (x.seq, x.admit - span, x.stamp)
    rules = [*_copy(rules), rule]
    rules[-1].relax_at = x.admit + period * (1 if alone else WIDEN)
    reason = f"429 with {held} sent in {fmt(span)}: burst protection of about {held}/{fmt(period)}"
    return [Option(held / period, reason, rules), *between]


def _widen(
    log: Evidence, x: Entry, rules: list[Rule], burst: Rule, known: list[Rule]
) -> list[Option]:
    gap = x.admit - log.recent_stamp(x, burst.count)
    if not math.isfinite(gap):
        return []
    if burst.paced and gap > burst.period * WIDEN:
        # It held far under its count for several of its periods: another window refused.
        return []
    if burst.paced and _held_up(log, burst):
        return []  # another window refused
    # Proven longer than the gap to the count-th latest of everything that may have reached
    # the server before x (sent before x's answer, not only before x: admitted in the same
    # instant after x, one got there first, and the gap to a burst 0.26 s back bisected a
    # 50/200ms window to 0.266 s).
    lower = max(burst.lower, x.admit - log.recent_stamp(x, burst.count, reach=True))
    period = _next_period(burst, lower, known)
    count, upper = _count(log, burst, lower, period)
    if upper <= 0:
        return []  # more than its count went through in one instant: it is not this window
    if upper > lower:
        period = min(period, upper)
    rules = _copy(rules)
    b = next(r for r in rules if r.ceiling is None)
    b.upper, b.count = upper, count
    merged = _merged(log, x, rules, b, lower, period)
    if merged is not None:
        return [merged]
    if upper <= lower:
        # The gap since the burst overstates the period when requests admitted after
        # the refused one reached the server before it; what went through is proof.
        period, lower = upper, upper * (1 - PRECISION)
    if period <= 0:
        return []  # answers out of order left no period the evidence supports
    b.period, b.lower, b.late, b.since = period, lower, None, x.stamp
    b.count = max(burst.count, min(count, int(burst.count * period / (burst.period * 1.25))))
    possible = log.possible(x, period)
    if b.count / 2 <= possible < b.count:
        # Even the widened window held fewer than its count when x was refused: the count,
        # read off a steady stream rather than a burst, was too high. (Far fewer says the
        # period is longer still: the next 429 widens it again.)
        b.count = possible
    if not _fits(log, x, b) and not _refit(log, x, b, burst, known[0]):
        return []  # no widening explains it: a known window (its quota) does
    if b.paced and b.period <= burst.period and b.count >= burst.count:
        # Bounded by what went through, the "widening" is the window in force, which let x
        # go: it explains nothing (another client's share of 100/200ms was read as 99/0.26s
        # widened to itself, three 429s in a row, the safety bound's pauses growing). Told
        # only the quota, the other readings wait for a second 429 or lower the burst
        # window's count; told a short window, the other reading lowers it for good, and a
        # window kept as it is waits better (20/1s under 100/10s: 100/10s lowered to 20).
        return []
    b.relax_at = x.admit + b.period * (1 if b.paced else WIDEN)
    reason = f"429 {fmt(gap)} after the burst: burst window widened to {b.window}"
    return [Option(b.count / b.period, reason, rules)]


def _next_period(burst: Rule, lower: float, known: list[Rule]) -> float:
    """Below every known window the period is anyone's guess: widen fast, from 1/64 of a
    short one by WIDEN, or from 1/900 of a long one alone to the next round period (ROUND)
    at least BURST_WIDEN longer. Between two known ones each wrong guess is one rejected
    attempt: step, and overshoot little."""
    grow = BURST_WIDEN if burst.paced else WIDEN
    grow = STEP if burst.period >= known[0].period else grow
    period = max(burst.period * grow, lower * 1.25)
    return round_up(period, known[-1].period * BURST_GUESS) if burst.paced else period


def _held_up(log: Evidence, burst: Rule) -> bool:
    """Since it was set, the burst window took nearly its count in each of several of its
    periods without a 429: it is right, and a 429 now is another window's (a 100/15m
    project's quota, read as its 20/1s burst window refitted to `97/5.2s`, lost the 20/1s
    window and later read its 429s as someone else's share of the quota: 6.7x, 130 x 429)."""
    taken = log.taken_since(burst.period * WIDEN, burst.since)
    return taken >= burst.count * (WIDEN - 1)


def _merged(
    log: Evidence, x: Entry, rules: list[Rule], b: Rule, lower: float, period: float
) -> Option | None:
    """Widened to a known window's period, the burst window is that window; widened past
    every known one it is the longest, not a burst window longer than the quota. Told only
    the quota, a burst window lasts at most 1/16 of it, as it holds at most 1/16 of its count
    (_refit): a 100/15m project behind a 20/1s burst window was read as `97/5.2s` widened to
    `97/1377s`, and the safety bound's pauses grew with that period (6.7x, 130 x 429)."""
    known = [r for r in rules if r.ceiling is not None]
    longer = [r for r in known if r.period > lower] or known[-1:]
    reach = period * (WIDEN**2 if b.paced else 1.0)
    if not longer or reach < longer[0].period:
        return None
    target = longer[0]
    rules.remove(b)
    # What the window held when x was refused, as proven: not the burst's count alone.
    count = max(b.count, min(log.held(x, target.period), log.proven(target.period)))
    if count < target.count:
        lowered(target, count, x.admit)
        target.confirmed = True
    reason = f"429 again: the burst window of {b.count} is the {fmt(target.period)} one"
    return Option(target.count / target.period, reason, rules)


def late_answer(rules: list[Rule], entry: Entry) -> bool:
    """An acceptance answered after the 429 that counted a tight burst, of a request sent in
    it: the count read then was short by one (latency reorders answers). True if raised."""
    for rule in rules:
        if rule.late is not None:
            seq, since, at = rule.late
            if entry.seq < seq and entry.admit >= since and entry.stamp > at:
                rule.count += 1
                return True
    return False


def counted_short(log: Evidence, rule: Rule) -> bool:
    """More than a paced burst window's count went through within its period's lower bound
    (at least its first guess: burst protection is assumed no shorter): the count was
    short, read while answers of the burst were out, not the period. Raised to what went
    through, it is consistent with the acceptances again, and can be bisected (100/500ms
    read as `99/1980ms`, with 100 accepted within 0.25 s, stayed so all run: 4.3x). Not a
    count lowered for someone else's share: that one is below what went through by design
    (raised back, each next burst drew a 429 and the safety bound's pauses grew: 26x).
    Another run's acceptances count here (`Evidence.tightest`). Sets `rule.upper`: the
    period is at most the tightest span that held more than its count."""
    raised = False
    for _ in range(8):
        if not rule.paced or rule.shared or log.tightest(rule.count + 1, others=True) > rule.lower:
            break
        rule.count = max(rule.count + 1, log.scan_proven(rule.lower))
        raised = True
    rule.upper = min(rule.period, log.tightest(rule.count + 1))
    return raised


def _count(log: Evidence, burst: Rule, lower: float, period: float) -> tuple[int, float]:
    """The widened window's count, and the span its count + 1 went through within."""
    # The period is proven longer than `lower`, so the count is at least what was accepted
    # within `lower` (else it would crawl: the first guess counted only what was known
    # accepted when its 429 came back). But a widening must slow the window down: a count
    # raised in step with its period (read off a steady stream) would keep the rate that
    # drew the 429 and widen without end.
    most = int(burst.count * period / (burst.period * 1.25))
    count = max(burst.count, min(log.scan_proven(lower), most))
    # More than `count` went through within this span: the period is shorter than it.
    upper = log.tightest(count + 1)
    for _ in range(8):
        if not burst.paced or upper > lower:
            break
        # Alone under a long window the period is proven past `lower` (at least the first
        # guess): more than the count went through within it, so the count was short
        # (read while answers were out), not the period.
        count = max(count + 1, log.scan_proven(lower))
        upper = log.tightest(count + 1)
    return count, upper


def _fits(log: Evidence, x: Entry, b: Rule) -> bool:
    """The widened window fits both proofs: what went through (no more than its count
    within its period, else it would crawl) and the 429 (its count could have been in the
    window when x arrived). The count, cut to slow the window down or to fit the 429, may
    leave the period longer than what went through allows: it is shortened to that."""
    upper = log.tightest(b.count + 1)
    if upper < b.period:
        b.period, b.lower = upper, min(b.lower, upper * (1 - PRECISION))
    return b.period > 0 and log.possible(x, b.period) >= b.count


def _refit(log: Evidence, x: Entry, b: Rule, burst: Rule, shortest: Rule) -> bool:
    """When no widening of the guess fits, the shortest longer period whose proven count
    explains x (x's window held more than that count) and is slower than the guess: the
    burst that fit the guess was cut off further on (a client slowed by its own CPU sent
    11 in 25 ms into 50/200ms). Not a window of many bursts: a steady stream's 429 there
    is a known window's (the quota), and reading it as a burst window of 400 in 3 s once
    dropped the 50/200ms one it had learned."""
    period = burst.period
    # Past a sixteenth of the shortest known window it is that window's share, not a burst
    # (in real time 893/8.2s was read under 900/15m scaled, and the run stalled at the quota).
    most = shortest.count / WIDEN**2
    while period < shortest.period / WIDEN:
        period *= 1 + PRECISION
        count = log.scan_proven(period)
        if count > most:
            return False
        # As fast as the guess (within its precision's noise) it would draw the 429 again.
        if count * burst.period * (1 + PRECISION / 4) > burst.count * period:
            continue
        if 1 <= count < log.held(x, period):
            b.count, b.period = count, period
            return True
    return False


def _shared(
    log: Evidence, x: Entry, rules: list[Rule], burst: Rule, widened: list[Option]
) -> list[Option]:
    """The burst window held most of its count, not all, when x was refused: someone else
    spends some of it (another client of the project, evenly at 30 % of the quota, left 94
    of 100 to us after the burst read 95). Its count is lowered by twice the shortfall x
    saw: the other's share varies, and lowered by one sample of it the count drew a 429
    after another, the safety bound's pauses growing (5.1x the limit at 1 ms, 3.5x now).

    Preferred (not weighed down as needing someone else) only when it is the safer reading:
    x came in the window's own period, most of it full, its count-th last send well before
    (a longer period refuses the next burst's first requests, not its last), and the other
    reading is no widening at all or one that raises the count by half again or more, a
    window of several bursts that, once a pause lets it go at once, sends twice what the
    server takes. Without this,
    the young run's only option left lowered the quota to what it had sent (1800 to 386:
    38x the limit in real time)."""
    held = log.held(x, burst.period)
    if not burst.count / 2 <= held < burst.count:
        return []
    rules = _copy(rules)
    b = next(r for r in rules if r.ceiling is None)
    b.count, b.shared = max(burst.count // 2, 2 * held - burst.count), True
    gap = x.admit - log.recent_stamp(x, burst.count)
    counts = [r.count for o in widened for r in o.rules if r.ceiling is None]
    safer = (
        held * WIDEN >= burst.count * (WIDEN - 1)
        and gap > burst.period * (1 + PRECISION)
        # Half as many again or more: several bursts (raised by a few, it is a stream's
        # late answers: 19 to 20 of a 20/2s window read as 20/1s at 0-200 ms).
        and (not widened or any(2 * c >= 3 * burst.count for c in counts))
    )
    rate = held / b.period * (1.0 if safer else UNLIKELY)
    reason = (
        f"429 with {held} sent in {fmt(b.period)}: someone else spends some of the burst window"
    )
    return [Option(rate, reason, rules)]


def _copy(rules: list[Rule]) -> list[Rule]:
    return [Rule(**vars(r)) for r in rules]
