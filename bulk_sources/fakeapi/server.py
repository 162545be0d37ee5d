"""Run the stand-in on a real socket: `async with FakeApiServer(config) as server: server.url`."""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

from .app import create_app
from .config import FakeApiConfig
from .serverstate import FakeApiState

# Stalled requests may still be held when the server stops; don't wait minutes for them.
SHUTDOWN_TIMEOUT = 1.0


class FakeApiServer:
    def __init__(
        self, config: FakeApiConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config if config is not None else FakeApiConfig()
        self.host = host
        self.port = port
        self.state = FakeApiState(self.config)
        self.app = create_app(self.config, self.state)
        self._runner: web.AppRunner | None = None

    @property
    def key(self) -> str:
        return self.config.keys[0]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        # handler_cancellation stays off: a request the client gave up on still completes,
        # like on a real server (the hard case for exactly-once).
        runner = web.AppRunner(
            self.app,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            handler_cancellation=False,
            access_log=None,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if self.port == 0:
            self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeApiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
