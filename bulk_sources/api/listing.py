"""The list of existing assignment sources, read page by page, bounded in every way.

A server can't make the listing run forever (a page cap derived from `totalItems`, a time
cap, a repeated path or repeated content ends it, and so does an empty page), can't crash it
with an odd shape (every field is checked and a wrong one is a ListingFailed sentence), and
can't make it wait longer than `max_wait` on a Retry-After. Retries use the same full-jitter
backoff as the rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from ..errors import AuthRefused, ListingFailed
from ..limits.backoff import full_jitter, parse_retry_after
from ..models import ListedSource
from .answers import Answer, AnswerKind
from .protocol import SOURCES_PATH

if TYPE_CHECKING:
    from .client import ConsoleClient

# GETs are not said to count against the mutation windows; 5 pages a second is still gentle.
PAGES_PER_SECOND = 5
# With no totalItems to go by: 1,000 pages of 100 is 100,000 sources, far past any project
# (each is made and kept by hand or by a migration like this one), and at PAGES_PER_SECOND
# they take under 4 minutes, so an endless listing ends in minutes.
DEFAULT_MAX_PAGES = 1_000
# Three times what the page cap takes at that pace (10 min): slower than that is a server
# trickling pages, not a big project. (A network bound, not a rate-window one.)
DEFAULT_MAX_SECONDS = 3.0 * DEFAULT_MAX_PAGES / PAGES_PER_SECOND
# Told (pages read, sources so far) after every page; the CLI sets it to show progress on
# stderr for a long listing (the library prints nothing).
PAGE_PROGRESS: ContextVar[Callable[[int, int], None] | None] = ContextVar(
    "page_progress", default=None
)
# A Retry-After longer than this on a GET ends the listing instead of waiting it out.
DEFAULT_MAX_WAIT = 300.0
# A page holds up to 100 sources whose SQL may be long; bounded, but not at 1 MiB.
PAGE_LIMIT = 32 << 20
FAILED = "could not list the existing assignment sources"


class Listing:
    def __init__(
        self,
        client: ConsoleClient,
        *,
        page_limit: int = 100,
        pace: Callable[[], Awaitable[None]] | None = None,
        max_attempts: int = 5,
        retry: tuple[float, float] = (0.5, 30.0),
        max_pages: int | None = None,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        max_wait: float = DEFAULT_MAX_WAIT,
        rng: random.Random | None = None,
        path: str = SOURCES_PATH,
        what: str = "the existing assignment sources",
    ) -> None:
        self._client = client
        self._path = path
        self._failed = f"could not list {what}"
        self._page_limit = page_limit
        self._pace = pace
        self._max_attempts = max(1, max_attempts)
        self._retry_base, self._retry_cap = retry
        self._max_pages = max_pages
        self._max_seconds = max_seconds
        self._max_wait = max_wait
        self._rng = rng if rng is not None else random.Random()
        self._deadline = math.inf

    async def run(self) -> list[ListedSource]:
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self._max_seconds
        items: list[ListedSource] = []
        path: str | None = f"{self._path}?page=1&limit={self._page_limit}"
        seen_paths: set[str] = set()
        seen_content: dict[str, int] = {}
        cap = self._max_pages or DEFAULT_MAX_PAGES
        number = 0
        while path is not None:
            number += 1
            if number > cap:
                raise ListingFailed(f"{self._failed}: the list went on past {cap} pages")
            if path in seen_paths:  # a server that loops must not hang the run
                raise ListingFailed(f"{self._failed}: the API returned page {path} twice")
            seen_paths.add(path)
            body = await self._page(path)
            page_items, pagination = _parse_page(body, number, self._failed)
            if not page_items:  # past the end of an offset list every page is empty
                break
            digest = _digest(page_items)
            if digest in seen_content:
                raise ListingFailed(
                    f"{self._failed}: page {number} holds the same sources as page "
                    f"{seen_content[digest]}, so the list would never end"
                )
            seen_content[digest] = number
            items.extend(page_items)
            told = PAGE_PROGRESS.get()
            if told is not None:
                told(number, len(items))
            if number == 1 and self._max_pages is None:
                cap = _derived_cap(pagination, len(page_items), self._page_limit)
            path = self._next_path(pagination, number)
        return items

    def _next_path(self, pagination: dict[str, Any], number: int) -> str | None:
        raw = pagination.get("nextPage")
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise ListingFailed(
                f"{self._failed}: page {number} gives nextPage as {_json_type(raw)}, not a path"
            )
        path = self._client.page_path(raw)
        if path is None:
            where = self._client.clean(raw)[:80]
            raise ListingFailed(
                f"{self._failed}: page {number} points to another server for the next page "
                f"({where}); the key is sent only to --base-url"
            )
        return path

    async def _page(self, path: str) -> dict[str, Any]:
        """One page's body, retrying what may pass; raises for anything that won't."""
        last: Answer | None = None
        for attempt in range(self._max_attempts):
            self._check_time()
            if self._pace is not None:
                await self._pace()
            answer = await self._client.get(path, body_limit=PAGE_LIMIT)
            delay = self._verdict(answer, attempt)
            if delay is None:
                if not isinstance(answer.body, dict):
                    raise ListingFailed(f"{self._failed}: a page is not a JSON object")
                return answer.body
            last = answer
            if attempt + 1 < self._max_attempts:
                await self._sleep(delay)
        assert last is not None
        raise ListingFailed(f"{self._failed} after {self._max_attempts} tries ({_describe(last)})")

    def _verdict(self, answer: Answer, attempt: int) -> float | None:
        """None when `answer` is the page; else how long to wait before the next try.
        Raises when no retry can help."""
        kind = answer.kind
        if kind is AnswerKind.OK:
            if answer.truncated:
                raise ListingFailed(f"{self._failed}: a page was over {PAGE_LIMIT >> 20} MiB")
            return None
        if kind is AnswerKind.AUTH:
            raise AuthRefused(
                f"the API refused the key (HTTP {answer.status}): {answer.message}; "
                "check STATSIG_API_KEY or --api-key-file holds an active Console API key"
            )
        if kind in (AnswerKind.REDIRECTED, AnswerKind.CERTIFICATE):
            raise ListingFailed(f"{self._failed}: {answer.message}")
        if kind in (AnswerKind.REJECTED, AnswerKind.EXISTS):
            raise ListingFailed(
                f"{self._failed}: the API refused the request ({_describe(answer)})"
            )
        backoff = full_jitter(attempt, base=self._retry_base, cap=self._retry_cap, rng=self._rng)
        if kind is AnswerKind.RATE_LIMITED:
            asked = parse_retry_after(answer.retry_after)
            if asked is not None and asked > self._max_wait:
                raise ListingFailed(
                    f"{self._failed}: the API asked to wait {asked:g} s (Retry-After), longer than "
                    f"the {self._max_wait:g} s this run waits"
                )
            return asked if asked is not None else backoff
        return backoff

    async def _sleep(self, delay: float) -> None:
        remaining = self._deadline - asyncio.get_running_loop().time()
        if delay >= remaining:
            self._time_out()
        await asyncio.sleep(delay)

    def _check_time(self) -> None:
        if asyncio.get_running_loop().time() >= self._deadline:
            self._time_out()

    def _time_out(self) -> None:
        raise ListingFailed(f"{self._failed}: it took longer than {self._max_seconds:g} s")


def _parse_page(
    body: dict[str, Any], number: int, failed: str = FAILED
) -> tuple[list[ListedSource], dict[str, Any]]:
    """The page's items and pagination, or a ListingFailed saying what is wrong with them."""
    where = f"{failed}: page {number}"
    data = body.get("data")
    data = [] if data is None else data
    if not isinstance(data, list):
        raise ListingFailed(f"{where} gives data as {_json_type(data)}, not a list")
    for index, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise ListingFailed(f"{where} has item {index} as {_json_type(item)}, not an object")
        if not isinstance(item.get("name"), str):
            raise ListingFailed(f"{where} has item {index} without a name")
    pagination = body.get("pagination")
    pagination = {} if pagination is None else pagination
    if not isinstance(pagination, dict):
        raise ListingFailed(f"{where} gives pagination as {_json_type(pagination)}, not an object")
    return data, pagination


def _derived_cap(pagination: dict[str, Any], first_page: int, asked: int) -> int:
    """From totalItems when the server gives it: its pages twice over (sources created
    while we list shift the pages) plus a margin; else the default."""
    total = _count(pagination.get("totalItems"))
    per_page = _count(pagination.get("itemsPerPage")) or first_page or asked
    if total is None:
        return DEFAULT_MAX_PAGES
    return min(DEFAULT_MAX_PAGES, 2 * math.ceil(total / max(1, per_page)) + 10)


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None


def _digest(items: list[ListedSource]) -> str:
    text = json.dumps(items, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"a number ({value!r:.20})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _describe(answer: Answer) -> str:
    status = f"HTTP {answer.status}: " if answer.status is not None else ""
    return f"{status}{answer.message}"
