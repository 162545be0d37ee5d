"""Windows: COUNT/PERIOD parsing, the exact schedule, and estimates from it."""

from __future__ import annotations

import pytest

from bulk_sources.errors import UsageError
from bulk_sources.limits.windows import (
    DEFAULT_WINDOWS,
    EARLIER_WINDOWS,
    STAND_IN_WINDOWS,
    Window,
    exact_schedule,
    parse_window,
)
from bulk_sources.run.plan.rows import estimate_seconds


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("100/10s", Window(100, 10.0)),
        ("900/15m", Window(900, 900.0)),
        ("20/500ms", Window(20, 0.5)),
        ("5/1h", Window(5, 3600.0)),
        ("10/s", Window(10, 1.0)),
        (" 3 / 2.5s ", Window(3, 2.5)),
    ],
)
def test_parse_window(text: str, window: Window) -> None:
    assert parse_window(text) == window
    assert parse_window(str(window)) == window


@pytest.mark.parametrize("text", ["100", "100/10", "0/10s", "100/0s", "ten/10s", "100/10d"])
def test_parse_window_refuses_with_an_example(text: str) -> None:
    with pytest.raises(UsageError, match=r"100/10s"):
        parse_window(text)


def test_exact_schedule_matches_the_guide_table() -> None:
    times = exact_schedule(10_000, EARLIER_WINDOWS)
    assert [times[n - 1] for n in (50, 100, 500, 900, 1000, 5000, 10_000)] == [
        0,
        0,
        40,
        80,
        900,
        4540,
        9900,
    ]


def test_exact_schedule_on_the_stand_ins_windows() -> None:
    """Issue 9: 1,000 rows in 90 s and 5,000 in 1,930 s under 100/10s + 1800/15m."""
    times = exact_schedule(5000, STAND_IN_WINDOWS)
    assert [times[n - 1] for n in (1000, 1800, 1801, 5000)] == [90, 170, 900, 1930]


def test_the_defaults_are_the_quota_alone() -> None:
    """The page's 1,800 per 15 min is all the tool is told; burst protection is learned."""
    times = exact_schedule(3601, DEFAULT_WINDOWS)
    assert [times[n - 1] for n in (1800, 1801, 3601)] == [0, 900, 1800]


def test_estimate_counts_the_budget_already_spent() -> None:
    windows = [Window(3, 1.0), Window(5, 10.0)]
    assert estimate_seconds(0, windows) == 0.0
    assert estimate_seconds(3, windows) == 0.0
    assert estimate_seconds(6, windows) == 10.0
    # Five sent at t=0 and it is t=2: the next one waits for the long window, until t=10.
    assert estimate_seconds(1, windows, [0.0] * 5, now=2.0) == 8.0


def test_exact_schedule_with_history_after_start_stays_in_order() -> None:
    # A restored stamp can lie after `start`; found by the limiter's property test.
    history = [-17.0, -14.0, -11.0, -8.0, -5.0, -2.0, 1.0]
    assert exact_schedule(4, [Window(2, 1.0)], history, start=0.0) == [0.0, 1.0, 2.0, 2.0]
