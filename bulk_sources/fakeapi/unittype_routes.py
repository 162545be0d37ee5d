"""The `/console/v1/unit_id_types` routes: list (paged like the sources), get, create,
update (PATCH, the description only) and delete.

Mutations among them go through the same middleware as the sources' (counted in the same
per-project windows, faults and all)."""

from __future__ import annotations

from aiohttp import web

from ..api.protocol import UNIT_TYPE_ITEM_PATH, UNIT_TYPES_PATH
from .http import STATE_KEY, pagination, positive_int, project_of, read_body
from .store import NOT_FOUND, ApiError

# The reference pages document 10 as the list's default page size.
DEFAULT_LIMIT = 10


def _refuse_if_told(request: web.Request) -> None:
    status = request.app[STATE_KEY].config.unit_types_status
    if status is not None:
        raise ApiError(status, NOT_FOUND if status == 404 else "Forbidden")


async def list_unit_types(request: web.Request) -> web.Response:
    _refuse_if_told(request)
    state = request.app[STATE_KEY]
    page = positive_int(request, "page", 1)
    limit = min(positive_int(request, "limit", DEFAULT_LIMIT), state.config.max_page_limit)
    data, total = state.unit_types.page(project_of(request), page, limit)
    return web.json_response(
        {
            "message": "Unit ID types listed successfully.",
            "data": data,
            "pagination": pagination(UNIT_TYPES_PATH, page, limit, total),
        }
    )


async def get_unit_type(request: web.Request) -> web.Response:
    _refuse_if_told(request)
    state = request.app[STATE_KEY]
    found = state.unit_types.get(project_of(request), request.match_info["name"])
    return web.json_response({"message": "Unit ID type read successfully.", "data": found})


async def create_unit_type(request: web.Request) -> web.Response:
    _refuse_if_told(request)
    state = request.app[STATE_KEY]
    created = state.unit_types.create(project_of(request), await read_body(request))
    state.unit_types_created += 1
    state.dirty = True
    return web.json_response(
        {"message": "Unit ID type created successfully.", "data": created}, status=201
    )


async def update_unit_type(request: web.Request) -> web.Response:
    _refuse_if_told(request)
    state = request.app[STATE_KEY]
    body = await read_body(request)
    updated = state.unit_types.update(project_of(request), request.match_info["name"], body)
    state.dirty = True
    return web.json_response({"message": "Unit ID type updated successfully.", "data": updated})


async def delete_unit_type(request: web.Request) -> web.Response:
    _refuse_if_told(request)
    state = request.app[STATE_KEY]
    state.unit_types.delete(project_of(request), request.match_info["name"])
    state.unit_types_deleted += 1
    state.dirty = True
    return web.json_response({"message": "Unit ID type deleted successfully."})


def add_unit_type_routes(app: web.Application) -> None:
    app.router.add_get(UNIT_TYPES_PATH, list_unit_types)
    app.router.add_post(UNIT_TYPES_PATH, create_unit_type)
    app.router.add_get(UNIT_TYPE_ITEM_PATH, get_unit_type)
    app.router.add_patch(UNIT_TYPE_ITEM_PATH, update_unit_type)
    app.router.add_delete(UNIT_TYPE_ITEM_PATH, delete_unit_type)
