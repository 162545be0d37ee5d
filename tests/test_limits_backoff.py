"""full_jitter and parse_retry_after."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from bulk_sources.limits.backoff import full_jitter, parse_retry_after


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
