"""The fake server's rate limits: exact sliding windows, checked against an independent replay."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aiohttp
import pytest
from fakeapi_fixtures import source_body as body

from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.limits.windows import Window

LIST = "/console/v1/experiments/assignment_sources"
SHORT, LONG = Window(10, 0.5), Window(30, 3.0)

# (seconds from start, requests sent at once): bursts into the short window, then enough to
# fill the long one, then waits that let each window slide.
SCHEDULE = [
    (0.0, 12),
    (0.25, 3),
    (0.55, 8),
    (0.8, 5),
    (1.2, 12),
    (1.8, 10),
    (2.5, 5),
    (3.05, 12),
    (3.6, 10),
    (4.0, 5),
]


def in_window(times: Sequence[float], t: float, period: float) -> int:
    return sum(1 for u in times if t - period < u <= t)


def predict(
    times: Sequence[float], windows: Sequence[Window], count_rejected: bool = False
) -> list[bool]:
    """Replay arrivals through a plain sliding-window log: which ones a strict server admits."""
    held: list[float] = []
    verdicts = []
    for t in times:
        ok = all(in_window(held, t, w.period) < w.count for w in windows)
        verdicts.append(ok)
        if ok or count_rejected:
            held.append(t)
    return verdicts


def max_in_any_window(times: Sequence[float], period: float) -> int:
    return max((in_window(times, t, period) for t in times), default=0)


async def start(factory: Any, **config: Any) -> tuple[FakeApiServer, aiohttp.ClientSession]:
    server: FakeApiServer = await factory(FakeApiConfig(**config))
    session = aiohttp.ClientSession(base_url=server.url, headers={"STATSIG-API-KEY": server.key})
    return server, session


@pytest.mark.slow
@pytest.mark.parametrize("count_rejected", [False, True])
async def test_bursts_get_exactly_the_429s_an_exact_sliding_window_predicts(
    fake_server_factory: Any, count_rejected: bool
) -> None:
    server, session = await start(
        fake_server_factory, windows=[SHORT, LONG], count_rejected=count_rejected
    )
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.05
    counter = iter(range(10_000))

    async def send_at(offset: float) -> int:
        await asyncio.sleep(max(0.0, begin + offset - loop.time()))
        async with session.post(LIST, json=body(f"s{next(counter)}")) as response:
            return response.status

    async with session:
        statuses = await asyncio.gather(
            *(send_at(offset) for offset, n in SCHEDULE for _ in range(n))
        )
        async with session.get("/__stats") as response:
            stats = await response.json()

    arrivals = server.state.arrivals
    times = [a.time for a in arrivals]
    assert times == sorted(times)
    expected = predict(times, [SHORT, LONG], count_rejected)
    assert [a.accepted for a in arrivals] == expected
    assert statuses.count(429) == expected.count(False)
    assert statuses.count(201) == expected.count(True) == len(server.state.sources)
    # The pattern must exercise both windows: rejections with the short window not full
    # come from the long one.
    accepted = [t for t, ok in zip(times, expected, strict=True) if ok]
    by_long = [
        t
        for t, ok in zip(times, expected, strict=True)
        if not ok and in_window([u for u in accepted if u < t], t, SHORT.period) < SHORT.count
    ]
    assert by_long
    assert expected.count(False) > len(by_long)

    for window, reported in zip([SHORT, LONG], stats["windows"], strict=True):
        assert (reported["limit"], reported["period"]) == (window.count, window.period)
        assert reported["max_arrivals_in_window"] == max_in_any_window(times, window.period)
        assert reported["max_accepted_in_window"] == max_in_any_window(accepted, window.period)
        assert reported["max_accepted_in_window"] <= window.count
    assert stats["windows"][0]["max_arrivals_in_window"] > SHORT.count
    assert stats["rate_limited"] == expected.count(False)
    assert stats["mutations"] == len(times)


async def test_gets_are_never_counted(fake_server_factory: Any) -> None:
    server, session = await start(fake_server_factory, windows=[Window(2, 10.0)])
    async with session:
        for _ in range(20):
            async with session.get(LIST) as response:
                assert response.status == 200
        statuses = []
        for i in range(3):
            async with session.post(LIST, json=body(f"g{i}")) as response:
                statuses.append(response.status)
    assert statuses == [201, 201, 429]
    stats = server.state.stats()
    assert stats["mutations"] == 3
    assert stats["windows"][0]["max_arrivals_in_window"] == 3


async def test_429_body_and_retry_after_in_whole_seconds(fake_server_factory: Any) -> None:
    server, session = await start(fake_server_factory, windows=[Window(2, 3.0)], retry_after=True)
    async with session:
        for i in range(2):
            async with session.post(LIST, json=body(f"r{i}")) as response:
                assert response.status == 201
        async with session.post(LIST, json=body("r2")) as response:
            assert response.status == 429
            answer = await response.json()
            retry_after = response.headers["Retry-After"]
    assert answer["status"] == 429
    assert answer["message"].startswith("Too many requests")
    assert retry_after == "3"  # 3 s minus a few ms, rounded up
    assert "r2" not in server.state.sources


async def test_no_retry_after_by_default_as_on_the_real_api(fake_server_factory: Any) -> None:
    _, session = await start(fake_server_factory, windows=[Window(1, 3.0)])
    async with session:
        await (await session.post(LIST, json=body("a"))).release()
        async with session.post(LIST, json=body("b")) as response:
            assert response.status == 429
            assert "Retry-After" not in response.headers


async def test_burst_protection_is_one_more_window_of_every_project(
    fake_server_factory: Any,
) -> None:
    server, session = await start(
        fake_server_factory, windows=[Window(100, 10.0)], burst=Window(2, 0.3)
    )
    statuses = []
    async with session:
        for i, pause in enumerate([0.0, 0.0, 0.0, 0.4]):
            await asyncio.sleep(pause)
            async with session.post(LIST, json=body(f"b{i}")) as response:
                statuses.append(response.status)
    assert statuses == [201, 201, 429, 201]
    assert server.state.stats()["settings"]["burst"] == "2/300ms"


@pytest.mark.slow
async def test_rejected_attempts_occupy_the_window_by_default(fake_server_factory: Any) -> None:
    async def pattern(count_rejected: bool) -> list[int]:
        server, session = await start(
            fake_server_factory, windows=[Window(2, 0.5)], count_rejected=count_rejected
        )
        statuses = []
        async with session:
            for i, pause in enumerate([0.0, 0.0, 0.3, 0.3, 0.0]):
                await asyncio.sleep(pause)
                async with session.post(LIST, json=body(f"c{i}")) as response:
                    statuses.append(response.status)
        times = [a.time for a in server.state.arrivals]
        assert [s == 201 for s in statuses] == predict(times, [Window(2, 0.5)], count_rejected)
        return statuses

    # The 429 at 0.3 s still holds a slot at 0.6 s only when rejected attempts count.
    assert await pattern(count_rejected=True) == [201, 201, 429, 201, 429]
    assert await pattern(count_rejected=False) == [201, 201, 429, 201, 201]


async def test_windows_are_per_project_across_its_keys(fake_server_factory: Any) -> None:
    one, two, other = "console-key-one-aaaa", "console-key-two-bbbb", "console-key-3-cccc"
    server: FakeApiServer = await fake_server_factory(
        FakeApiConfig(
            keys=[one],
            windows=[Window(2, 5.0)],
            projects={"shop": [one, two], "blog": [other]},
            project_windows={"blog": [Window(1, 5.0)]},
        )
    )
    statuses = []
    async with aiohttp.ClientSession(base_url=server.url) as session:
        for i, key in enumerate([one, two, two, other, other]):
            headers = {"STATSIG-API-KEY": key}
            async with session.post(LIST, json=body(f"k{i}"), headers=headers) as response:
                statuses.append(response.status)
    # The shop's two keys share 2/5s; the blog has its own 1/5s.
    assert statuses == [201, 201, 429, 201, 429]
    stats = server.state.stats()
    per_project = stats["per_project"]
    assert per_project["shop"]["mutations"] == 3 and per_project["blog"]["mutations"] == 2
    assert per_project["blog"]["windows"][0]["window"] == "1/5s"
    per_key = stats["per_key"]
    assert sorted(v["mutations"] for v in per_key.values()) == [1, 2, 2]
    assert one not in per_key and two not in per_key  # labels are masked
