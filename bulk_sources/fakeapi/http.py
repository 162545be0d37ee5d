"""What every route of the stand-in shares: the state's key, the error body, reading a body
and a paging parameter, and the project a request's key belongs to."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..api.protocol import KEY_HEADER
from .serverstate import FakeApiState
from .store import ApiError

INVALID = "Invalid request"
STATE_KEY = web.AppKey("fakeapi_state", FakeApiState)


def error_response(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    errors: list[Any] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if errors:
        body["errors"] = errors
    return web.json_response(body, status=status, headers=headers)


def project_of(request: web.Request) -> str:
    """The project of the request's key (checked already by the middleware)."""
    return request.app[STATE_KEY].config.project_of(request.headers.get(KEY_HEADER, ""))


async def read_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        raise ApiError(400, f"{INVALID}: the body is empty; send a JSON object")
    if request.content_type != "application/json":
        raise ApiError(
            400, f"{INVALID}: Content-Type must be application/json, not {request.content_type}"
        )
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"{INVALID}: the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"{INVALID}: the body must be a JSON object")
    return body


def positive_int(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ApiError(400, f"{INVALID}: {name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def pagination(path: str, page: int, limit: int, total: int) -> dict[str, Any]:
    """The `pagination` object every list answer carries."""

    def at(number: int) -> str:
        return f"{path}?page={number}&limit={limit}"

    return {
        "itemsPerPage": limit,
        "pageNumber": page,
        "totalItems": total,
        "nextPage": at(page + 1) if page * limit < total else None,
        "previousPage": at(page - 1) if page > 1 else None,
        "all": path,
    }
