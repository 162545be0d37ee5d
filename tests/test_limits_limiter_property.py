"""Properties of MultiWindowLimiter for arbitrary request patterns, on the virtual clock.

(a) Safety: whatever the latencies, no server window can ever hold more than its count,
    with each request allowed to arrive anywhere between its admission and its release.
(b) No needless waiting: with zero latency the admissions are exactly the sliding-window
    schedule of the requests in arrival order.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from virtual_clock import most_in_window, most_overlapping, run, sleep_until

from bulk_sources.limits.limiter import MultiWindowLimiter
from bulk_sources.limits.windows import Window, exact_schedule

EPS = 1e-9
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Request:
    start: float
    latency: float  # admission to release
    where: float  # where in [admission, release] the server sees it, as a fraction
    patience: float | None  # gives up waiting after this long (None: waits forever)


@dataclass(frozen=True)
class Outcome:
    admitted: float
    released: float
    arrival: float


times = st.one_of(st.just(0.0), st.floats(0.0, 3.0), st.sampled_from([0.5, 1.0, 2.0]))
windows_st = st.lists(
    st.builds(
        Window,
        st.integers(1, 5),
        st.one_of(st.floats(0.1, 20.0), st.sampled_from([1.0, 2.5, 10.0])),
    ),
    min_size=1,
    max_size=3,
)
margins = st.one_of(st.just(0.0), st.sampled_from([0.05, 0.013]), st.floats(0.0, 0.5))


@st.composite
def requests_st(draw: st.DrawFn, *, zero_latency: bool = False) -> list[Request]:
    gaps = draw(st.lists(times, min_size=1, max_size=30))
    out = []
    for start in itertools.accumulate(gaps):
        latency = 0.0 if zero_latency else draw(st.one_of(st.just(0.0), st.floats(0.0, 5.0)))
        where = draw(st.floats(0.0, 1.0))
        patience = None if zero_latency else draw(st.none() | st.floats(0.0, 10.0))
        out.append(Request(start, latency, where, patience))
    return out


async def drive(limiter: MultiWindowLimiter, requests: list[Request]) -> list[Outcome]:
    async def one(req: Request) -> Outcome | None:
        await sleep_until(req.start)
        waiting = asyncio.ensure_future(limiter.acquire())
        done, _ = await asyncio.wait({waiting}, timeout=req.patience)
        if not done:
            waiting.cancel()
            try:
                await waiting
            except asyncio.CancelledError:
                return None
        slot = waiting.result()
        await asyncio.sleep(req.latency)
        slot.release()
        assert slot.stamp is not None
        arrival = slot.admitted_at + req.where * (slot.stamp - slot.admitted_at)
        return Outcome(slot.admitted_at, slot.stamp, arrival)

    outcomes = await asyncio.gather(*(one(r) for r in requests))
    assert limiter.in_flight == 0 and limiter.waiting == 0
    return [o for o in outcomes if o is not None]


@SETTINGS
@given(
    windows=windows_st,
    margin=margins,
    spacing=st.none() | st.floats(0.01, 1.0),
    requests=requests_st(),
)
def test_no_window_ever_holds_more_than_its_count(
    windows: list[Window], margin: float, spacing: float | None, requests: list[Request]
) -> None:
    limiter = MultiWindowLimiter(windows, margin=margin, drift=0.0, spacing=spacing)
    outcomes = run(drive(limiter, requests))
    if all(r.patience is None for r in requests):
        assert len(outcomes) == len(requests)
    spans = [(o.admitted, o.released) for o in outcomes]
    for w in windows:
        # Worst case over every possible arrival, also for the padded window we promise.
        assert most_overlapping(spans, w.period + margin) <= w.count
        for seen in (
            [o.admitted for o in outcomes],
            [o.released for o in outcomes],
            [o.arrival for o in outcomes],
        ):
            assert most_in_window(seen, w.period) <= w.count


def reference(requests: list[Request], windows: list[Window], margin: float) -> list[float]:
    """FIFO sliding-window log: each request at the schedule's time, not before it arrives."""
    padded = [Window(w.count, w.period + margin) for w in windows]
    admitted: list[float] = []
    for req in sorted(requests, key=lambda r: r.start):
        earliest = max(req.start, admitted[-1]) if admitted else req.start
        admitted += exact_schedule(1, padded, admitted, start=earliest)
    return admitted


@SETTINGS
@given(windows=windows_st, margin=margins, requests=requests_st(zero_latency=True))
def test_zero_latency_admissions_are_the_exact_schedule(
    windows: list[Window], margin: float, requests: list[Request]
) -> None:
    outcomes = run(drive(MultiWindowLimiter(windows, margin=margin, drift=0.0), requests))
    got = sorted(o.admitted for o in outcomes)
    want = reference(requests, windows, margin)
    assert len(got) == len(want)
    assert all(abs(g - w) <= EPS for g, w in zip(got, want, strict=True)), (got, want)


@SETTINGS
@given(windows=windows_st, margin=margins, requests=requests_st(zero_latency=True))
def test_estimate_finish_predicts_the_last_admission(
    windows: list[Window], margin: float, requests: list[Request]
) -> None:
    async def main() -> None:
        limiter = MultiWindowLimiter(windows, margin=margin, drift=0.0)
        history = [r.start - 20.0 for r in requests]  # already sent, some still counting
        limiter.add_history(reversed(history))
        estimate = limiter.estimate_finish(len(requests))
        done = await drive(limiter, [Request(0.0, 0.0, 0.0, None) for _ in requests])
        assert abs(max(o.admitted for o in done) - estimate) <= EPS

    run(main(), start=0.0)
