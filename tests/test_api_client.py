"""ConsoleClient over real aiohttp: headers, answer classification, listing, safety checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakeapi_fixtures import StartFakeServer, source_body

from bulk_sources.api.apikey import ApiKey
from bulk_sources.api.client import (
    API_VERSION,
    AnswerKind,
    ConsoleClient,
    classify,
    mask_key,
)
from bulk_sources.api.protocol import check_base_url
from bulk_sources.errors import AuthRefused, ListingFailed, UsageError
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer, FaultConfig
from bulk_sources.limits.windows import Window
from bulk_sources.version import __version__

BODY = source_body("a")


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A real server that records every request it gets."""
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        seen.append(request)
        return web.json_response({"message": "ok", "data": {}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def test_every_request_carries_the_headers_the_api_expects(
    echo_server: tuple[str, list[web.Request]],
) -> None:
    url, seen = echo_server
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(
            session, url, ApiKey("console-abc"), respect_review_settings=True, timeout=5
        )
        await client.create(BODY)
        await client.update("name with/slash", {k: v for k, v in BODY.items() if k != "name"})
    create, update = seen
    assert create.method == "POST"
    assert create.path == "/console/v1/experiments/assignment_sources"
    assert create.headers["STATSIG-API-KEY"] == "console-abc"
    assert create.headers["STATSIG-API-VERSION"] == API_VERSION
    assert create.headers["Content-Type"] == "application/json"
    assert create.headers["User-Agent"].startswith(f"bulk-sources/{__version__}")
    assert create.headers["x-respect-review-settings"] == "true"
    assert update.raw_path == "/console/v1/experiments/assignment_source/name%20with%2Fslash"


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (201, {"message": "created", "data": {"name": "a"}}, AnswerKind.OK),
        (400, {"status": 400, "message": "Name is already in use: a"}, AnswerKind.EXISTS),
        (400, {"status": 400, "message": "Source already exists with name a"}, AnswerKind.EXISTS),
        (400, {"status": 400, "message": "Invalid request: sql"}, AnswerKind.REJECTED),
        (404, {"status": 404, "message": "Not Found"}, AnswerKind.REJECTED),
        (401, {"status": 401, "message": "bad key"}, AnswerKind.AUTH),
        (403, {"status": 403, "message": "forbidden"}, AnswerKind.AUTH),
        (429, {"status": 429, "message": "slow down"}, AnswerKind.RATE_LIMITED),
        (500, None, AnswerKind.SERVER_ERROR),
        (503, None, AnswerKind.SERVER_ERROR),
    ],
)
def test_classify(status: int, body: Any, kind: AnswerKind) -> None:
    assert classify(status, body, "", None).kind is kind


def test_a_401_body_never_carries_the_whole_key() -> None:
    answer = classify(
        401,
        {"message": "an invalid key was sent. Key: console-0123456789abcdefghij"},
        "",
        None,
    )
    assert "0123456789abcdefghij" not in answer.message
    assert mask_key("Key: console-0123456789abcdef") == "Key: console-0123…"


def test_plain_http_is_for_loopback_only() -> None:
    for ok in ("http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://x.io"):
        assert check_base_url(ok)
    for bad in ("http://10.0.0.5", "http://statsigapi.net", "ftp://x", "statsigapi.net"):
        with pytest.raises(UsageError):
            check_base_url(bad)


async def test_list_all_follows_next_page_to_every_item_once(
    fake_server_factory: StartFakeServer,
) -> None:
    server = await fake_server_factory(FakeApiConfig(windows=[Window(1000, 1.0)]))
    for i in range(23):
        server.state.store.sources[f"s{i}"] = {**BODY, "name": f"s{i}"}
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(session, server.url, ApiKey(server.key))
        items = await client.list_all(page_limit=5)
    assert [item["name"] for item in items] == [f"s{i}" for i in range(23)]
    assert server.state.stats()["requests"]["by_method"]["GET"] == 5


async def test_listing_with_a_refused_key_raises_auth_refused(fake_server: FakeApiServer) -> None:
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(session, fake_server.url, ApiKey("console-nope-nope-nope"))
        with pytest.raises(AuthRefused, match="refused the key") as info:
            await client.list_all()
    assert "console-nope-nope-nope" not in str(info.value)


async def test_an_unreachable_api_is_a_clear_listing_failure() -> None:
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(session, "http://127.0.0.1:9", ApiKey("console-x"), timeout=1)
        with pytest.raises(ListingFailed, match="could not list the existing"):
            await client.list_all(max_attempts=1)


async def test_lost_connections_and_timeouts_are_no_answer(
    fake_server_factory: StartFakeServer,
) -> None:
    faults = FaultConfig(create_then_drop_rate=1.0)
    server = await fake_server_factory(FakeApiConfig(windows=[Window(100, 1.0)], faults=faults))
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(session, server.url, ApiKey(server.key))
        answer = await client.create(BODY)
    assert answer.kind is AnswerKind.NO_ANSWER
    assert set(server.state.sources) == {"a"}  # it happened, the client can't know

    stall = FaultConfig(stall_rate=1.0, stall_seconds=2.0)
    server = await fake_server_factory(FakeApiConfig(windows=[Window(100, 1.0)], faults=stall))
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(session, server.url, ApiKey(server.key), timeout=0.2)
        answer = await client.create(BODY)
    assert answer.kind is AnswerKind.NO_ANSWER
    assert "no answer within 0.2 s" in answer.message


async def test_a_refused_connection_is_not_sent() -> None:
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(session, "http://127.0.0.1:9", ApiKey("console-x"), timeout=1)
        answer = await client.create(BODY)
    assert answer.kind is AnswerKind.NOT_SENT
