"""MultiWindowLimiter's run-time controls on the virtual clock: windows that change, a hold,
an in-flight cap, probing past a proven count, another process's in-flight requests, drift."""

from __future__ import annotations

import asyncio

import pytest
from virtual_clock import run, sleep_until

from bulk_sources.limits.limiter import MultiWindowLimiter
from bulk_sources.limits.windows import DEFAULT_WINDOWS, DRIFT, Window


async def admit(limiter: MultiWindowLimiter, n: int, latency: float = 0.0) -> list[float]:
    async def one() -> float:
        async with limiter.slot() as slot:
            await asyncio.sleep(latency)
        return slot.admitted_at

    return list(await asyncio.gather(*(one() for _ in range(n))))


def test_drift_is_a_share_of_each_period() -> None:
    limiter = MultiWindowLimiter(DEFAULT_WINDOWS)
    assert limiter.span(10.0) == pytest.approx(10.0 * (1 + DRIFT))
    assert limiter.span(900.0) - 900.0 == pytest.approx(0.09)
    # The same share at a 0.02 scale: a scaled test is the real run scaled.
    assert limiter.span(0.2) / 0.2 == limiter.span(10.0) / 10.0


def test_lowered_window_applies_to_waiters_and_relaxed_one_frees_them() -> None:
    async def main() -> list[float]:
        limiter = MultiWindowLimiter([Window(4, 1.0)], drift=0.0)
        first = await admit(limiter, 2)
        limiter.set_windows([Window(2, 1.0)])
        waiting = asyncio.ensure_future(admit(limiter, 2))
        await asyncio.sleep(0.5)
        limiter.set_windows([Window(3, 1.0)])  # relaxed: one goes at once
        return first + sorted(await waiting)

    assert run(main()) == [0.0, 0.0, 0.5, 1.0]


def test_added_short_window_is_kept_beside_the_others() -> None:
    limiter = MultiWindowLimiter([Window(10, 10.0)], drift=0.0)
    limiter.set_windows([Window(2, 1.0), Window(10, 10.0)])
    assert run(admit(limiter, 6)) == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]


def test_hold_admits_nothing_before_it_and_is_never_shortened() -> None:
    async def main() -> list[float]:
        limiter = MultiWindowLimiter([Window(100, 1.0)], drift=0.0)
        limiter.hold_until(5.0)
        limiter.hold_until(2.0)
        return await admit(limiter, 2)

    assert run(main()) == [5.0, 5.0]


def test_cap_bounds_requests_in_flight() -> None:
    async def main() -> list[float]:
        limiter = MultiWindowLimiter([Window(100, 1.0)], drift=0.0)
        limiter.cap = 1
        return sorted(await admit(limiter, 3, latency=0.25))

    assert run(main()) == [0.0, 0.25, 0.5]


def test_past_the_proven_count_only_the_cap_requests_fly() -> None:
    async def main() -> list[float]:
        limiter = MultiWindowLimiter([Window(10, 100.0)], drift=0.0)
        limiter.set_windows([Window(10, 100.0)], proven=[3], caps=[2])
        return sorted(await admit(limiter, 6, latency=1.0))

    # 3 are proven to go together; beyond that two at a time wait for answers.
    assert run(main()) == [0.0, 0.0, 0.0, 1.0, 1.0, 2.0]


def test_another_processes_in_flight_requests_count() -> None:
    async def main() -> list[float]:
        limiter = MultiWindowLimiter([Window(3, 10.0)], drift=0.0)
        limiter.foreign_in_flight = 2
        first = await admit(limiter, 1)
        waiting = asyncio.ensure_future(admit(limiter, 1))
        await sleep_until(4.0)
        limiter.foreign_in_flight = 1  # one of theirs answered (its stamp comes separately)
        return first + await waiting

    assert run(main()) == [0.0, 4.0]


def test_slots_carry_their_admission_order() -> None:
    async def main() -> list[int]:
        limiter = MultiWindowLimiter([Window(3, 10.0)])
        slots = [await limiter.acquire() for _ in range(3)]
        assert [s.seq for s in limiter.open_slots()] == [0, 1, 2]
        slots[1].cancel()
        assert limiter.next_seq == 3
        return [s.seq for s in limiter.open_slots()]

    assert run(main()) == [0, 2]
