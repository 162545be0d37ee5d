"""rollback against the real stand-in: what a run made is undone, nothing else is touched."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from catalog_helpers import names, row, write_catalog
from fakeapi_fixtures import StartFakeServer
from submit_helpers import read_journal, read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.api.protocol import ITEM_PATH
from bulk_sources.errors import RollbackRefused
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.fakeapi.config import FaultConfig
from bulk_sources.limits.windows import Window
from bulk_sources.run.entry import resume_run_async, submit_catalog_async
from bulk_sources.run.plan.compare import content_of
from bulk_sources.run.record.folder import RunLock, RunRecord
from bulk_sources.run.rollback.start import plan_rollback, rollback_run_async

# The real windows' shape (100/10 s, 1800/15 min) scaled down: the whole scenario in seconds.
WINDOWS = (Window(100, 0.2), Window(1800, 18.0))
FAULTS = FaultConfig(error_rate=0.05, reset_rate=0.02, create_then_drop_rate=0.02, seed=11)
TAG = "bulk-2026"


def original(name: str) -> dict[str, Any]:
    """A source that was there before the run, with other content than the catalog's."""
    return {
        "name": name,
        "sql": f"SELECT * FROM legacy_{name}",
        "timestampColumn": "ts_old",
        "experimentIDColumn": "experiment",
        "groupIDColumn": "group_id",
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "uid"}],
        "description": "kept by hand",
    }


async def start(factory: StartFakeServer, faults: FaultConfig = FAULTS) -> FakeApiServer:
    server = await factory(FakeApiConfig(windows=list(WINDOWS), faults=faults))
    return server


def held(server: FakeApiServer) -> dict[str, dict[str, Any]]:
    return {name: content_of(s) for name, s in server.state.store.sources.items()}


async def change_by_hand(server: FakeApiServer, name: str, **fields: Any) -> None:
    """A full update through the API, sent again through the stand-in's faults until the
    source shows it."""
    current = {k: v for k, v in server.state.store.sources[name].items() if k != "name"}
    body = {**current, **fields}
    headers = {"STATSIG-API-KEY": server.key}
    async with aiohttp.ClientSession() as session:
        while server.state.store.sources[name].get("description") != fields["description"]:
            url = server.url + ITEM_PATH.format(name=quote(name, safe=""))
            try:
                async with session.post(url, json=body, headers=headers) as answer:
                    await answer.read()
            except aiohttp.ClientError:
                pass


async def submitted(
    server: FakeApiServer, tmp_path: Path, n: int = 600, existing: int = 100
) -> tuple[Path, list[str], dict[str, dict[str, Any]]]:
    """`n` rows with --on-exists update over a project already holding `existing` of them."""
    all_names = names(n)
    for name in all_names[:existing]:
        server.state.store.sources[name] = {**original(name), "tags": []}
    before = held(server)
    catalog = write_catalog(tmp_path / "catalog.csv", [row(name) for name in all_names])
    run_settings = _settings(server, tmp_path, on_exists="update", tag=TAG)
    report = await submit_catalog_async(catalog, run_settings, ApiKey(server.key))
    counts = report.counts
    assert (counts["created"], counts["updated"]) == (n - existing, existing), report.stopped
    return report.run_dir, all_names, before


def _settings(server: FakeApiServer, tmp_path: Path, **changes: Any) -> Any:
    return settings(server.url, tmp_path / "reports", windows=WINDOWS, max_attempts=10, **changes)


@pytest.mark.slow
async def test_rollback_leaves_the_originals_and_what_was_changed_by_hand(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory)
    run_dir, all_names, before = await submitted(server, tmp_path)
    assert server.state.store.sources[all_names[500]]["tags"] == ["migrated", "bulk", TAG]
    changed_created = all_names[100:600:25][:20]
    changed_updated = all_names[0:100:20][:5]
    for name in changed_created + changed_updated:
        await change_by_hand(server, name, description=f"edited by hand: {name}")
    # One of them also lost the run's tag.
    await change_by_hand(server, changed_created[0], description="untagged", tags=["mine"])
    hand = {name: copy.deepcopy(held(server)[name]) for name in changed_created + changed_updated}

    report = await rollback_run_async(run_dir, ApiKey(server.key))

    assert report.stopped is None
    assert report.rollback_of == str(run_dir.resolve())
    now = held(server)
    expected = {**before, **hand}
    assert set(now) == set(expected)
    assert now == expected
    counts = report.counts
    assert counts["deleted"] == 480
    assert counts["restored"] == 95
    assert counts["kept"] == 25
    assert counts["failed"] == counts["unknown"] == counts["gone"] == 0
    results = read_results(report.run_dir)
    assert len(results) == 600
    kept = {r["name"]: r["error"] for r in results if r["status"] == "kept"}
    assert set(kept) == set(changed_created + changed_updated)
    assert all(why.startswith("changed since the run (description") for why in kept.values())
    assert f"no longer carries the tag '{TAG}'" in kept[changed_created[0]]
    assert sum(f"'{TAG}'" in why for why in kept.values()) == 1
    summary = (report.run_dir / "summary.json").read_text()
    assert '"deleted": 480' in summary and '"rollback_of"' in summary
    # Faults hit the rollback too, and every lost answer was settled.
    journal = read_journal(report.run_dir)
    assert sum(r["event"] == "send" for r in journal) > 575


async def test_a_dry_run_sends_nothing_and_writes_the_plan(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory, FaultConfig())
    run_dir, all_names, _ = await submitted(server, tmp_path, n=30, existing=10)
    await change_by_hand(server, all_names[15], description="edited")
    del server.state.store.sources[all_names[16]]
    mutations = server.state.stats()["mutations"]
    plan = await _dry(run_dir, server.key)
    assert server.state.stats()["mutations"] == mutations
    # A source the listing does not show is not yet `gone`: a DELETE's 404 must prove it.
    assert plan.actions == {"delete": 19, "restore": 10, "kept": 1}
    assert plan.requests == 29
    assert plan.plan_file is not None
    text = plan.plan_file.read_text()
    assert f"{all_names[15]},kept,description,changed since the run (description)" in text
    assert f"{all_names[16]},delete,,not in the listing (it may lag or skip an item)" in text
    assert len(text.splitlines()) == 31


async def test_a_rollbacks_summary_has_its_budget_and_history_like_a_submits(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    # One run routine for both: the rollback's summary.json is a submit's, plus rollback_of.
    server = await start(fake_server_factory, FaultConfig())
    run_dir, _, _ = await submitted(server, tmp_path, n=30, existing=10)

    report = await rollback_run_async(run_dir, ApiKey(server.key))

    assert report.counts["deleted"] == 20 and report.counts["restored"] == 10
    submit = json.loads((run_dir / "summary.json").read_text())
    rollback = json.loads((report.run_dir / "summary.json").read_text())
    assert set(rollback) == set(submit)
    assert rollback["rollback_of"] == str(run_dir.resolve()) and submit["rollback_of"] is None
    budget = rollback["budget"]
    assert isinstance(budget, dict) and set(budget) == set(submit["budget"])
    assert budget["source"] == "configured"
    assert budget["in_force"] == [str(w) for w in WINDOWS]
    # The submit's 30 requests, seconds ago, are still in the 18 s window: restored.
    assert rollback["restored_rate_limit_history"] >= 30
    assert rollback["requests_sent"] >= 30


async def _dry(run_dir: Path, key: str) -> Any:
    import asyncio

    return await asyncio.to_thread(plan_rollback, run_dir, ApiKey(key))


async def test_refusals_each_say_why(fake_server_factory: StartFakeServer, tmp_path: Path) -> None:
    server = await start(fake_server_factory, FaultConfig())
    run_dir, _, _ = await submitted(server, tmp_path, n=5, existing=0)
    with pytest.raises(RollbackRefused, match="was run with another key"):
        await rollback_run_async(run_dir, ApiKey("console-some-other-key"))
    with RunLock(run_dir), pytest.raises(RollbackRefused, match="is still running"):
        await rollback_run_async(run_dir, ApiKey(server.key))
    report = await rollback_run_async(run_dir, ApiKey(server.key))
    assert report.counts["deleted"] == 5
    with pytest.raises(RollbackRefused, match="is a rollback"):
        await rollback_run_async(report.run_dir, ApiKey(server.key))
    # A rotated key of the same project, said so: the run's key is not this one any more.
    record = RunRecord.load(run_dir)
    record.key_fingerprint = "0123456789abcdef"
    record.save(run_dir)
    with pytest.raises(RollbackRefused, match="--force-other-key"):
        await rollback_run_async(run_dir, ApiKey(server.key))
    # Forced, a run already rolled back is still not rolled back twice (no DELETE again).
    with pytest.raises(RollbackRefused, match=f"already rolled back by {report.run_dir}"):
        await rollback_run_async(run_dir, ApiKey(server.key), force_other_key=True)
    # The rollback folder resumes as a rollback, with nothing left to do.
    resumed = await resume_run_async(report.run_dir, ApiKey(server.key))
    assert resumed.note.startswith("nothing to resume")
    assert RunRecord.load(report.run_dir).rollback_of == str(run_dir.resolve())
