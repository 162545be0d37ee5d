"""The fake server's routes against the spec, over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.limits.windows import Window

SPEC = json.loads(
    (
        Path(__file__).resolve().parent.parent / "spec" / "assignment_sources.capi.openapi.json"
    ).read_text(encoding="utf-8")
)
CREATION = SPEC["components"]["schemas"]["AssignmentSourceCreationDto"]
LIST = "/console/v1/experiments/assignment_sources"
CREATE_201 = SPEC["paths"][LIST]["post"]["responses"]["201"]["content"]["application/json"]
EXAMPLE_DATA: dict[str, Any] = CREATE_201["example"]["data"]
NOT_FOUND = {"status": 404, "message": "Not Found. The requested resource could not be found."}
ROOMY = [Window(10_000, 1.0)]  # these tests are about answers, not limits


def item(name: str) -> str:
    return f"/console/v1/experiments/assignment_source/{quote(name, safe='')}"


def body(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "sql": "SELECT * FROM exposures",
        "timestampColumn": "ts",
        "experimentIDColumn": "experiment",
        "groupIDColumn": "group",
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "user_id"}],
        **extra,
    }


# A value of the wrong JSON type for each schema type. null only for the required fields:
# Statsig's validators (class-validator's @IsOptional) let null stand for "absent".
WRONG_VALUES: dict[str, list[Any]] = {
    "string": [123, True, ["x"], {"x": 1}],
    "boolean": ["true", 1, [True]],
    "integer": ["11", True, 11.5, [1]],
    "array": ["x", {"x": 1}, 3],
    "object": ["x", 3, [1]],
}


def _wrong_type_cases() -> list[tuple[str, Any]]:
    cases = []
    for field, schema in CREATION["properties"].items():
        for value in WRONG_VALUES[schema["type"]]:
            cases.append((field, value))
        if field in CREATION["required"]:
            cases.append((field, None))
    return cases


@pytest.fixture
async def server(fake_server_factory: Any) -> FakeApiServer:
    started: FakeApiServer = await fake_server_factory(FakeApiConfig(windows=ROOMY))
    return started


@pytest.fixture
async def session(server: FakeApiServer) -> Any:
    async with aiohttp.ClientSession(
        base_url=server.url, headers={"STATSIG-API-KEY": server.key}
    ) as s:
        yield s


async def post(session: aiohttp.ClientSession, payload: Any) -> tuple[int, dict[str, Any]]:
    async with session.post(LIST, json=payload) as response:
        return response.status, await response.json()


async def test_spec_example_body_is_created(
    session: aiohttp.ClientSession, server: FakeApiServer
) -> None:
    status, answer = await post(session, EXAMPLE_DATA)
    assert status == 201
    assert answer == {"message": "Assignment Source created successfully", "data": EXAMPLE_DATA}
    assert list(server.state.sources) == [EXAMPLE_DATA["name"]]


async def test_absent_description_and_tags_come_back_empty(session: aiohttp.ClientSession) -> None:
    status, answer = await post(session, body("plain"))
    assert status == 201
    assert answer["data"]["description"] == ""
    assert answer["data"]["tags"] == []
    assert "dryRun" not in answer["data"]


@pytest.mark.parametrize("field", CREATION["required"])
async def test_each_required_field_missing_is_400(
    session: aiohttp.ClientSession, server: FakeApiServer, field: str
) -> None:
    payload = body("x")
    del payload[field]
    status, answer = await post(session, payload)
    assert status == 400
    assert answer["status"] == 400
    assert field in answer["message"]
    assert not server.state.sources


@pytest.mark.parametrize(("field", "value"), _wrong_type_cases())
async def test_each_field_of_wrong_type_is_400(
    session: aiohttp.ClientSession, server: FakeApiServer, field: str, value: Any
) -> None:
    status, answer = await post(session, {**body("x"), field: value})
    assert (status, answer["status"]) == (400, 400)
    assert field in answer["message"]
    assert not server.state.sources


@pytest.mark.parametrize(
    ("mapping", "where"),
    [
        ([{"statsigUnitID": "userID"}], "column"),
        ([{"column": "user_id"}], "statsigUnitID"),
        ([{"statsigUnitID": 1, "column": "user_id"}], "statsigUnitID"),
        (["userID"], "idTypeMapping.0"),
        ([], "idTypeMapping"),
    ],
)
async def test_bad_id_type_mapping_items_are_400(
    session: aiohttp.ClientSession, mapping: Any, where: str
) -> None:
    status, answer = await post(session, body("x", idTypeMapping=mapping))
    assert status == 400
    assert where in answer["message"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"name"', "application/json"),
        (json.dumps(body("x")).encode(), "text/plain"),
    ],
)
async def test_bodies_that_are_not_a_json_object_are_400(
    session: aiohttp.ClientSession, data: bytes, content_type: str
) -> None:
    async with session.post(LIST, data=data, headers={"Content-Type": content_type}) as response:
        assert response.status == 400
        answer = await response.json()
    assert answer["status"] == 400
    assert answer["message"].startswith("Invalid request")


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_missing_and_wrong_keys_are_401_and_never_echoed(
    server: FakeApiServer, method: str
) -> None:
    wrong = "console-wrongkey-0123456789abcdef"
    async with aiohttp.ClientSession(base_url=server.url) as session:
        for headers, shown in (({}, "(none)"), ({"STATSIG-API-KEY": wrong}, "console-wron…")):
            async with session.request(method, LIST, json=body("x"), headers=headers) as response:
                assert response.status == 401
                text = await response.text()
            assert json.loads(text) == {
                "status": 401,
                "message": "This endpoint only accepts an active CONSOLE key, but an invalid "
                f"key was sent. Key: {shown}",
            }
            assert wrong not in text
    assert server.state.stats()["mutations"] == 0  # refused keys spend no budget
    assert not server.state.sources


async def test_duplicate_names_are_refused_case_sensitively(
    session: aiohttp.ClientSession, server: FakeApiServer
) -> None:
    assert (await post(session, body("Exposures")))[0] == 201
    status, answer = await post(session, body("Exposures", sql="SELECT 2"))
    assert (status, answer) == (
        400,
        {"status": 400, "message": "Name is already in use: Exposures"},
    )
    assert (await post(session, body("exposures")))[0] == 201
    assert list(server.state.sources) == ["Exposures", "exposures"]
    assert server.state.sources["Exposures"]["sql"] == "SELECT * FROM exposures"
    assert server.state.stats()["duplicates_refused"] == 1


async def test_dry_run_validates_without_storing(
    session: aiohttp.ClientSession, server: FakeApiServer
) -> None:
    status, answer = await post(session, body("dry", dryRun=True))
    assert status == 201
    assert answer["data"]["name"] == "dry"
    assert not server.state.sources
    assert (await post(session, body("dry")))[0] == 201
    status, answer = await post(session, body("dry", dryRun=True))
    assert status == 400
    assert "already in use" in answer["message"]


async def test_pagination_reaches_every_item_once_in_creation_order(
    session: aiohttp.ClientSession,
) -> None:
    names = [f"source-{i:02d}" for i in range(23)]
    for name in names:
        assert (await post(session, body(name)))[0] == 201
    seen: list[str] = []
    pages = []
    path: str | None = f"{LIST}?page=1&limit=10"
    while path is not None:
        async with session.get(path) as response:
            assert response.status == 200
            page = await response.json()
        pages.append(page["pagination"])
        seen += [source["name"] for source in page["data"]]
        path = page["pagination"]["nextPage"]
    assert seen == names
    assert pages[0] == {
        "itemsPerPage": 10,
        "pageNumber": 1,
        "totalItems": 23,
        "nextPage": f"{LIST}?page=2&limit=10",
        "previousPage": None,
        "all": LIST,
    }
    assert [p["previousPage"] for p in pages] == [
        None,
        f"{LIST}?page=1&limit=10",
        f"{LIST}?page=2&limit=10",
    ]
    assert pages[-1]["nextPage"] is None


async def test_page_beyond_the_end_is_empty_and_limit_is_capped(
    session: aiohttp.ClientSession,
) -> None:
    await post(session, body("only"))
    async with session.get(LIST, params={"page": "5", "limit": "10"}) as response:
        page = await response.json()
    assert page["data"] == []
    assert page["pagination"]["nextPage"] is None
    async with session.get(LIST, params={"limit": "1000"}) as response:
        page = await response.json()
    assert page["pagination"]["itemsPerPage"] == 100
    assert [s["name"] for s in page["data"]] == ["only"]


@pytest.mark.parametrize(
    "query", [{"page": "0"}, {"page": "abc"}, {"limit": "1.5"}, {"limit": "-3"}, {"limit": "0"}]
)
async def test_bad_page_or_limit_is_400(
    session: aiohttp.ClientSession, query: dict[str, str]
) -> None:
    async with session.get(LIST, params=query) as response:
        assert response.status == 400
        answer = await response.json()
    assert answer["status"] == 400
    assert next(iter(query)) in answer["message"]


async def test_full_update_replaces_fields_and_renames(
    session: aiohttp.ClientSession, server: FakeApiServer
) -> None:
    for name in ("first", "a b/c", "last"):
        await post(session, body(name, description="old"))
    update = {k: v for k, v in body("renamed", sql="SELECT 2").items()}
    async with session.post(item("a b/c"), json=update) as response:
        assert response.status == 200
        answer = await response.json()
    assert answer["message"] == "Assignment Source updated successfully"
    assert answer["data"]["sql"] == "SELECT 2"
    assert answer["data"]["description"] == "old"
    assert list(server.state.sources) == ["first", "renamed", "last"]  # keeps its place
    async with session.post(item("renamed"), json=body("last")) as response:
        assert response.status == 400
        assert "already in use" in (await response.json())["message"]
    missing_sql = {k: v for k, v in body("x").items() if k not in ("sql", "name")}
    async with session.post(item("renamed"), json=missing_sql) as response:
        assert response.status == 400
        assert "sql" in (await response.json())["message"]


async def test_partial_update_refuses_sql_and_changes_only_what_it_sends(
    session: aiohttp.ClientSession, server: FakeApiServer
) -> None:
    await post(session, body("src", tags=["a"]))
    async with session.patch(item("src"), json={"sql": "SELECT 3"}) as response:
        assert response.status == 400
        assert "sql" in (await response.json())["message"]
    async with session.patch(item("src"), json={"description": "new"}) as response:
        assert response.status == 200
        data = (await response.json())["data"]
    assert data["description"] == "new"
    assert data["tags"] == ["a"]
    assert server.state.sources["src"]["sql"] == "SELECT * FROM exposures"
    async with session.patch(item("src"), json={"tags": "a"}) as response:
        assert response.status == 400


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
async def test_unknown_name_is_404(session: aiohttp.ClientSession, method: str) -> None:
    payloads = {
        "POST": {k: v for k, v in body("x").items() if k != "name"},
        "PATCH": {"description": "new"},
        "DELETE": None,
    }
    payload = payloads[method]
    async with session.request(method, item("nope"), json=payload) as response:
        assert response.status == 404
        assert await response.json() == NOT_FOUND


async def test_delete_removes_the_source(
    session: aiohttp.ClientSession, server: FakeApiServer
) -> None:
    await post(session, body("gone soon"))
    async with session.delete(item("gone soon")) as response:
        assert response.status == 200
        assert await response.json() == {"message": "Assignment source deleted successfully."}
    assert not server.state.sources
    async with session.delete(item("gone soon")) as response:
        assert response.status == 404


async def test_stats_and_reset(session: aiohttp.ClientSession, server: FakeApiServer) -> None:
    await post(session, body("one"))
    await post(session, body("one"))
    async with session.get(LIST):
        pass
    async with session.get("/__stats", headers={"STATSIG-API-KEY": ""}) as response:
        stats = await response.json()
    assert stats == server.state.stats()
    assert stats["requests"]["by_status"] == {"200": 1, "201": 1, "400": 1}
    assert stats["requests"]["by_method"] == {"GET": 1, "POST": 2}
    assert (stats["sources_created"], stats["duplicates_refused"], stats["source_count"]) == (
        1,
        1,
        1,
    )
    async with session.post("/__reset") as response:
        assert response.status == 200
    assert not server.state.sources
    assert server.state.stats()["requests"]["total"] == 0
