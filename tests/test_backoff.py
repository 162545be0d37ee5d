"""full_jitter, parse_retry_after and SharedPause (on the virtual clock)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from virtual_clock import run, sleep_until

from bulk_sources.limits.backoff import SharedPause, full_jitter, parse_retry_after


class Fixed(random.Random):
    """random() always returns `fraction`, so uniform(a, b) = a + fraction * (b - a)."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def random(self) -> float:
        return self.fraction


def now() -> float:
    return asyncio.get_running_loop().time()


# -- full_jitter ----------------------------------------------------------------------------


def test_full_jitter_stays_within_the_capped_exponential() -> None:
    rng = random.Random(1)
    for attempt in range(15):
        ceiling = min(60.0, 0.5 * 2**attempt)
        draws = [full_jitter(attempt, base=0.5, cap=60.0, rng=rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > 0.8 * ceiling  # really spread over the whole range


def test_full_jitter_edges() -> None:
    assert full_jitter(0, base=2.0, cap=60.0, rng=Fixed(1.0)) == 2.0
    assert full_jitter(3, base=2.0, cap=60.0, rng=Fixed(1.0)) == 16.0
    assert full_jitter(5000, base=2.0, cap=60.0, rng=Fixed(1.0)) == 60.0  # no overflow
    assert full_jitter(4, base=2.0, cap=60.0, rng=Fixed(0.0)) == 0.0
    with pytest.raises(ValueError):
        full_jitter(-1, base=2.0, cap=60.0, rng=Fixed(0.5))


# -- parse_retry_after ----------------------------------------------------------------------

WHEN = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
EPOCH = WHEN.timestamp()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), ("+2", 2.0)],
)
def test_retry_after_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value, now=EPOCH) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Wed, 21 Oct 2015 07:28:30 GMT",  # IMF-fixdate
        "Wednesday, 21-Oct-15 07:28:30 GMT",  # obsolete RFC 850
        "Wed Oct 21 07:28:30 2015",  # asctime
        format_datetime(datetime(2015, 10, 21, 7, 28, 30, tzinfo=UTC), usegmt=True),
    ],
)
def test_retry_after_http_date(value: str) -> None:
    assert parse_retry_after(value, now=EPOCH) == 30.0


def test_retry_after_date_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=EPOCH) == 0.0


def test_retry_after_date_defaults_to_wall_clock_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    delay = parse_retry_after("Fri, 01 Jan 9999 00:00:00 GMT")
    assert delay is not None and delay > 1e11


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "12 seconds", "1e3", "nan", "9" * 400])
def test_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=EPOCH) is None


# -- SharedPause ----------------------------------------------------------------------------


def test_wait_returns_at_once_when_not_paused() -> None:
    async def main() -> float:
        pause = SharedPause()
        await pause.wait()
        assert pause.remaining() == 0.0 and pause.paused_until == float("-inf")
        return now()

    assert run(main()) == 0.0


def test_all_waiters_are_released_together_at_the_pause_end() -> None:
    async def main() -> tuple[float, list[float]]:
        pause = SharedPause(base=10.0, jitter=0.1, rng=Fixed(0.37))
        await asyncio.sleep(0.3)
        end = pause.trigger(None)

        async def worker(start: float) -> float:
            await sleep_until(start)
            await pause.wait()
            return now()

        woke = await asyncio.gather(*(worker(0.3 + i * 1.7) for i in range(6)))
        return end, list(woke)

    end, woke = run(main())
    assert end == 0.3 + (10.0 + 0.37 * 1.0)
    assert woke == [end] * 6


def test_retry_after_is_honoured_exactly() -> None:
    async def main() -> None:
        pause = SharedPause(base=10.0, jitter=0.0)
        await asyncio.sleep(1.0)
        assert pause.trigger(42.0) == 43.0
        await pause.wait()
        assert now() == 43.0
        # Jitter only ever adds: up to jitter * min(retry_after, base).
        jittery = SharedPause(base=10.0, jitter=0.1, rng=Fixed(1.0))
        assert jittery.trigger(3.0) == now() + 3.0 + 0.1 * 3.0
        assert SharedPause(rng=Fixed(0.0)).trigger(60.0) == now() + 60.0
        assert SharedPause(jitter=0.0).trigger(-5.0) == now()

    run(main())


def test_a_later_pause_end_wins_and_waiters_follow_the_extension() -> None:
    async def main() -> None:
        pause = SharedPause(base=10.0, jitter=0.0)
        assert pause.trigger(10.0) == 10.0
        waiter = asyncio.create_task(pause.wait())
        await asyncio.sleep(5.0)
        assert pause.trigger(20.0, sent_at=1.0) == 25.0
        assert pause.trigger(3.0) == 25.0  # a shorter one never shortens the pause
        await waiter
        assert now() == 25.0

    run(main())


def test_streak_grows_exponentially_with_full_jitter_up_to_the_cap() -> None:
    async def main(fraction: float) -> list[float]:
        pause = SharedPause(base=10.0, cap=100.0, jitter=0.1, rng=Fixed(fraction))
        delays = []
        for _ in range(7):
            await pause.wait()
            sent = now()  # each request was sent after the previous pause: a fresh 429
            start = now()
            delays.append(pause.trigger(None, sent_at=sent) - start)
        assert (pause.streak, pause.total_pauses) == (7, 7)
        return delays

    assert run(main(1.0)) == [11.0, 30.0, 50.0, 90.0, 100.0, 100.0, 100.0]
    assert run(main(0.0)) == [10.0] * 7  # never shorter than base
    mid = run(main(0.5))
    assert mid == [10.5, 20.0, 30.0, 50.0, 55.0, 55.0, 55.0]


def test_echoes_of_the_same_burst_do_not_double_the_pause() -> None:
    async def main() -> None:
        pause = SharedPause(base=10.0, jitter=0.0)
        # A burst sent at 0.0-0.1; the first 429 comes back at 0.2, the rest just after.
        await sleep_until(0.2)
        end = pause.trigger(None, sent_at=0.05)
        assert (end, pause.streak) == (10.2, 1)
        for i in range(20):
            await sleep_until(0.21 + i * 0.01)
            assert pause.trigger(None, sent_at=0.1) == end
        assert (pause.streak, pause.total_pauses) == (1, 1)
        # A Retry-After on an echo is still honoured, without growing the streak.
        assert pause.trigger(30.0, sent_at=0.0) == now() + 30.0
        assert pause.streak == 1
        # After the pause, a request sent then and rejected again is a new 429: streak 2.
        await pause.wait()
        sent = now()
        await asyncio.sleep(0.1)
        pause.trigger(None, sent_at=sent)
        assert (pause.streak, pause.total_pauses) == (2, 2)

    run(main())


def test_record_success_resets_the_streak_unless_it_is_an_echo() -> None:
    async def main() -> None:
        pause = SharedPause(base=10.0, jitter=0.0)
        await asyncio.sleep(1.0)
        pause.trigger(None)
        pause.record_success(sent_at=0.5)  # sent before the pause: says nothing new
        assert pause.streak == 1
        await pause.wait()
        pause.record_success()
        assert pause.streak == 0
        assert pause.trigger(None) == now() + 10.0  # back to the first-429 pause

    run(main())


def test_custom_clock() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        pause = SharedPause(base=10.0, jitter=0.0, clock=lambda: loop.time() + 500.0)
        assert pause.trigger(None) == 510.0
        await pause.wait()
        return now()

    assert run(main()) == pytest.approx(10.0, abs=1e-9)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        SharedPause(base=0.0)
    with pytest.raises(ValueError):
        SharedPause(base=20.0, cap=10.0)
    with pytest.raises(ValueError):
        SharedPause(jitter=-0.1)
