"""list_all against lists that never end, repeat, take odd shapes, or keep saying 429."""

from __future__ import annotations

import random
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hostile_server import KEY, answer, pages, serve
from virtual_clock import virtual_clock

from bulk_sources.api.apikey import ApiKey
from bulk_sources.api.client import ConsoleClient
from bulk_sources.api.protocol import SOURCES_PATH
from bulk_sources.errors import ListingFailed
from bulk_sources.limits.backoff import full_jitter


def _item(name: str) -> dict[str, Any]:
    return {"name": name, "sql": f"SELECT '{name}'", "timestampColumn": "ts"}


def _next(number: int) -> str:
    return f"{SOURCES_PATH}?page={number + 1}&limit=1"


async def _list(url: str, **kwargs: Any) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(session, url, ApiKey(KEY), timeout=5)
        return await client.list_all(**kwargs)


async def test_the_listing_returns_names_and_content() -> None:
    def make(n: int, _: web.Request) -> object:
        last = n == 3
        return {"data": [_item(f"s{n}")], "pagination": {"nextPage": None if last else _next(n)}}

    async with serve(pages(make)) as api:
        items = await _list(api.url, page_limit=1)
    assert items == [_item("s1"), _item("s2"), _item("s3")]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"data": [], "pagination": [1]}, "pagination as a list"),
        ({"data": 5}, "data as a number"),
        ({"data": [_item("a")], "pagination": {"nextPage": 2}}, "nextPage as a number"),
        ({"data": [_item("a")], "pagination": {"nextPage": ["/x"]}}, "nextPage as a list"),
        ({"data": [_item("a")], "pagination": {"nextPage": {"p": 1}}}, "nextPage as an object"),
        ({"data": [_item("a")], "pagination": {"nextPage": True}}, "nextPage as true/false"),
        ({"data": ["a", "b"]}, "item 1 as a string"),
        ({"data": [{"sql": "x"}]}, "item 1 without a name"),
        ([1, 2], "not a JSON object"),
        ("<html>hi</html>", "not a JSON object"),
    ],
)
async def test_an_odd_shape_is_one_sentence(body: object, says: str) -> None:
    async with serve(answer(200, body)) as api:
        with pytest.raises(ListingFailed, match=says) as info:
            await _list(api.url)
    message = str(info.value)
    assert message.startswith("could not list the existing assignment sources")
    assert "resume" not in message and "\n" not in message


async def test_a_list_that_never_ends_stops_at_a_cap_derived_from_total_items() -> None:
    def make(n: int, _: web.Request) -> object:
        return {
            "data": [_item(f"s{n}")],
            "pagination": {"nextPage": _next(n), "totalItems": 3, "itemsPerPage": 1},
        }

    async with serve(pages(make)) as api:
        with pytest.raises(ListingFailed, match="past 16 pages"):
            await _list(api.url, page_limit=1)
    assert len(api.seen) == 16  # 2 x 3 pages + 10


async def test_a_list_that_never_ends_without_total_items_stops_at_the_page_cap() -> None:
    def make(n: int, _: web.Request) -> object:
        return {"data": [_item(f"s{n}")], "pagination": {"nextPage": _next(n)}}

    async with serve(pages(make)) as api:
        with pytest.raises(ListingFailed, match="past 40 pages"):
            await _list(api.url, page_limit=1, max_pages=40)
    assert len(api.seen) == 40


async def test_the_same_content_under_a_changing_url_is_caught_at_once() -> None:
    def make(n: int, _: web.Request) -> object:
        return {"data": [_item("a"), _item("b")], "pagination": {"nextPage": _next(n)}}

    async with serve(pages(make)) as api:
        with pytest.raises(ListingFailed, match="page 2 holds the same sources as page 1"):
            await _list(api.url)
    assert len(api.seen) == 2


async def test_an_empty_page_ends_the_list_whatever_next_page_says() -> None:
    def make(n: int, _: web.Request) -> object:
        return {"data": [_item("a")] if n == 1 else [], "pagination": {"nextPage": _next(n)}}

    async with serve(pages(make)) as api:
        assert await _list(api.url) == [_item("a")]
    assert len(api.seen) == 2


async def test_a_next_page_on_another_host_is_refused_and_gets_no_key() -> None:
    async with serve(answer(200, {"data": []})) as elsewhere:
        body = {"data": [_item("a")], "pagination": {"nextPage": elsewhere.url + SOURCES_PATH}}
        async with serve(answer(200, body)) as api:
            with pytest.raises(ListingFailed, match="another server"):
                await _list(api.url)
    assert elsewhere.seen == []


async def test_a_retry_after_beyond_the_bound_ends_the_listing_at_once() -> None:
    async with serve(answer(429, {"message": "slow"}, **{"Retry-After": "99999999"})) as api:
        with pytest.raises(ListingFailed, match="asked to wait 1e\\+08 s"):
            await _list(api.url, max_wait=300)
    assert len(api.seen) == 1


async def test_a_retry_after_within_the_bound_is_waited_exactly() -> None:
    def make() -> Any:
        calls = 0

        async def handle(request: web.Request) -> web.StreamResponse:
            nonlocal calls
            calls += 1
            if calls == 1:
                return web.json_response({}, status=429, headers={"Retry-After": "7"})
            return web.json_response({"data": [_item("a")]})

        return handle

    async with serve(make()) as api:
        with virtual_clock(io_grace=0.05) as clock:
            items = await _list(api.url)
            waited = clock.elapsed
    assert items == [_item("a")]
    assert waited == pytest.approx(7.0, abs=0.01)


async def test_endless_429s_and_5xx_give_up_after_max_attempts_with_full_jitter() -> None:
    async with serve(answer(503, {"message": "down"})) as api:
        with virtual_clock(io_grace=0.05) as clock:
            with pytest.raises(ListingFailed, match="after 4 tries \\(HTTP 503: down\\)"):
                await _list(
                    api.url, max_attempts=4, retry_base=2.0, retry_cap=5.0, rng=random.Random(3)
                )
            waited = clock.elapsed
    assert len(api.seen) == 4
    rng = random.Random(3)
    expected = sum(full_jitter(a, base=2.0, cap=5.0, rng=rng) for a in range(3))
    assert waited == pytest.approx(expected, abs=0.01)


async def test_a_listing_slower_than_its_time_cap_stops() -> None:
    async with serve(answer(503, {"message": "down"})) as api:
        with (
            virtual_clock(io_grace=0.05),
            pytest.raises(ListingFailed, match="took longer than 60 s"),
        ):
            await _list(api.url, max_attempts=1000, retry_base=10.0, retry_cap=30.0, max_seconds=60)
    assert len(api.seen) < 20


async def test_the_same_next_page_twice_is_caught() -> None:
    def make(n: int, _: web.Request) -> object:
        return {"data": [_item(f"s{n}")], "pagination": {"nextPage": _next(1)}}

    async with serve(pages(make)) as api:
        with pytest.raises(ListingFailed, match=r"returned page .* twice"):
            await _list(api.url)
    assert len(api.seen) == 2
