"""MultiWindowLimiter on a virtual clock: exact admission times, in-flight slots, fairness."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Sequence

import pytest
from aiolimiter import AsyncLimiter
from virtual_clock import (
    VirtualClockStalled,
    most_in_window,
    most_overlapping,
    run,
    sleep_until,
    virtual_clock,
)

from bulk_sources.limits.limiter import MultiWindowLimiter, Slot
from bulk_sources.limits.windows import DEFAULT_WINDOWS, EARLIER_WINDOWS, Window, exact_schedule

EPS = 1e-9


def now() -> float:
    return asyncio.get_running_loop().time()


def padded(windows: Sequence[Window], margin: float) -> list[Window]:
    return [Window(w.count, w.period + margin) for w in windows]


async def drive(
    limiter: MultiWindowLimiter, requests: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Each (start, latency): acquire at start, release after latency; (sent, released)."""

    async def one(start: float, latency: float) -> tuple[float, float]:
        await sleep_until(start)
        async with limiter.slot() as slot:
            sent = now()  # later than slot.admitted_at only while spacing paces it
            await asyncio.sleep(latency)
        assert slot.stamp is not None
        return sent, slot.stamp

    return list(await asyncio.gather(*(one(s, lat) for s, lat in requests)))


async def admit_all(limiter: MultiWindowLimiter, n: int) -> list[float]:
    return [a for a, _ in await drive(limiter, [(0.0, 0.0)] * n)]


@pytest.mark.parametrize("margin", [0.0, 0.05])
def test_zero_latency_admissions_are_the_exact_schedule(margin: float) -> None:
    windows = [Window(3, 1.0), Window(5, 10.0)]
    times = run(admit_all(MultiWindowLimiter(windows, margin=margin, drift=0.0), 10))
    assert times == exact_schedule(10, padded(windows, margin))
    m = margin
    expected = [0, 0, 0, 1 + m, 1 + m, 10 + m, 10 + m, 10 + m, 11 + 2 * m, 11 + 2 * m]
    assert times == pytest.approx(expected, abs=EPS)


def test_schedule_floor_for_the_earlier_windows() -> None:
    """The schedule's floor: 10000 requests under 100/10s + 900/15m finish at 9900 s."""

    async def main() -> list[float]:
        limiter = MultiWindowLimiter(EARLIER_WINDOWS, margin=0.0, drift=0.0)
        jobs = iter(range(10_000))
        times: list[float] = []

        async def worker() -> None:
            for _ in jobs:
                async with limiter.slot() as slot:
                    times.append(slot.admitted_at)

        await asyncio.gather(*(worker() for _ in range(50)))
        return times

    times = run(main())
    assert times == exact_schedule(10_000, EARLIER_WINDOWS)
    assert [times[n - 1] for n in (500, 900, 1000, 5000, 10_000)] == [40, 80, 900, 4540, 9900]


def test_in_flight_request_holds_its_slot_until_its_completion_stamp_expires() -> None:
    async def main() -> tuple[float, float]:
        limiter = MultiWindowLimiter([Window(1, 1.0)], margin=0.05, drift=0.0)
        slow = await limiter.acquire()
        later = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(5.0)
        assert limiter.in_flight == 1 and not later.done()
        slow.release()
        slot = await later
        return slow.stamp or -1.0, slot.admitted_at

    stamp, admitted = run(main())
    assert stamp == 5.0
    assert admitted == 6.05


def test_in_flight_slots_count_in_every_window() -> None:
    async def main() -> list[float]:
        limiter = MultiWindowLimiter([Window(2, 1.0)], margin=0.0, drift=0.0)
        held = await limiter.acquire()  # stays in flight for the whole test
        times = await admit_all(limiter, 4)
        held.release()
        return times

    assert run(main()) == [0.0, 1.0, 2.0, 3.0]


def test_cancel_frees_the_slot_without_a_stamp() -> None:
    async def main() -> None:
        limiter = MultiWindowLimiter([Window(1, 10.0)], margin=0.0, drift=0.0)
        first = await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(2.0)
        first.cancel()
        first.release()  # no effect after cancel
        second = await waiter
        assert second.admitted_at == 2.0
        assert first.cancelled and first.stamp is None
        second.release()
        second.release()
        second.cancel()
        assert (second.stamp, second.cancelled) == (2.0, False)
        assert limiter.stamps() == [2.0]
        assert limiter.in_flight == 0

    run(main())


def test_waiters_are_served_first_come_first_served() -> None:
    async def main() -> None:
        limiter = MultiWindowLimiter([Window(1, 1.0)], margin=0.0, drift=0.0)
        order: list[int] = []

        async def one(i: int) -> float:
            await sleep_until(i * 0.01)
            async with limiter.slot() as slot:
                order.append(i)
            return slot.admitted_at

        times = await asyncio.gather(*(one(i) for i in reversed(range(20))))
        assert order == list(range(20))
        assert sorted(times) == [float(i) for i in range(20)]

    run(main())


def test_a_newcomer_at_the_wake_up_instant_does_not_jump_the_queue() -> None:
    async def main() -> None:
        limiter = MultiWindowLimiter([Window(1, 1.0)], margin=0.0, drift=0.0)
        (await limiter.acquire()).release()
        queued = asyncio.create_task(admit_all(limiter, 1))
        await sleep_until(1.0)  # the instant the queued waiter becomes admissible
        newcomer = await limiter.acquire()
        assert queued.done() and queued.result() == [1.0]
        assert newcomer.admitted_at == 2.0

    run(main())


def test_cancelling_a_waiter_leaks_nothing() -> None:
    async def main() -> None:
        limiter = MultiWindowLimiter([Window(1, 1.0)], margin=0.0, drift=0.0)
        (await limiter.acquire()).release()
        head = asyncio.create_task(limiter.acquire())
        behind = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.5)
        head.cancel()
        slot = await behind
        assert head.cancelled()
        assert slot.admitted_at == 1.0
        assert (limiter.in_flight, limiter.waiting) == (1, 0)

    run(main())


def test_cancel_in_the_instant_of_admission_gives_the_slot_back() -> None:
    async def main() -> None:
        limiter = MultiWindowLimiter([Window(1, 100.0)], margin=0.0, drift=0.0)
        holder = await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0)
        holder.cancel()  # hands the slot to the waiter synchronously...
        waiter.cancel()  # ...which is cancelled before it runs again
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert limiter.in_flight == 0 and limiter.stamps() == []
        assert (await limiter.acquire()).admitted_at == 0.0

    run(main())


def test_slot_context_releases_on_error() -> None:
    async def main() -> None:
        limiter = MultiWindowLimiter([Window(5, 1.0)], margin=0.0, drift=0.0)
        await asyncio.sleep(3.0)
        with pytest.raises(TimeoutError):
            async with limiter.slot():
                await asyncio.sleep(0.25)
                raise TimeoutError
        assert limiter.in_flight == 0
        assert limiter.stamps() == [3.25]

    run(main())


def test_completion_stamps_keep_server_windows_under_random_latency() -> None:
    """The server sees arrivals anywhere between admission and completion."""
    windows = [Window(10, 1.0), Window(90, 90.0)]  # 100/10s + 900/15m, scaled by 0.1
    rng = random.Random(7)
    requests = [(rng.uniform(0, 5), rng.uniform(0.02, 0.4)) for _ in range(300)]
    spans = run(drive(MultiWindowLimiter(windows, margin=0.0, drift=0.0), requests))
    arrivals = [a + rng.random() * (r - a) for a, r in spans]
    for w in windows:
        assert most_overlapping(spans, w.period) <= w.count
        for server_sees in (arrivals, [a for a, _ in spans], [r for _, r in spans]):
            assert most_in_window(server_sees, w.period) <= w.count


def test_stamping_at_send_breaks_server_windows_under_latency() -> None:
    """The contrast: release at admission (stamp = send time) and the server sees too many."""

    async def main() -> list[float]:
        limiter = MultiWindowLimiter([Window(10, 1.0)], margin=0.0, drift=0.0)
        rng = random.Random(3)

        async def one() -> float:
            (await limiter.acquire()).release()
            await asyncio.sleep(rng.uniform(0.02, 0.4))
            return now()

        return list(await asyncio.gather(*(one() for _ in range(200))))

    assert most_in_window(run(main()), 1.0) > 10


def test_naive_pair_of_leaky_buckets_overfills_both_windows() -> None:
    """Two leaky buckets (scaled by 0.1) let 19 through per 1 s and 179 per 90 s."""
    windows = [Window(10, 1.0), Window(90, 90.0)]

    async def naive(n: int) -> list[float]:
        short, long_ = AsyncLimiter(10, 1.0), AsyncLimiter(90, 90.0)
        times = []
        for _ in range(n):
            await short.acquire()
            await long_.acquire()
            times.append(now())
        return times

    naive_times = run(naive(400))
    exact_times = run(admit_all(MultiWindowLimiter(windows, margin=0.0, drift=0.0), 400))
    assert most_in_window(naive_times, 1.0) >= 19
    assert most_in_window(naive_times, 90.0) >= 179
    assert most_in_window(exact_times, 1.0) == 10
    assert most_in_window(exact_times, 90.0) == 90
    assert exact_times == exact_schedule(400, windows)


def test_spacing_paces_admissions_with_aiolimiter() -> None:
    windows = [Window(3, 1.0)]
    times = run(admit_all(MultiWindowLimiter(windows, margin=0.0, drift=0.0, spacing=0.25), 7))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.25 - EPS
    assert most_in_window(times, 1.0) <= 3
    # 0, .25, .5 fill the window; the 4th waits for 0 + 1.0, then spacing rules again.
    assert times == pytest.approx([0, 0.25, 0.5, 1.0, 1.25, 1.5, 2.0], abs=EPS)


def test_cancelled_while_pacing_returns_the_slot() -> None:
    async def main() -> None:
        limiter = MultiWindowLimiter([Window(5, 1.0)], margin=0.0, drift=0.0, spacing=10.0)
        first = await limiter.acquire()
        pacing = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(1.0)
        assert limiter.in_flight == 2  # admitted to the log, waiting on the pacer
        pacing.cancel()
        await asyncio.gather(pacing, return_exceptions=True)
        assert limiter.in_flight == 1
        first.release()
        assert limiter.stamps() == [1.0]

    run(main())


def test_estimate_finish_is_the_exact_schedule_from_log_and_in_flight() -> None:
    windows = [Window(3, 1.0), Window(5, 10.0)]

    async def main() -> None:
        limiter = MultiWindowLimiter(windows, margin=0.05, drift=0.0)
        await asyncio.sleep(20.0)
        limiter.add_history([19.5, 12.0, 19.9, 11.0, 5.0])  # unsorted, one already expired
        held = await limiter.acquire()
        history = [11.0, 12.0, 19.5, 19.9, 20.0]
        for n in (1, 2, 5, 12):
            expected = exact_schedule(n, padded(windows, 0.05), history, start=20.0)[-1] - 20.0
            assert limiter.estimate_finish(n) == expected
        assert limiter.estimate_finish(0) == 0.0
        # With the held request completing now, the next 6 land where the estimate said.
        estimate = limiter.estimate_finish(6)
        held.release()
        times = await admit_all(limiter, 6)
        assert times[-1] - 20.0 == pytest.approx(estimate, abs=EPS)
        assert limiter.estimate_finish(1) > 0

    run(main())


def test_history_is_sorted_pruned_and_counts() -> None:
    async def main() -> None:
        limiter = MultiWindowLimiter([Window(2, 10.0), Window(3, 60.0)], margin=0.5, drift=0.0)
        limiter.add_history([30.0, -100.0, 10.0, 50.0])
        assert limiter.stamps() == [10.0, 30.0, 50.0]  # -100 left the 60.5 s horizon
        slot = await limiter.acquire()  # future stamps count too: 3 in the 60 s window
        assert slot.admitted_at == 70.5
        with pytest.raises(ValueError):
            limiter.add_history([float("nan")])

    run(main())


def test_without_windows_everything_is_admitted_at_once() -> None:
    assert run(admit_all(MultiWindowLimiter([]), 5)) == [0.0] * 5


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        MultiWindowLimiter(DEFAULT_WINDOWS, margin=-1)
    with pytest.raises(ValueError):
        MultiWindowLimiter(DEFAULT_WINDOWS, spacing=0)


def test_custom_clock() -> None:
    """A clock other than loop.time() still wakes waiters (timers are relative then)."""
    offset = 1000.0

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        limiter = MultiWindowLimiter(
            [Window(2, 1.0)], margin=0.0, drift=0.0, clock=lambda: loop.time() + offset
        )

        async def one() -> float:
            async with limiter.slot() as slot:
                return slot.admitted_at

        return list(await asyncio.gather(*(one() for _ in range(5))))

    times = run(main())
    assert times == pytest.approx([1000.0, 1000.0, 1001.0, 1001.0, 1002.0], abs=EPS)


async def test_virtual_clock_patches_the_running_loop() -> None:
    """The pytest-asyncio way: patch the test's own loop for the block."""
    with virtual_clock() as clock:
        limiter = MultiWindowLimiter([Window(2, 3600.0)], margin=0.0, drift=0.0)
        times = await admit_all(limiter, 5)
        assert times == [0.0, 0.0, 3600.0, 3600.0, 7200.0]
        assert clock.time() == 7200.0


def test_a_deadlock_fails_instead_of_hanging() -> None:
    async def main() -> Slot:
        limiter = MultiWindowLimiter([Window(1, 1.0)])
        await limiter.acquire()  # never released
        return await limiter.acquire()

    with pytest.raises(VirtualClockStalled):
        run(main(), idle_timeout=0.05)
