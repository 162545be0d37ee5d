"""The client against a hostile server: redirects, key echoes, huge bodies, HTML pages, escapes."""

from __future__ import annotations

import asyncio
import tracemalloc
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakeapi_fixtures import source_body
from hostile_server import KEY, answer, huge_body, serve

from bulk_sources.api.apikey import ApiKey
from bulk_sources.api.client import AnswerKind, ConsoleClient
from bulk_sources.errors import ListingFailed

BODY = source_body("a")


async def _create(url: str, **client: Any) -> Any:
    async with aiohttp.ClientSession() as session:
        return await ConsoleClient(session, url, ApiKey(KEY), timeout=10, **client).create(BODY)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirected_create_is_reported_with_its_host_and_not_followed(status: int) -> None:
    async with serve(answer(201, {"message": "ok", "data": {}})) as elsewhere:
        target = elsewhere.url.replace("http://", "") + "/steal"
        async with serve(answer(status, "", Location=f"http://{target}")) as api:
            result = await _create(api.url)
    assert result.kind is AnswerKind.REDIRECTED
    assert result.stops_run
    assert f"http://{target.removesuffix('/steal')}" in result.message
    assert elsewhere.seen == []


@pytest.mark.parametrize(
    "where", ["http://{other}/console/v1/experiments/assignment_sources", "http://10.0.0.9/x"]
)
async def test_a_redirected_listing_never_carries_the_key_elsewhere(where: str) -> None:
    async with serve(answer(200, {"data": [], "pagination": {}})) as elsewhere:
        location = where.format(other=elsewhere.url.removeprefix("http://"))
        async with (
            serve(answer(302, "", Location=location)) as api,
            aiohttp.ClientSession() as session,
        ):
            client = ConsoleClient(session, api.url, ApiKey(KEY), timeout=5)
            with pytest.raises(ListingFailed, match="redirected to http://") as info:
                await client.list_all()
    assert elsewhere.keys_received == []
    assert len(api.seen) == 1  # not retried either: a redirect won't change by itself
    assert "resume" not in str(info.value)


ECHOES = [
    {"message": f"Invalid key '{KEY}'"},
    {"message": f"key:{KEY}."},
    {"message": f"headers were {{'STATSIG-API-KEY': '{KEY}'}}"},
    {"message": {"headers": {"STATSIG-API-KEY": KEY}}},
    {"status": 400, "detail": f"<td>{KEY}</td>"},
    f"<html><body><pre>STATSIG-API-KEY: {KEY}</pre></body></html>",
    f"plain text dump: STATSIG-API-KEY={KEY}&x=1",
    f"{KEY}",
    f"split by an escape: {KEY[:10]}\x1b[0m{KEY[10:]}",
]


@pytest.mark.parametrize("status", [201, 400, 401, 500])
@pytest.mark.parametrize("body", ECHOES)
async def test_the_key_is_masked_wherever_the_server_echoes_it(status: int, body: object) -> None:
    async with serve(answer(status, body)) as api:
        result = await _create(api.url)
    assert KEY not in repr(result)
    assert KEY[8:] not in repr(result)


async def test_created_data_that_echoes_the_key_is_masked() -> None:
    body = {"message": "ok", "data": {"name": "a", "note": f"made with {KEY}", KEY: 1}}
    async with serve(answer(201, body)) as api:
        result = await _create(api.url)
    assert result.kind is AnswerKind.OK
    assert result.data is not None and result.data["name"] == "a"
    assert KEY not in repr(result.data)


async def test_a_huge_answer_is_read_to_one_mib_and_the_rest_discarded() -> None:
    async with serve(huge_body(50)) as api:
        tracemalloc.start()
        try:
            result = await _create(api.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.truncated
    assert "the rest discarded" in result.message
    assert len(result.message) < 400
    # The server shares this process (its 1 MiB chunks and socket buffers count too); reading
    # the whole answer would hold 50 MiB of bytes and 50 MiB of text at once.
    assert peak < 24 << 20, f"peak {peak / (1 << 20):.1f} MiB while reading a 50 MiB answer"


async def test_an_html_error_page_is_summarised_not_copied() -> None:
    page = (
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
        + "<p>nginx</p>" * 500
        + "</body></html>"
    )
    async with serve(answer(502, page, **{"Content-Type": "text/html"})) as api:
        result = await _create(api.url)
    assert result.kind is AnswerKind.SERVER_ERROR
    assert result.message == "HTTP 502 (HTML error page: 502 Bad Gateway)"


async def test_escape_sequences_from_the_server_never_reach_the_terminal() -> None:
    message = "\x1b[2J\x1b[Hgone\x1b]0;owned\x07 \u202eevil\r\nline" + "x" * 5000
    async with serve(answer(400, {"message": message})) as api:
        result = await _create(api.url)
    assert result.kind is AnswerKind.REJECTED
    assert "\x1b" not in result.message and "\u202e" not in result.message
    assert "\r" not in result.message and "\n" not in result.message
    assert result.message.startswith("gone evil line")
    assert len(result.message) <= 300


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (409, {"message": "Conflict"}),
        (409, ""),
        (400, {"message": "Name already taken"}),
        (400, {"message": "An assignment source already exists with name a"}),
        (422, {"message": "name is already in use"}),
    ],
)
async def test_duplicate_wordings_and_409_are_exists(status: int, body: object) -> None:
    async with serve(answer(status, body)) as api:
        result = await _create(api.url)
    assert result.kind is AnswerKind.EXISTS


async def test_a_server_that_hangs_up_mid_answer_is_no_answer() -> None:
    async def cut(request: web.Request) -> web.StreamResponse:
        await request.read()
        assert request.transport is not None
        request.transport.write(b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n{")
        await asyncio.sleep(0)
        request.transport.close()
        return web.Response()

    async with serve(cut) as api:
        result = await _create(api.url)
    assert result.kind is AnswerKind.NO_ANSWER
    assert KEY not in result.message


@pytest.mark.parametrize("body", ["[" * 100_000, '{"message": ' * 50_000, "\xff\xfe not json"])
async def test_a_body_json_cannot_parse_is_text(body: str) -> None:
    async with serve(answer(400, body)) as api:
        result = await _create(api.url)
    assert result.kind is AnswerKind.REJECTED
    assert len(result.message) <= 300
