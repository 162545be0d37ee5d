"""Injected faults, each at rate 1.0, and the seed that makes a fault pattern repeatable."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from fakeapi_fixtures import source_body as body

from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer, FaultConfig
from bulk_sources.limits.windows import Window

LIST = "/console/v1/experiments/assignment_sources"
ROOMY = [Window(10_000, 1.0)]


async def start(factory: Any, windows: list[Window] | None = None, **faults: Any) -> FakeApiServer:
    config = FakeApiConfig(windows=windows or ROOMY, faults=FaultConfig(**faults))
    server: FakeApiServer = await factory(config)
    return server


def session_for(server: FakeApiServer, **kwargs: Any) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=server.url, headers={"STATSIG-API-KEY": server.key}, **kwargs
    )


async def outcome(session: aiohttp.ClientSession, name: str) -> str:
    try:
        async with session.post(LIST, json=body(name)) as response:
            await response.read()
            return str(response.status)
    except aiohttp.ClientConnectionError:
        return "dropped"


async def test_error_rate_answers_500_and_creates_nothing(fake_server_factory: Any) -> None:
    server = await start(fake_server_factory, error_rate=1.0)
    async with session_for(server) as session:
        async with session.post(LIST, json=body("e")) as response:
            assert response.status == 500
            assert (await response.json())["status"] == 500
        async with session.get(LIST) as response:  # GETs are never faulted
            assert response.status == 200
    assert not server.state.sources
    assert server.state.stats()["faults"]["error"] == 1


async def test_reset_rate_drops_the_connection_before_doing_anything(
    fake_server_factory: Any,
) -> None:
    server = await start(fake_server_factory, reset_rate=1.0)
    async with session_for(server) as session:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            async with session.post(LIST, json=body("r")):
                pass
    assert not server.state.sources
    stats = server.state.stats()
    assert stats["faults"]["reset"] == 1
    assert stats["mutations"] == 1  # it passed the window check, so it counted
    assert stats["requests"]["by_status"] == {"dropped": 1}


async def test_create_then_drop_creates_but_never_answers(fake_server_factory: Any) -> None:
    server = await start(fake_server_factory, create_then_drop_rate=1.0)
    async with session_for(server) as session:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            async with session.post(LIST, json=body("ghost")):
                pass
        async with session.get(LIST) as response:
            listed = [s["name"] for s in (await response.json())["data"]]
    assert listed == ["ghost"]
    assert server.state.stats()["faults"]["create_then_drop"] == 1


async def test_a_stalled_create_still_happens_after_the_client_gave_up(
    fake_server_factory: Any,
) -> None:
    server = await start(fake_server_factory, stall_rate=1.0, stall_seconds=0.6)
    timeout = aiohttp.ClientTimeout(total=0.2)
    async with session_for(server, timeout=timeout) as session:
        with pytest.raises(asyncio.TimeoutError):
            async with session.post(LIST, json=body("late")):
                pass
        assert not server.state.sources
        deadline = time.monotonic() + 3.0
        # Polls the server's state in-process: there is no event to wait on.
        while "late" not in server.state.sources and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert "late" in server.state.sources
    assert server.state.stats()["faults"]["stall"] == 1


async def test_latency_delays_the_arrival(fake_server_factory: Any) -> None:
    server = await start(fake_server_factory, latency=(0.15, 0.15))
    async with session_for(server) as session:
        started = time.monotonic()
        assert await outcome(session, "slow") == "201"
        assert time.monotonic() - started >= 0.15
        started = time.monotonic()
        async with session.get(LIST) as response:
            assert response.status == 200
        assert time.monotonic() - started < 0.15  # GETs are not delayed


async def test_answer_latency_delays_the_answer_not_the_count(fake_server_factory: Any) -> None:
    server = await start(
        fake_server_factory, windows=[Window(1, 10.0)], answer_latency=(0.15, 0.15)
    )
    async with session_for(server) as session:
        started = time.monotonic()
        first, second = await asyncio.gather(outcome(session, "a"), outcome(session, "b"))
        took = time.monotonic() - started
    # Both answers left 0.15 s after both were counted: the second was refused at arrival,
    # before the first one's answer had left.
    assert sorted([first, second]) == ["201", "429"]
    assert took >= 0.15
    arrivals = server.state.arrivals
    assert len(arrivals) == 2 and max(a.time for a in arrivals) - started < 0.1


def test_answer_latency_must_be_a_range() -> None:
    with pytest.raises(ValueError, match="answer_latency"):
        FaultConfig(answer_latency=(0.009, 0.002))


async def test_a_faulted_request_counts_in_the_window(fake_server_factory: Any) -> None:
    server = await start(fake_server_factory, windows=[Window(2, 10.0)], error_rate=1.0)
    async with session_for(server) as session:
        outcomes = [await outcome(session, f"w{i}") for i in range(3)]
    assert outcomes == ["500", "500", "429"]


MIXED: dict[str, Any] = {
    "error_rate": 0.25,
    "reset_rate": 0.15,
    "create_then_drop_rate": 0.15,
    "latency": (0.0, 0.005),
}


async def run_pattern(factory: Any, seed: int, n: int = 30) -> list[str]:
    server = await start(factory, seed=seed, **MIXED)
    async with session_for(server) as session:
        return [await outcome(session, f"p{i}") for i in range(n)]


async def test_the_same_seed_repeats_the_same_fault_pattern(fake_server_factory: Any) -> None:
    first = await run_pattern(fake_server_factory, seed=7)
    again = await run_pattern(fake_server_factory, seed=7)
    other = await run_pattern(fake_server_factory, seed=8)
    assert first == again
    assert {"201", "500", "dropped"} <= set(first)
    assert other != first


async def test_reset_restarts_the_fault_stream(fake_server_factory: Any) -> None:
    server = await start(fake_server_factory, seed=3, **MIXED)
    async with session_for(server) as session:
        first = [await outcome(session, f"q{i}") for i in range(15)]
        await (await session.post("/__reset")).release()
        again = [await outcome(session, f"q{i}") for i in range(15)]
    assert first == again
