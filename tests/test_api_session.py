"""make_session and the network around the client: certificates, proxies, a dead server."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fakeapi_fixtures import source_body
from hostile_server import KEY, answer, serve

from bulk_sources.api.apikey import ApiKey
from bulk_sources.api.client import AnswerKind, ConsoleClient, make_session
from bulk_sources.errors import ListingFailed

BODY = source_body("a")


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no CA store trusts, and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,digitalSignature"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_a_certificate_error_stops_the_run_with_the_ssl_cert_file_hint(
    self_signed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    ok = answer(201, {"message": "ok", "data": {}})
    async with (
        serve(ok, ssl_context=_server_context(*self_signed)) as api,
        make_session(4) as session,
    ):
        client = ConsoleClient(session, api.url, ApiKey(KEY), timeout=5)
        result = await client.create(BODY)
        with pytest.raises(ListingFailed, match="SSL_CERT_FILE"):
            await client.list_all()
    assert result.kind is AnswerKind.CERTIFICATE
    assert result.stops_run and not result.transient
    assert "SSL_CERT_FILE" in result.message and "127.0.0.1" in result.message
    assert len(result.message) < 400


async def test_make_session_trusts_the_ca_named_by_ssl_cert_file(
    self_signed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))
    ok = answer(201, {"message": "ok", "data": {}})
    async with (
        serve(ok, ssl_context=_server_context(*self_signed)) as api,
        make_session(4) as session,
    ):
        result = await ConsoleClient(session, api.url, ApiKey(KEY), timeout=5).create(BODY)
    assert result.kind is AnswerKind.OK


@asynccontextmanager
async def _forward_proxy(lines: list[str]) -> AsyncIterator[str]:
    """A plain HTTP forward proxy that answers every request itself, recording its line."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines.append(head.split(b"\r\n", 1)[0].decode())
        length = next(
            (
                int(h.split(b":")[1])
                for h in head.split(b"\r\n")
                if h.lower().startswith(b"content-length")
            ),
            0,
        )
        await reader.readexactly(length)
        body = b'{"message": "via proxy", "data": {"name": "a"}}'
        writer.write(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def test_make_session_honours_the_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with _forward_proxy(lines) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        async with make_session(4) as session:
            # Nothing listens on port 9: only the proxy can have answered.
            client = ConsoleClient(session, "http://127.0.0.1:9", ApiKey(KEY), timeout=5)
            result = await client.create(BODY)
    assert result.kind is AnswerKind.OK, result.message
    assert lines == ["POST http://127.0.0.1:9/console/v1/experiments/assignment_sources HTTP/1.1"]


async def test_a_server_that_is_gone_is_not_sent_and_says_could_not_connect() -> None:
    async with serve(answer(201, {"message": "ok", "data": {}})) as api:
        url = api.url
    async with make_session(2) as session:
        result = await ConsoleClient(session, url, ApiKey(KEY), timeout=5).create(BODY)
    assert result.kind is AnswerKind.NOT_SENT
    assert result.message.startswith("could not connect")
    assert result.transient and not result.stops_run
