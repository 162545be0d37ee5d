"""Pytest plugin: fake Console API servers on free loopback ports, stopped after each test.

Register with `pytest_plugins = ["fakeapi_fixtures"]` in the root conftest.

    async def test_x(fake_server: FakeApiServer) -> None: ...         # default, short windows
    async def test_y(fake_server_factory: StartFakeServer) -> None:
        server = await fake_server_factory(FakeApiConfig(faults=FaultConfig(error_rate=1.0)))
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from bulk_sources.api.protocol import SOURCES_PATH
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.limits.windows import Window

# The real windows (100/10 s, 900/15 min) scaled by 0.02: same shape, test-sized waits.
SHORT_WINDOWS = [Window(100, 0.2), Window(900, 18.0)]

StartFakeServer = Callable[..., Awaitable[FakeApiServer]]
CREATE_PATH = SOURCES_PATH


def source_body(name: str) -> dict[str, Any]:
    """The smallest creation body the spec accepts."""
    return {
        "name": name,
        "sql": "SELECT 1",
        "timestampColumn": "ts",
        "experimentIDColumn": "e",
        "groupIDColumn": "g",
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "u"}],
    }


@pytest.fixture
async def fake_server_factory() -> AsyncIterator[StartFakeServer]:
    """`await fake_server_factory(config=None)` starts a server; all are stopped at teardown."""
    servers: list[FakeApiServer] = []

    async def start(config: FakeApiConfig | None = None) -> FakeApiServer:
        server = FakeApiServer(
            config if config is not None else FakeApiConfig(windows=SHORT_WINDOWS)
        )
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await server.stop()


@pytest.fixture
async def fake_server(fake_server_factory: StartFakeServer) -> FakeApiServer:
    return await fake_server_factory()


@pytest.fixture
async def fake_session(fake_server: FakeApiServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A session on `fake_server` that already sends its key."""
    async with aiohttp.ClientSession(
        base_url=fake_server.url, headers={"STATSIG-API-KEY": fake_server.key}
    ) as session:
        yield session
