"""ConsoleClient: the assignment-source endpoints over one aiohttp session, answers classified.

The client never raises for an HTTP status or a broken connection: every call returns an
`Answer` whose `kind` tells the runner what to do with it. Only `list_all` raises, since a
pre-flight listing that fails leaves nothing sensible to do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import aiohttp

from ..errors import AuthRefused, ListingFailed
from ..version import __version__
from .apikey import ApiKey
from .protocol import (
    API_VERSION,
    ITEM_PATH,
    KEY_HEADER,
    REVIEW_HEADER,
    SOURCES_PATH,
    VERSION_HEADER,
    check_base_url,
)

USER_AGENT = f"bulk-sources/{__version__} (+aiohttp/{aiohttp.__version__})"


class AnswerKind(Enum):
    OK = "ok"  # 2xx
    EXISTS = "exists"  # 400 whose message says the name is taken
    REJECTED = "rejected"  # any other 4xx but 401/403/429: permanent for this body
    AUTH = "auth"  # 401/403: the key is wrong for every row
    RATE_LIMITED = "rate_limited"  # 429
    SERVER_ERROR = "server_error"  # 5xx: transient
    NO_ANSWER = "no_answer"  # timeout or a connection lost after sending: may have happened
    NOT_SENT = "not_sent"  # could not connect at all: certainly did not happen


@dataclass(frozen=True)
class Answer:
    kind: AnswerKind
    status: int | None
    message: str
    data: dict[str, Any] | None = None
    retry_after: str | None = None

    @property
    def transient(self) -> bool:
        return self.kind in (AnswerKind.SERVER_ERROR, AnswerKind.NO_ANSWER, AnswerKind.NOT_SENT)


def _says_already_exists(message: str) -> bool:
    # Statsig words this differently per entity ("Name is already in use", "... already
    # exists with name ..."); the common part is "already".
    lowered = message.lower()
    return "already" in lowered and ("use" in lowered or "exist" in lowered)


def classify(status: int, body: Any, text: str, retry_after: str | None) -> Answer:
    message = ""
    data = None
    if isinstance(body, dict):
        message = str(body.get("message", ""))
        if isinstance(body.get("data"), dict):
            data = body["data"]
    if not message:
        message = text.strip()[:300] or f"HTTP {status}"
    message = mask_key(message)
    if 200 <= status < 300:
        return Answer(AnswerKind.OK, status, message, data)
    if status in (401, 403):
        return Answer(AnswerKind.AUTH, status, message)
    if status == 429:
        return Answer(AnswerKind.RATE_LIMITED, status, message, retry_after=retry_after)
    if status >= 500:
        return Answer(AnswerKind.SERVER_ERROR, status, message)
    if status == 400 and _says_already_exists(message):
        return Answer(AnswerKind.EXISTS, status, message)
    return Answer(AnswerKind.REJECTED, status, message)


class ConsoleClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: ApiKey,
        *,
        timeout: float = 30.0,
        respect_review_settings: bool = False,
    ) -> None:
        self._session = session
        self._base_url = check_base_url(base_url)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = {
            KEY_HEADER: api_key.reveal(),
            VERSION_HEADER: API_VERSION,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._mutation_headers = dict(self._headers)
        if respect_review_settings:
            self._mutation_headers[REVIEW_HEADER] = "true"

    @property
    def base_url(self) -> str:
        return self._base_url

    async def create(self, body: dict[str, Any]) -> Answer:
        return await self._request("POST", SOURCES_PATH, body)

    async def update(self, name: str, body: dict[str, Any]) -> Answer:
        """Full update (`POST .../assignment_source/{name}`)."""
        return await self._request("POST", ITEM_PATH.format(name=quote(name, safe="")), body)

    async def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Answer:
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = self._headers if method == "GET" else self._mutation_headers
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                data=payload,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                text = await response.text(errors="replace")
                try:
                    parsed: Any = json.loads(text) if text else None
                except ValueError:
                    parsed = None
                return classify(response.status, parsed, text, response.headers.get("Retry-After"))
        except aiohttp.ClientConnectorError as exc:
            return Answer(AnswerKind.NOT_SENT, None, f"could not connect: {exc.os_error}")
        except TimeoutError:
            return Answer(AnswerKind.NO_ANSWER, None, f"no answer within {self._timeout.total} s")
        except aiohttp.ClientError as exc:
            reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
            return Answer(AnswerKind.NO_ANSWER, None, f"connection lost ({reason})")

    async def list_all(
        self,
        *,
        page_limit: int = 100,
        pace: Callable[[], Awaitable[None]] | None = None,
        max_attempts: int = 5,
        retry_base: float = 0.5,
        retry_cap: float = 30.0,
    ) -> list[dict[str, Any]]:
        """Every existing assignment source, following `nextPage` until it is null."""
        items: list[dict[str, Any]] = []
        next_path: str | None = f"{SOURCES_PATH}?page=1&limit={page_limit}"
        seen_pages: set[str] = set()
        while next_path is not None:
            if next_path in seen_pages:  # a server that loops must not hang the run
                raise ListingFailed(f"the list endpoint returned page {next_path} twice")
            seen_pages.add(next_path)
            body = await self._get_page(next_path, pace, max_attempts, (retry_base, retry_cap))
            page_items = body.get("data") or []
            items.extend(item for item in page_items if isinstance(item, dict))
            pagination = body.get("pagination") or {}
            raw_next = pagination.get("nextPage")
            next_path = _relative(raw_next, self._base_url) if raw_next else None
        return items

    async def _get_page(
        self,
        path: str,
        pace: Callable[[], Awaitable[None]] | None,
        max_attempts: int,
        backoff: tuple[float, float],
    ) -> dict[str, Any]:
        base, cap = backoff
        last = ""
        for attempt in range(max_attempts):
            if pace is not None:
                await pace()
            try:
                async with self._session.get(
                    self._base_url + path, headers=self._headers, timeout=self._timeout
                ) as response:
                    text = await response.text(errors="replace")
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = f"{type(exc).__name__} {exc}".strip()
                await asyncio.sleep(min(cap, base * 2**attempt))
                continue
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = None
            answer = classify(status, parsed, text, retry_after)
            if answer.kind is AnswerKind.OK and isinstance(parsed, dict):
                return parsed
            if answer.kind is AnswerKind.AUTH:
                raise AuthRefused(
                    f"the API refused the key (HTTP {status}): {answer.message}; "
                    "check STATSIG_API_KEY or --api-key-file holds an active Console API key"
                )
            last = f"HTTP {status}: {answer.message}"
            if answer.kind is AnswerKind.REJECTED:
                break
            await asyncio.sleep(min(cap, base * 2**attempt))
        raise ListingFailed(
            f"could not list the existing assignment sources ({last}); check --base-url "
            "and the network, then run `bulk-sources resume` on the run folder"
        )


def _relative(next_page: str, base_url: str) -> str:
    """`nextPage` is documented as a relative path; accept an absolute URL on our host too."""
    absolute = urljoin(base_url + "/", next_page)
    parts = urlsplit(absolute)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def mask_key(message: str) -> str:
    """The 401 body quotes the key it got; keep only its prefix."""
    out = []
    for word in message.split():
        if word.startswith("console-") and len(word) > 12:
            word = word[:12] + "…"
        out.append(word)
    return " ".join(out)
