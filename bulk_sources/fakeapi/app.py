"""The aiohttp.web application: the assignment-source routes, the limits, the faults, `/__stats`.

Per mutation (POST/PATCH/PUT/DELETE under /console/), in this order: read the body, sleep the
drawn inbound latency, check the key (401, not counted), count the arrival and check the
windows (429), then the faults (reset, 500, stall), the route itself, and create-then-drop;
then sleep the drawn answer latency before the answer leaves.
GETs skip the windows and the faults.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..api.protocol import ITEM_PATH, KEY_HEADER, MUTATIONS, SOURCES_PATH, masked
from ..models import AssignmentSourceCreate, AssignmentSourcePartialUpdate, AssignmentSourceUpdate
from .config import FakeApiConfig
from .faults import FaultDraw
from .http import (
    INVALID,
    STATE_KEY,
    error_response,
    pagination,
    positive_int,
    project_of,
    read_body,
)
from .limits import retry_after_header
from .serverstate import FakeApiState
from .store import NOT_FOUND, ApiError, DuplicateName
from .unitstore import UnknownUnitTypes
from .unittype_routes import add_unit_type_routes

__all__ = ["STATE_KEY", "create_app", "error_response"]

FLUSH_INTERVAL = 0.2  # seconds between state-file writes while mutations keep coming

_DROPPED = web.RequestKey("fakeapi_dropped", bool)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


def _drop(request: web.Request) -> web.Response:
    """Close the connection: the client sees a disconnect, never an HTTP answer."""
    request[_DROPPED] = True
    if request.transport is not None:
        request.transport.close()
    # aiohttp can't write this to a closing transport and lets it go quietly.
    return web.Response(status=500)


@web.middleware
async def _count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/__"):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # The router's own 404/405 in the API's JSON shape.
        message = NOT_FOUND if exc.status == 404 else exc.reason
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        response = error_response(exc.status, message, headers=allow)
    status = "dropped" if request.get(_DROPPED) else str(response.status)
    request.app[STATE_KEY].count_request(request.method, status)
    return response


@web.middleware
async def _api_rules(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/console/"):
        return await handler(request)
    state = request.app[STATE_KEY]
    if request.method not in MUTATIONS:
        return _refuse_key(request, state) or await _answer(request, handler, state)

    draw = state.faults.draw()
    response = await _mutation(request, handler, state, draw)
    if draw.answer_latency > 0 and not request.get(_DROPPED):
        await asyncio.sleep(draw.answer_latency)  # counted already: the answer leaves later
    return response


async def _mutation(
    request: web.Request, handler: Handler, state: FakeApiState, draw: FaultDraw
) -> web.StreamResponse:
    # Read the body now: once a client gives up on a stalled request aiohttp fails later reads,
    # and the stall must still be able to create the source.
    await request.read()
    if draw.latency > 0:
        await asyncio.sleep(draw.latency)
    refused = _refuse_key(request, state)
    if refused is not None:
        return refused
    key = request.headers[KEY_HEADER]
    wait = state.admit(key, state.clock())
    if wait is not None:
        # Like the real API: no rate-limit headers and no numbers, unless asked for.
        headers = {"Retry-After": retry_after_header(wait)} if state.config.retry_after else None
        return error_response(429, "Too many requests. Please try again later.", headers=headers)
    if draw.reset:
        state.fault_counts["reset"] += 1
        return _drop(request)
    if draw.error:
        state.fault_counts["error"] += 1
        return error_response(500, "Internal Server Error")
    if draw.stall:
        state.fault_counts["stall"] += 1
        await asyncio.sleep(state.config.faults.stall_seconds)
    response = await _answer(request, handler, state)
    if draw.create_then_drop:
        state.fault_counts["create_then_drop"] += 1
        return _drop(request)
    return response


def _refuse_key(request: web.Request, state: FakeApiState) -> web.Response | None:
    key = request.headers.get(KEY_HEADER, "")
    if key and state.is_known_key(key):
        return None
    shown = masked(key) if key else "(none)"
    return error_response(
        401,
        "This endpoint only accepts an active CONSOLE key, but an invalid key was sent. "
        f"Key: {shown}",
    )


async def _answer(
    request: web.Request, handler: Handler, state: FakeApiState
) -> web.StreamResponse:
    try:
        return await handler(request)
    except DuplicateName as exc:
        state.duplicates += 1
        return error_response(exc.status, exc.message)
    except UnknownUnitTypes as exc:
        state.unknown_unit_types += 1
        return error_response(exc.status, exc.message, errors=exc.errors)
    except ApiError as exc:
        return error_response(exc.status, exc.message)


def _validate(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"]) or "body"
            problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
        raise ApiError(400, f"{INVALID}: {'; '.join(problems)}") from None


async def list_sources(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    config = state.config
    page = positive_int(request, "page", 1)
    limit = min(positive_int(request, "limit", config.default_page_limit), config.max_page_limit)
    faults = config.listing
    if faults.endless:
        return _endless_page(page, limit)
    listed = state.store.listed(faults.lag, faults.hidden)
    return web.json_response(
        {
            "message": "Assignment Sources listed successfully.",
            "data": listed[(page - 1) * limit : page * limit],
            "pagination": pagination(SOURCES_PATH, page, limit, len(listed)),
        }
    )


def _endless_page(page: int, limit: int) -> web.Response:
    """A listing that never ends (ListingFaults.endless): no totalItems, new sources on every
    page and always a next page."""
    data = [{"name": f"endless_{page}_{i}", "sql": "SELECT 1"} for i in range(limit)]
    page_info = {
        "itemsPerPage": limit,
        "pageNumber": page,
        "nextPage": f"{SOURCES_PATH}?page={page + 1}&limit={limit}",
    }
    return web.json_response({"data": data, "pagination": page_info})


def _check_unit_types(request: web.Request, mapping: list[Any] | None) -> None:
    state = request.app[STATE_KEY]
    if state.config.strict_unit_types:
        state.unit_types.check_mapping(project_of(request), mapping)


async def create_source(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = _validate(AssignmentSourceCreate, await read_body(request))
    _check_unit_types(request, body.idTypeMapping)  # a dry run checks them too
    source, stored = state.store.create(body)
    if stored:
        state.created += 1
        state.dirty = True
    shape = state.config.listing.create_answer
    if shape == "empty":
        return web.Response(status=201)
    if shape == "text":
        return web.Response(status=201, text="Created", content_type="text/plain")
    data = {"name": source["name"]} if shape == "name" else source
    return web.json_response(
        {"message": "Assignment Source created successfully", "data": data}, status=201
    )


async def update_source(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    raw = await read_body(request)
    body: AssignmentSourceUpdate | AssignmentSourcePartialUpdate
    if request.method == "PATCH":
        if "sql" in raw:
            raise ApiError(
                400, f"{INVALID}: sql is read-only in a partial update (PATCH); use POST to set it"
            )
        body = _validate(AssignmentSourcePartialUpdate, raw)
    else:
        body = _validate(AssignmentSourceUpdate, raw)
    _check_unit_types(request, body.idTypeMapping)
    source, stored = state.store.update(request.match_info["name"], body)
    if stored:
        state.updated += 1
        state.dirty = True
    return web.json_response({"message": "Assignment Source updated successfully", "data": source})


async def delete_source(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.store.delete(request.match_info["name"])
    state.deleted += 1
    state.dirty = True
    return web.json_response({"message": "Assignment source deleted successfully."})


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].stats())


async def post_reset(request: web.Request) -> web.Response:
    request.app[STATE_KEY].reset()
    return web.json_response({"message": "Fake server state cleared."})


async def _persistence(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE_KEY]
    if state.config.state_file is None:
        yield
        return

    async def flush_now_and_then() -> None:
        # Batched: one write per FLUSH_INTERVAL at most, so a bulk run doesn't rewrite the
        # whole file per request. The snapshot is taken here, the writing done off the loop.
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            if state.dirty:
                state.dirty = False
                await asyncio.to_thread(state.save, state.snapshot())

    task = asyncio.create_task(flush_now_and_then())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    state.save()


def create_app(config: FakeApiConfig, state: FakeApiState | None = None) -> web.Application:
    """The stand-in as an aiohttp application. Serve it with FakeApiServer (or an AppRunner
    with handler_cancellation off, so a stalled request still completes after the client
    gives up)."""
    app = web.Application(middlewares=[_count_requests, _api_rules])
    app[STATE_KEY] = state if state is not None else FakeApiState(config)
    app.router.add_get(SOURCES_PATH, list_sources)
    app.router.add_post(SOURCES_PATH, create_source)
    app.router.add_post(ITEM_PATH, update_source)
    app.router.add_patch(ITEM_PATH, update_source)
    app.router.add_delete(ITEM_PATH, delete_source)
    add_unit_type_routes(app)
    app.router.add_get("/__stats", get_stats)
    app.router.add_post("/__reset", post_reset)
    app.cleanup_ctx.append(_persistence)
    return app
