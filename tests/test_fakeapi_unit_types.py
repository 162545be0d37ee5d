"""The stand-in's /console/v1/unit_id_types and the unit-type check of a create, over HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from fakeapi_fixtures import StartFakeServer, source_body

from bulk_sources.cli.main import main
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.limits.windows import Window

TYPES = "/console/v1/unit_id_types"
SOURCES = "/console/v1/experiments/assignment_sources"
ROOMY = [Window(10_000, 1.0)]
SHOP, LAB = "console-shop-01234567aa", "console-lab-01234567bb"


async def call(
    server: FakeApiServer, method: str, path: str, body: Any = None, key: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"STATSIG-API-KEY": key or server.key}
    async with (
        aiohttp.ClientSession(base_url=server.url, headers=headers) as session,
        session.request(method, path, json=body) as response,
    ):
        return response.status, await response.json()


def with_units(name: str, *units: str) -> dict[str, Any]:
    mapping = [{"statsigUnitID": unit, "column": f"c{i}"} for i, unit in enumerate(units)]
    return {**source_body(name), "idTypeMapping": mapping}


async def test_built_ins_and_added_types_are_listed_paged(
    fake_server_factory: StartFakeServer,
) -> None:
    extra = [f"type{i}ID" for i in range(11)]
    server = await fake_server_factory(FakeApiConfig(windows=ROOMY, unit_types=extra))
    status, first = await call(server, "GET", TYPES)
    assert status == 200
    assert [t["name"] for t in first["data"]] == ["userID", "stableID", *extra[:8]]
    assert first["pagination"]["totalItems"] == 13
    assert first["pagination"]["nextPage"] == f"{TYPES}?page=2&limit=10"
    status, second = await call(server, "GET", first["pagination"]["nextPage"])
    assert [t["name"] for t in second["data"]] == extra[8:]
    assert second["pagination"]["nextPage"] is None
    assert server.state.stats()["mutations"] == 0  # GETs are outside the quota


async def test_create_get_delete_count_as_mutations_per_project(
    fake_server_factory: StartFakeServer,
) -> None:
    server = await fake_server_factory(
        FakeApiConfig(windows=ROOMY, projects={"shop": [SHOP], "lab": [LAB]})
    )
    status, created = await call(server, "POST", TYPES, {"name": "accountID"}, key=SHOP)
    assert (status, created["data"]) == (201, {"name": "accountID", "description": ""})
    assert (await call(server, "GET", f"{TYPES}/accountID", key=SHOP))[0] == 200
    assert (await call(server, "GET", f"{TYPES}/accountID", key=LAB))[0] == 404
    status, again = await call(server, "POST", TYPES, {"name": "accountID"}, key=SHOP)
    assert (status, again["message"]) == (400, "Name is already in use: accountID")
    assert (await call(server, "DELETE", f"{TYPES}/accountID", key=SHOP))[0] == 200
    assert (await call(server, "DELETE", f"{TYPES}/accountID", key=SHOP))[0] == 404
    assert (await call(server, "DELETE", f"{TYPES}/userID", key=SHOP))[0] == 400
    stats = server.state.stats()
    assert stats["per_project"]["shop"]["mutations"] == 5
    assert stats["unit_types"]["created"] == 1
    assert stats["unit_types"]["deleted"] == 1


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": 3}, {"name": "a b"}])
async def test_bad_unit_type_bodies_are_400(fake_server: FakeApiServer, body: Any) -> None:
    status, answer = await call(fake_server, "POST", TYPES, body)
    assert status == 400
    assert answer["message"].startswith("Invalid request")


async def test_unknown_unit_type_is_a_400_with_an_errors_list(
    fake_server_factory: StartFakeServer,
) -> None:
    server = await fake_server_factory(FakeApiConfig(windows=ROOMY, unit_types=["accountID"]))
    status, answer = await call(server, "POST", SOURCES, with_units("a", "userId", "accountID"))
    assert status == 400
    assert answer["status"] == 400
    assert [e["property"] for e in answer["errors"]] == ["idTypeMapping"]
    assert "'userId' does not exist" in answer["errors"][0]["message"]
    assert "userID, stableID, accountID" in answer["errors"][0]["message"]
    assert not server.state.sources
    dry = {**with_units("b", "nope"), "dryRun": True}
    assert (await call(server, "POST", SOURCES, dry))[0] == 400  # a dry run checks too
    update = with_units("c", "userID")
    assert (await call(server, "POST", SOURCES, update))[0] == 201
    status, _ = await call(
        server, "POST", "/console/v1/experiments/assignment_source/c", with_units("c", "x")
    )
    assert status == 400
    assert server.state.stats()["unit_types"]["unknown_refused"] == 3


async def test_a_type_created_in_the_project_makes_the_source_pass(
    fake_server: FakeApiServer,
) -> None:
    assert (await call(fake_server, "POST", SOURCES, with_units("a", "companyID")))[0] == 400
    assert (await call(fake_server, "POST", TYPES, {"name": "companyID"}))[0] == 201
    assert (await call(fake_server, "POST", SOURCES, with_units("a", "companyID")))[0] == 201


async def test_dry_run_persists_nothing_and_counts(fake_server: FakeApiServer) -> None:
    status, answer = await call(
        fake_server, "POST", SOURCES, {**with_units("a", "userID"), "dryRun": True}
    )
    assert status == 201
    assert answer["data"]["name"] == "a"
    assert not fake_server.state.sources
    assert fake_server.state.stats()["mutations"] == 1


async def test_not_strict_accepts_unknown_types(fake_server_factory: StartFakeServer) -> None:
    server = await fake_server_factory(FakeApiConfig(windows=ROOMY, strict_unit_types=False))
    assert (await call(server, "POST", SOURCES, with_units("a", "whatever")))[0] == 201


def test_fake_server_options_build_the_config() -> None:
    from bulk_sources.cli.fake_server import build_config
    from bulk_sources.cli.main import build_parser

    args = build_parser().parse_args(
        [
            "fake-server",
            "--unit-type",
            "accountID",
            "--unit-type",
            "orgID",
            "--no-strict-unit-types",
        ]
    )
    config = build_config(args)
    assert config.unit_types == ["accountID", "orgID"]
    assert config.strict_unit_types is False


def test_a_unit_type_with_spaces_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fake-server", "--unit-type", "account id"]) == 2
    assert "must be one word" in capsys.readouterr().err


async def test_unit_types_survive_a_restart(
    fake_server_factory: StartFakeServer, tmp_path: Any
) -> None:
    config = FakeApiConfig(keys=["console-keep-0123456789"], state_file=tmp_path / "s.json")
    server = await fake_server_factory(config)
    assert (await call(server, "POST", TYPES, {"name": "orgID"}))[0] == 201
    await server.stop()
    again = await fake_server_factory(
        FakeApiConfig(keys=["console-keep-0123456789"], state_file=tmp_path / "s.json")
    )
    assert "orgID" in again.state.unit_types.names("default")


async def test_patch_changes_only_the_description(fake_server: FakeApiServer) -> None:
    status, answer = await call(fake_server, "PATCH", f"{TYPES}/userID", {"description": "u"})
    assert (status, answer["data"]) == (200, {"name": "userID", "description": "u"})
    assert (await call(fake_server, "PATCH", f"{TYPES}/userID", {"name": "x"}))[0] == 400
    assert (await call(fake_server, "PATCH", f"{TYPES}/nope", {"description": "u"}))[0] == 404
    assert fake_server.state.stats()["mutations"] == 3
