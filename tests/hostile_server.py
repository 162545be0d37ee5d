"""A small misbehaving server for the client's tests: real aiohttp.web on a free loopback port.

    async with serve(handler) as server:        # handler(request) -> response, any path
        client = ConsoleClient(session, server.url, ApiKey(KEY))
        ...
        server.seen                             # every request that reached it

Handlers here do what a hostile or broken API (or proxy) might: redirect, echo the key,
stream a huge body, answer with odd list shapes.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEY = "console-Hq3xZ0secret9Wk2LmN7pQ4"


@dataclass
class Seen:
    method: str
    path_qs: str
    headers: dict[str, str]


@dataclass
class HostileServer:
    url: str
    seen: list[Seen] = field(default_factory=list)

    @property
    def keys_received(self) -> list[str]:
        return [s.headers["STATSIG-API-KEY"] for s in self.seen if "STATSIG-API-KEY" in s.headers]


@asynccontextmanager
async def serve(
    handler: Handler, *, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[HostileServer]:
    server = HostileServer(url="")

    async def record(request: web.Request) -> web.StreamResponse:
        server.seen.append(Seen(request.method, request.path_qs, dict(request.headers)))
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def answer(status: int, body: object = None, **headers: str) -> Handler:
    """Always the same answer: JSON when `body` is not a str, else text as given."""

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    return handle


def huge_body(megabytes: int) -> Handler:
    """A 200 whose body goes on for `megabytes` MiB, streamed; stops quietly when the
    client hangs up."""

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b'{"message": "' + b"x" * ((1 << 20) - 13)
        try:
            for _ in range(megabytes):
                await response.write(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    return handle


def pages(make: Callable[[int, web.Request], object]) -> Handler:
    """A list endpoint whose page N body is `make(N, request)`."""

    async def handle(request: web.Request) -> web.StreamResponse:
        number = int(request.query.get("page", "1"))
        return web.json_response(make(number, request))

    return handle
