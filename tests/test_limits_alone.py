"""The defaults on the virtual clock: told only the page's 1,800 per 15 min, the learner finds
burst protection it is not told (issue 16), at loopback and with latency that reorders."""

from __future__ import annotations

import asyncio

import pytest
from budget_sim import Outcome, limit, simulate
from virtual_clock import most_in_window, run

from bulk_sources.limits.learn import BudgetLearner
from bulk_sources.limits.limiter import MultiWindowLimiter
from bulk_sources.limits.windows import DEFAULT_WINDOWS, Window

QUOTA = list(DEFAULT_WINDOWS)


def settled(out: Outcome) -> list[Window]:
    assert out.learner is not None
    return [r.window for r in out.learner.settled()]


def check(out: Outcome, server: list[Window], n: int, *, latency: bool = False) -> float:
    """Every row went and (with no latency, where answer times are arrival times) no
    server window broke; returns time / the exact schedule."""
    assert len(out.accepted_at) == n
    for w in server if not latency else []:
        assert most_in_window(out.accepted_at, w.period) <= w.count
    return out.finished / limit(n, server)


def test_the_defaults_are_the_pages_quota_alone() -> None:
    assert [Window(1800, 900.0)] == QUOTA


@pytest.mark.parametrize("count", [10, 20, 50])
def test_a_one_second_burst_window_costs_one_429_at_loopback(count: int) -> None:
    server = [Window(count, 1.0), *QUOTA]
    out = simulate(server, QUOTA, 300)
    assert check(out, server, 300) == pytest.approx(1.0, abs=0.01)
    assert out.rejected == 1
    assert settled(out)[0] == Window(count, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("count", [10, 20, 50])
def test_burst_protection_through_latency_and_reordering(count: int, seed: int) -> None:
    # 0-50 ms each way: answers come back out of order. Before, told the quota alone, the
    # first guess was 1/64 of 15 min (14 s) and the count all of the run so far: 20/1s was
    # learned as 37/14s, then widened to 42/15s, and 300 rows took 7.5x the limit.
    server = [Window(count, 1.0), *QUOTA]
    out = simulate(server, QUOTA, 300, jitter=(0.05, 0.05), seed=seed)
    assert check(out, server, 300, latency=True) <= 1.35
    assert out.rejected <= 6  # 2 % of 300
    burst = settled(out)[0]
    assert 0.9 * count <= burst.count <= count
    assert 1.0 <= burst.period <= 1.25
    assert settled(out)[1:] == QUOTA  # the quota is not lowered: no crawl


def test_a_two_second_burst_window_is_widened_to_a_round_period() -> None:
    server = [Window(20, 2.0), *QUOTA]
    out = simulate(server, QUOTA, 300)
    # 1 s, then 2.5 s bisected down to 2.125 s: 7 x 429 (2.3 %), 1.26x. Widened to the next
    # round period, 2 s, and its bisection asked only from the 429s' share: 4 x 429, 1.06x.
    assert check(out, server, 300) <= 1.1
    assert out.rejected <= 4
    burst = settled(out)[0]
    assert burst.count == 20 and 2.0 <= burst.period <= 2.0 * (1 + 1 / 8)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("jitter", [0.005, 0.05])
def test_a_100_row_run_finds_a_two_second_window_without_questions(
    seed: int, jitter: float
) -> None:
    # The matrix's 20/2s cells at 100 rows: the guess widened 2.5x to 2.5 s, and each
    # bisection step below it, a question the server answers with a 429 when the period
    # was right, was one more 1 % of the run's attempts: 4-6 x 429 and 1.43-1.48x.
    server = [Window(20, 2.0), *QUOTA]
    out = simulate(server, QUOTA, 100, jitter=(jitter, jitter), seed=seed)
    assert check(out, server, 100, latency=True) <= 1.2
    # 3: the 429 that found it, the one that widened it, and one in flight with them (5
    # at 0-50 ms when two were).
    assert out.rejected <= (3 if jitter < 0.05 else 5)
    assert settled(out)[0] == Window(20, 2.0)


def test_a_period_that_is_not_round_is_still_bisected_once_the_run_can_pay() -> None:
    # 20/1.5s: guessed 1 s, widened to the round 2 s, and bisected once the run's 429s,
    # the question's included, are within 1/64 of its answers (from ~320 answers on). A
    # share that never let it ask would keep 2 s: 1.33x the limit to the end.
    server = [Window(20, 1.5), *QUOTA]
    out = simulate(server, QUOTA, 1200, jitter=(0.005, 0.005))
    assert check(out, server, 1200, latency=True) <= 1.1
    assert out.rejected <= 6
    burst = settled(out)[0]
    assert burst.count == 20 and 1.5 <= burst.period <= 1.5 * (1 + 1 / 8)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_steady_stream_at_high_latency_does_not_overcount_the_burst(seed: int) -> None:
    # 0-200 ms each way: the tool's slow start runs near 20/s, so the first 429 meets a
    # stream, not a burst. Counting all of its stamps in the period learned 24/1.1s, and
    # widening with the count raised in step ran to 263/39 min: 399x the limit, 82 x 429.
    server = [Window(20, 1.0), *QUOTA]
    out = simulate(server, QUOTA, 300, jitter=(0.2, 0.2), seed=seed)
    assert check(out, server, 300, latency=True) <= 1.75
    assert out.rejected <= 6
    assert settled(out)[0].count <= 20


def test_the_stand_ins_ten_second_window_is_learned_and_remembered() -> None:
    server = [Window(100, 10.0), *QUOTA]
    out = simulate(server, QUOTA, 1200)
    # 2 s, 5 s, 12.5 s, then bisected: 9 x 429 and 1.43x the first time, told nothing.
    assert check(out, server, 1200) <= 1.5
    assert out.rejected <= 10
    assert out.learner is not None
    remembered = out.learner.remembered()
    assert remembered[0].count == 100 and 10.0 <= remembered[0].period <= 10.0 * (1 + 1 / 8)
    again = simulate(server, QUOTA, 1200, start=remembered)
    assert again.rejected == 0
    assert check(again, server, 1200) <= 1.07


def test_a_stricter_project_told_only_the_quota() -> None:
    # x0.02: 50/200ms + 450/18s against a tool told 1800/18s. Before: the burst of 50 was
    # read as the 18 s window's count (50/18s), 11.2x the limit.
    server = [Window(50, 0.2), Window(450, 18.0)]
    told = [Window(1800, 18.0)]
    out = simulate(server, told, 1200, latency=0.002)
    assert check(out, server, 1200) <= 1.1
    assert out.rejected <= 30  # 2.4 %
    learned = settled(out)
    assert learned[0].count == 50 and 0.2 <= learned[0].period <= 0.2 * (1 + 1 / 8)
    assert 400 <= learned[1].count <= 450 and learned[1].period == 18.0
    assert out.learner is not None
    again = simulate(server, told, 1200, latency=0.002, start=out.learner.remembered())
    assert again.rejected == 0


@pytest.mark.parametrize(("jitter", "seed"), [(0.001, 0), (0.001, 1), (0.005, 0), (0.005, 1)])
def test_a_stricter_project_through_jitter(jitter: float, seed: int) -> None:
    # The same project with arrivals jittered: a 429 of the 450/18s quota once read as the
    # burst window widening (50/0.22s to 91/0.84s, a count that 200 acceptances within
    # 0.88 s contradict); its 429s then lowered the 18 s window to 63: 29.8x the limit.
    server = [Window(50, 0.2), Window(450, 18.0)]
    told = [Window(1800, 18.0)]
    out = simulate(server, told, 1200, jitter=(jitter, jitter), seed=seed)
    assert check(out, server, 1200, latency=True) <= 1.1
    assert out.rejected <= 30  # 2.4 %
    learned = settled(out)
    # A quota 429 that finds the burst window 3/4 full reads as someone else's share of it
    # (seed 0 at 1 ms: 42): one 429, and a burst count short while the quota binds anyway.
    assert 50 * 3 / 4 <= learned[0].count <= 50 and 400 <= learned[-1].count <= 450


@pytest.mark.parametrize("seed", [0, 1])
def test_a_stricter_project_from_a_client_slowed_by_its_own_cpu(seed: int) -> None:
    # 2 ms of the client's own work per request on its one event loop: the first burst
    # goes out at ~440/s, so 11 in 25 ms drew the 429 of 50/200ms, and the widened guesses
    # read as the 18 s window's count (50/18s): 11.2x the limit. (Its 429s are still 2.7 %.)
    server = [Window(50, 0.2), Window(450, 18.0)]
    out = simulate(server, [Window(1800, 18.0)], 1200, jitter=(0.001, 0.001), seed=seed, cpu=0.002)
    assert check(out, server, 1200, latency=True) <= 1.25
    assert out.rejected <= 40
    learned = settled(out)
    assert learned[0].count == 50 and 400 <= learned[-1].count <= 450


@pytest.mark.parametrize("jitter", [0.001, 0.005])
@pytest.mark.parametrize("seed", [0, 1, 4, 6])
def test_another_client_spending_some_of_the_burst_window(seed: int, jitter: float) -> None:
    # x0.02: the stand-in's 100/200ms + 1800/18s, another client of the project sending 30 %
    # of the quota evenly. The burst read 95 of ours where 94 fit; the 429s of the shortfall
    # were read as the 18 s window (1800 lowered to 386, then 93) or as a window of several
    # bursts (99/0.26s widened to 193/0.66s): 46-74x the limit, 51-65 x 429. Later, at 5 ms,
    # a burst period stuck short of 0.2 s and the safety bound's pauses grew: 16x, 29x.
    # Over seeds 0-11 the median was then 2.0x (1.6x when a 429's freed slot carried one
    # more request, a free second probe the bound does not allow), the worst 5.3x: the
    # count lowered by the shortfall one 429 saw, several 429s in a row. Lowered by twice
    # that (someone else's share varies), 1.7x and 3.5x at the worst.
    server = [Window(100, 0.2), Window(1800, 18.0)]
    told = [Window(1800, 18.0)]
    other = (18 / 540, 1e9)
    out = simulate(server, told, 1200, jitter=(jitter, jitter), seed=seed, other=other)
    assert len(out.accepted_at) == 1200
    ours = [Window(94, 0.2), Window(1260, 18.0)]  # what the other client leaves
    assert out.finished / limit(1200, ours) <= 4.0
    assert out.rejected <= 0.02 * 1200
    learned = settled(out)
    assert 80 <= learned[0].count <= 95 and learned[-1] == told[0]  # the quota kept


def test_the_quota_is_lowered_only_by_a_second_429_with_nothing_accepted_between() -> None:
    """A burst window in force, a 429 that only the 18 s quota lowered to what the young run
    sent explains (33 of 1800) waits: someone else spending the burst window explains it
    as well, and a lowered quota creeps back one request per 18 s (real time, another
    client at 30 %: 1800 lowered to 573, 15x the limit). It is lowered once a second 429
    comes with nothing sent after the first accepted in between."""
    told = [Window(1800, 18.0)]

    async def main() -> tuple[BudgetLearner, list[tuple[Window, ...]]]:
        limiter = MultiWindowLimiter(told)
        learner = BudgetLearner(limiter, told)
        seen = []

        async def answer(ok: bool, delay: float = 0.005) -> None:
            slot = await limiter.acquire()
            await asyncio.sleep(delay)
            slot.release()
            (learner.accepted if ok else learner.rejected)(slot)

        for _ in range(30):
            await answer(True, 0.0002)
        await answer(False)  # the burst window: 30/20ms
        await asyncio.sleep(1.0)
        await answer(False)
        seen.append(learner.windows)
        await answer(True)
        await answer(False)  # something went through since: it waits again
        seen.append(learner.windows)
        await answer(False)
        seen.append(learner.windows)
        return learner, seen

    learner, seen = run(main())
    assert seen[0] == seen[1] == (Window(30, 0.02), told[0])
    assert seen[2] == (Window(30, 0.02), Window(33, 18.0))
    assert learner.changes[-1].reason.endswith(", and again")


def test_a_slow_start_stream_is_not_read_as_someone_elses_share() -> None:
    # 20/2s at 0-200 ms each way, from a client slowed by 10 ms of its own work per request:
    # the slow start spreads the sends, the 1 s guess holds 15 of its 19 at the next 429,
    # and a widening raised the count by one (a late answer). Read as someone else's share,
    # the count went 19, 15, 12 before the period widened: 13 x 429 for 8 (in real time too).
    server = [Window(20, 2.0), *QUOTA]
    out = simulate(server, QUOTA, 300, jitter=(0.2, 0.2), seed=0, cpu=0.01)
    assert not any("someone else spends" in c for c in out.changes)
    assert out.rejected <= 9
    assert check(out, server, 300, latency=True) <= 1.55


def test_a_late_answer_of_the_burst_raises_its_count() -> None:
    """Ten go out at once and an eleventh is refused; two of the ten are answered after the
    429. The count read at the 429 is 8; the late acceptances make it 10 (the real-time
    cell 10/1s at 0-5 ms ran at 8/1s, 1.29x the limit, before)."""

    async def main() -> BudgetLearner:
        limiter = MultiWindowLimiter(QUOTA)
        learner = BudgetLearner(limiter, QUOTA, probe_cap=16)  # all eleven in flight
        burst = [await limiter.acquire() for _ in range(10)]
        refused = await limiter.acquire()
        await asyncio.sleep(0.004)
        for slot in burst[:8]:
            slot.release()
            learner.accepted(slot)
        await asyncio.sleep(0.001)
        refused.release()
        learner.rejected(refused)
        assert learner.windows[0].count == 8
        await asyncio.sleep(0.003)
        for slot in burst[8:]:
            slot.release()
            learner.accepted(slot)
        return learner

    learner = run(main())
    assert learner.windows[0] == Window(10, 1.0)
    assert learner.changes[-1].reason == "a late answer of the burst: counted"
    assert [str(w) for w in learner.changes[-1].before] == ["8/1s", "1800/15m"]


@pytest.mark.parametrize(("jitter", "seed"), [(0.005, 0), (0.005, 1), (0.05, 2), (0.2, 1)])
def test_a_project_whose_quota_is_far_below_the_pages(jitter: float, seed: int) -> None:
    # 100 per 15 min behind a 20/1s burst window, told the page's 1800/15m. The quota's 429
    # (100 sent in 5 s) was read as the 20/1s window refitted to 97/5.2s, widened past the
    # quota (97/1377s), and once the quota was lowered, the lost 20/1s window's 429s as
    # someone else's share of it (lowered to 18-30/15m): 3.8-6.8x, 96-139 x 429 for 300 rows.
    server = [Window(20, 1.0), Window(100, 900.0)]
    out = simulate(server, QUOTA, 300, jitter=(jitter, jitter), seed=seed)
    assert len(out.accepted_at) == 300
    # A rejected attempt takes a place in the quota for 15 minutes too, so the first 429
    # that finds the quota costs a cycle of it: one more at the most.
    assert out.finished <= limit(300, server) + 900 * 1.01
    assert out.rejected <= 20
    learned = settled(out)
    assert learned[0].period < 2.0 and 90 <= learned[-1].count <= 100


@pytest.mark.parametrize("seed", [0, 3])
def test_a_burst_guess_after_the_quota_was_lowered_keeps_the_told_rate(seed: int) -> None:
    # The same project at 0-200 ms: the burst window merged into the lowered quota (99/15m),
    # the next cycle's 99 sent at once drew the 20/1s window's 429, and the guess took its
    # period from the lowered quota's average rate (99 at 25x 0.11/s: 36 s), a window of
    # 99 the quota made redundant, five cycles in a row: 3.3x and 4.6x, 50-78 x 429.
    server = [Window(20, 1.0), Window(100, 900.0)]
    out = simulate(server, QUOTA, 300, jitter=(0.2, 0.2), seed=seed)
    assert len(out.accepted_at) == 300
    assert out.finished <= 2.2 * limit(300, server)
    assert out.rejected <= 30


@pytest.mark.parametrize("count", [10, 20, 50])
def test_a_100_row_run_at_loopback_keeps_its_429s_to_two_percent(count: int) -> None:
    # At 0-5 ms each way, 4 in flight past the proven count made the burst window's first
    # 429 four of 104 attempts (10/1s and 50/1s). Twice the fastest guessed burst rate (50/s
    # under 1800/15m) at 5 ms round trips needs 2 in flight: the first 429 and one more.
    server = [Window(count, 1.0), *QUOTA]
    out = simulate(server, QUOTA, 100, jitter=(0.005, 0.005), seed=0)
    assert out.rejected <= 2
    assert check(out, server, 100, latency=True) <= 1.25


def test_a_burst_count_read_short_is_raised_by_what_went_through() -> None:
    """100/500ms, told the quota alone, 0-5 ms each way: one request admitted after the
    refused one reached the server before it, so the first 429 read 99 (`99/1980ms`, the
    period at the fastest burst rate guessed). Then 100 went through within 0.25 s, which a
    99-count window of 1.98 s (or of any period past the first guess) refuses: the count
    was short. Not raised, no bisection could start either, and the run stayed at half the
    rate or less (4.3x); raised, the period is bisected toward the server's."""
    server = [Window(100, 0.5), *QUOTA]
    out = simulate(server, QUOTA, 1200, jitter=(0.005, 0.005))
    assert len(out.accepted_at) == 1200
    assert out.rejected <= 0.02 * 1200
    assert any("more than its count went through" in c for c in out.changes)
    burst = settled(out)[0]
    assert burst.count == 100 and burst.period < 1.98
    assert out.finished / limit(1200, server) < 2.5
