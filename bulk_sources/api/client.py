"""ConsoleClient: the assignment-source endpoints over one aiohttp session, answers classified.

The client never raises for an HTTP status or a broken connection: every call returns an
`Answer` whose `kind` tells the runner what to do with it. Only `list_all` raises, since a
pre-flight listing that fails leaves nothing sensible to do.

What a hostile or broken server can't do to it: make it follow a redirect with the key
(redirects are never followed), make it hold more than `ANSWER_LIMIT` bytes of an answer,
or put the key, escape sequences or a whole HTML page into a message (see redact.py).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import aiohttp

from ..errors import ApiKeyError
from ..models import ListedSource
from ..version import __version__
from .answers import Answer, AnswerKind, classify, says_already_exists
from .apikey import ApiKey
from .protocol import (
    API_VERSION,
    ITEM_PATH,
    KEY_HEADER,
    REVIEW_HEADER,
    SOURCES_PATH,
    UNIT_TYPE_ITEM_PATH,
    UNIT_TYPES_PATH,
    VERSION_HEADER,
    check_base_url,
)
from .redact import redact, server_text

__all__ = [
    "ANSWER_LIMIT",
    "API_VERSION",
    "Answer",
    "AnswerKind",
    "ConsoleClient",
    "classify",
    "make_session",
    "mask_key",
    "says_already_exists",
]

USER_AGENT = f"bulk-sources/{__version__} (+aiohttp/{aiohttp.__version__})"
# An answer to a create or update is a few hundred bytes; anything past 1 MiB is discarded
# unread, so 16 workers can't be made to hold 16 huge bodies.
ANSWER_LIMIT = 1 << 20
_CHUNK = 1 << 16
CERT_HINT = (
    "if a corporate proxy inspects HTTPS, set SSL_CERT_FILE to a bundle holding its CA "
    "(and HTTPS_PROXY to the proxy)"
)


def make_session(
    concurrency: int, *, base_url: str = "https://", **kwargs: Any
) -> aiohttp.ClientSession:
    """The session a run uses: one connection per worker plus two, HTTPS_PROXY / NO_PROXY
    honoured (trust_env), and certificates checked against the CA store as it is now, so
    SSL_CERT_FILE / SSL_CERT_DIR set in the environment take effect.

    Proxies only for https: a plain-http base URL (loopback only) would hand the key in
    clear to an HTTP_PROXY, which is another host."""
    context = ssl.create_default_context()
    connector = aiohttp.TCPConnector(limit=concurrency + 2, ssl=context)
    trust_env = base_url.lower().startswith("https://")
    session = aiohttp.ClientSession(connector=connector, trust_env=trust_env, **kwargs)
    no_silent_resend(session)
    return session


def no_silent_resend(session: aiohttp.ClientSession) -> None:
    """aiohttp (3.11+) sends an idempotent request (DELETE, PUT) a second time, unseen, when
    a kept-alive connection drops under it. A DELETE that took effect and lost its answer
    then comes back 404, as if someone else had deleted the source, and the journal never
    knew of the second send. Every send must be ours: the executor retries, and settles a
    lost answer by listing. No public option exists (aiohttp 3.14), hence the attribute."""
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False


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
        self._secret = api_key.reveal()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = {
            KEY_HEADER: self._secret,
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

    def clean(self, text: str) -> str:
        """Server text (or an exception's text) made safe to print: see redact.server_text."""
        return server_text(text, self._secret)

    async def create(self, body: dict[str, Any]) -> Answer:
        return await self.request("POST", SOURCES_PATH, body)

    async def update(self, name: str, body: dict[str, Any]) -> Answer:
        """Full update (`POST .../assignment_source/{name}`)."""
        return await self.request("POST", ITEM_PATH.format(name=quote(name, safe="")), body)

    async def delete(self, name: str) -> Answer:
        """`DELETE .../assignment_source/{name}`: 404 when no source has that name."""
        return await self.request("DELETE", ITEM_PATH.format(name=quote(name, safe="")), None)

    async def create_unit_type(self, name: str, description: str = "") -> Answer:
        """`POST /console/v1/unit_id_types`: a mutation, like a source's create."""
        return await self.request(
            "POST", UNIT_TYPES_PATH, {"name": name, "description": description}
        )

    async def delete_unit_type(self, name: str) -> Answer:
        return await self.request(
            "DELETE", UNIT_TYPE_ITEM_PATH.format(name=quote(name, safe="")), None
        )

    async def get(self, path: str, *, body_limit: int = ANSWER_LIMIT) -> Answer:
        """A GET of `path` (relative to the base URL); the whole JSON body is `answer.body`."""
        return await self.request("GET", path, None, body_limit=body_limit)

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        body_limit: int = ANSWER_LIMIT,
    ) -> Answer:
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = self._headers if method == "GET" else self._mutation_headers
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                data=payload,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,  # aiohttp would carry STATSIG-API-KEY to the new host
            ) as response:
                raw, truncated = await _read_capped(response, body_limit)
                return self._classify(response, raw, truncated)
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            return Answer(AnswerKind.CERTIFICATE, None, self._tls_message(exc))
        except aiohttp.ClientConnectorError as exc:
            reason = self.clean(str(exc.os_error or exc))
            return Answer(AnswerKind.NOT_SENT, None, f"could not connect: {reason}")
        except TimeoutError:
            return Answer(AnswerKind.NO_ANSWER, None, f"no answer within {self._timeout.total} s")
        except aiohttp.ClientError as exc:
            reason = type(exc).__name__ + (f": {self.clean(str(exc))}" if str(exc) else "")
            return Answer(AnswerKind.NO_ANSWER, None, f"connection lost ({reason})")

    def _classify(self, response: aiohttp.ClientResponse, raw: bytes, truncated: bool) -> Answer:
        text = _decode(raw, response.charset)
        try:
            parsed: Any = None if truncated or not text else json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested 100k deep
            parsed = None
        location = response.headers.get("Location")
        answer = classify(
            response.status,
            parsed,
            text,
            response.headers.get("Retry-After"),
            secret=self._secret,
            content_type=response.headers.get("Content-Type"),
            redirect_to=self._redirect_target(location) if location is not None else None,
        )
        if truncated:
            message = f"{answer.message} (answer over {_size(len(raw))}, the rest discarded)"
            return Answer(
                answer.kind, answer.status, message, retry_after=answer.retry_after, truncated=True
            )
        return answer

    def _redirect_target(self, location: str) -> str:
        """Where a 3xx pointed, as scheme://host:port only (its path may carry anything)."""
        target = urlsplit(urljoin(self._base_url + "/", location.strip()))
        try:
            port = target.port
        except ValueError:
            port = None
        where = f"{target.scheme}://{target.hostname or ''}" + (f":{port}" if port else "")
        return self.clean(where)

    def _tls_message(self, exc: BaseException) -> str:
        host = urlsplit(self._base_url).hostname
        reason = self.clean(str(getattr(exc, "certificate_error", None) or exc))
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return f"the certificate of {host} could not be verified ({reason}); {CERT_HINT}"
        return f"the TLS handshake with {host} failed ({reason}); check --base-url, or {CERT_HINT}"

    async def list_all(
        self,
        *,
        page_limit: int = 100,
        pace: Callable[[], Awaitable[None]] | None = None,
        max_attempts: int = 5,
        retry_base: float = 0.5,
        retry_cap: float = 30.0,
        **caps: Any,
    ) -> list[ListedSource]:
        """Every existing assignment source (name and content), following `nextPage`; raises
        ListingFailed (a plain sentence, no advice about run folders) or AuthRefused.
        `caps` go to listing.Listing (max_pages, max_seconds, max_wait, rng)."""
        from .listing import Listing  # listing imports this module's types

        listing = Listing(
            self,
            page_limit=page_limit,
            pace=pace,
            max_attempts=max_attempts,
            retry=(retry_base, retry_cap),
            **caps,
        )
        return await listing.run()

    async def check_key(self) -> None:
        """The first listing page, one source long: a refused key (401/403) is said before
        the run makes anything. Any other answer leaves the verdict to the run itself, which
        retries what may pass and reports what does not."""
        answer = await self.get(f"{SOURCES_PATH}?page=1&limit=1")
        if answer.kind is AnswerKind.AUTH:
            raise ApiKeyError(
                f"the API refused the key (HTTP {answer.status}: {answer.message}); nothing "
                "was sent and no run folder was made: check STATSIG_API_KEY or "
                "--api-key-file holds an active Console API key for this project"
            )

    def page_path(self, next_page: str) -> str | None:
        """`nextPage` is documented as a relative path; an absolute URL is accepted only on
        the base URL's own scheme, host and port (None otherwise: the key stays home)."""
        base = urlsplit(self._base_url)
        target = urlsplit(urljoin(self._base_url + "/", next_page))
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            return None
        path = target.path
        if base.path and path.startswith(base.path + "/"):  # the server knows our prefix
            path = path[len(base.path) :]
        return path + (f"?{target.query}" if target.query else "")


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the body, and whether there was more (then the connection
    is closed rather than drained: a hostile body may never end)."""
    buffer = bytearray()
    while len(buffer) <= limit:
        chunk = await response.content.read(min(_CHUNK, limit + 1 - len(buffer)))
        if not chunk:
            return bytes(buffer), False
        buffer += chunk
    response.close()
    return bytes(buffer[:limit]), True


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python doesn't know
        return raw.decode("utf-8", errors="replace")


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


def mask_key(message: str) -> str:
    """Any Console key quoted in `message` cut to its prefix (the key itself unknown here)."""
    return redact(message, None)
