"""The run's budget end to end over real HTTP against the stand-in: a stricter project than
the tool is told is learned, remembered for the next run, reported in summary.json; a budget
someone else holds stops the run after --max-wait with exit 3 and the rest not_attempted."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from catalog_helpers import names, row, write_catalog
from fakeapi_fixtures import CREATE_PATH as CREATE
from fakeapi_fixtures import StartFakeServer, source_body
from submit_helpers import read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.fakeapi import FakeApiConfig
from bulk_sources.limits.windows import Window
from bulk_sources.run.entry import dry_run_async, submit_catalog_async

KEY = "console-ours-budget-test"
OTHER = "console-someone-else-same-project"
TOLD = (Window(20, 0.5), Window(60, 3.0))
STRICT = [Window(8, 0.5), Window(60, 3.0)]


def summary_of(run_dir: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((run_dir / "summary.json").read_text())
    return data


@pytest.mark.slow
async def test_a_stricter_project_is_learned_reported_and_remembered(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig(keys=[KEY], windows=STRICT))
    first = write_catalog(tmp_path / "first.csv", [row(n) for n in names(30, "a")])
    s = settings(server.url, tmp_path / "reports", windows=TOLD, concurrency=4)

    report = await submit_catalog_async(first, s, ApiKey(KEY))

    assert report.counts["created"] == 30
    budget = summary_of(report.run_dir)["budget"]
    assert isinstance(budget, dict)
    assert budget["source"] == "configured"
    assert budget["ceilings"] == ["20/500ms", "60/3s"]
    assert budget["in_force"][-2:] == ["8/500ms", "60/3s"]
    assert budget["rate_limited"] == summary_of(report.run_dir)["rate_limited_429"] >= 1
    changes = budget["changes"]
    assert changes and all({"at", "before", "after", "reason"} <= set(c) for c in changes)
    stats = server.state.stats()
    assert stats["rate_limited"] == budget["rate_limited"]

    # The dry run and the next run start from what was learned: no 429 at all.
    second = write_catalog(tmp_path / "second.csv", [row(n) for n in names(12, "b")])
    plan = await dry_run_async(second, s, ApiKey(KEY))
    assert plan.windows == ["8/500ms", "60/3s"] and plan.budget_source.startswith("learned")
    again = await submit_catalog_async(second, s, ApiKey(KEY))
    assert again.counts["created"] == 12
    budget = summary_of(again.run_dir)["budget"]
    assert isinstance(budget, dict)
    assert budget["source"] == "learned" and budget["rate_limited"] == 0
    assert server.state.stats()["rate_limited"] == stats["rate_limited"]


@pytest.mark.slow
async def test_keys_of_one_project_share_the_budget_with_project(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(
        FakeApiConfig(keys=[KEY, OTHER], windows=STRICT, projects={"shop": [KEY, OTHER]})
    )
    s = settings(server.url, tmp_path / "reports", windows=TOLD, concurrency=4, project="shop")
    first = write_catalog(tmp_path / "first.csv", [row(n) for n in names(30, "a")])
    await submit_catalog_async(first, s, ApiKey(KEY))
    spent = server.state.stats()["rate_limited"]
    second = write_catalog(tmp_path / "second.csv", [row(n) for n in names(12, "b")])
    again = await submit_catalog_async(second, s, ApiKey(OTHER))  # the other key
    assert again.counts["created"] == 12
    assert server.state.stats()["rate_limited"] == spent  # it knew the budget and what was sent


async def test_a_budget_someone_else_holds_stops_the_run_after_max_wait(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(
        FakeApiConfig(keys=[KEY, OTHER], windows=[Window(1, 60.0)], projects={"p": [KEY, OTHER]})
    )
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.url + CREATE, json=source_body("theirs"), headers={"STATSIG-API-KEY": OTHER}
        ) as response,
    ):
        assert response.status == 201
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(5)])
    s = settings(server.url, tmp_path / "reports", windows=(Window(10, 60.0),), max_wait=0.5)

    report = await submit_catalog_async(catalog, s, ApiKey(KEY))

    assert report.outcome == "stopped"  # exit 3
    assert report.stopped is not None and "someone else" in report.stopped
    assert {r["status"] for r in read_results(report.run_dir)} == {"not_attempted"}
    # The first burst (at most 4 in flight past a proven count of 0, +1) drew 429s; then it
    # waited instead of pounding the server until its patience ran out: one probe at a
    # time, after the shortest window that may be refusing, doubling (told one window
    # alone, burst protection not seen yet: 1/900 of it, 67, 133, 267 ms).
    assert server.state.stats()["rate_limited"] <= 5 + 3
