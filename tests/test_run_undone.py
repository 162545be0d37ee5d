"""A rolled-back run is closed: resume says which rollback undid it and sends nothing, and
a second rollback refuses, pointing at the first (issue 18 follow-up)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_helpers import row, write_catalog
from fakeapi_fixtures import StartFakeServer
from submit_helpers import settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.errors import RollbackRefused, UsageError
from bulk_sources.fakeapi import FakeApiConfig
from bulk_sources.run.entry import resume_run_async, retry_run_async, submit_catalog_async
from bulk_sources.run.rollback.start import rollback_run_async


async def test_an_undone_run_is_closed_to_resume_and_a_second_rollback(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    key = ApiKey(server.key)
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b")])
    first = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), key)
    assert first.run_dir is not None
    undone = await rollback_run_async(first.run_dir, key)
    assert undone.counts.get("deleted") == 2 and undone.run_dir is not None
    requests = server.state.stats()["requests"]["total"]

    with pytest.raises(UsageError, match=r"was undone by the rollback .*-rollback-of-"):
        await resume_run_async(first.run_dir, key)
    with pytest.raises(RollbackRefused, match=r"already rolled back by .*-rollback-of-"):
        await rollback_run_async(first.run_dir, key)
    with pytest.raises(UsageError, match=r"a retry of it sends nothing"):
        await retry_run_async(first.run_dir, key)
    assert server.state.stats()["requests"]["total"] == requests  # nothing sent
    assert server.state.store.sources == {}


async def test_an_unfinished_rollback_is_pointed_at(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    key = ApiKey(server.key)
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b")])
    first = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), key)
    assert first.run_dir is not None
    undone = await rollback_run_async(first.run_dir, key)
    assert undone.run_dir is not None
    # As if the rollback had been stopped before it ended.
    summary = undone.run_dir / "summary.json"
    data = json.loads(summary.read_text())
    summary.write_text(json.dumps({**data, "outcome": "stopped"}))
    resume_it = f"`bulk-sources resume {undone.run_dir}` finishes"
    with pytest.raises(UsageError, match=r"is being rolled back by") as refused:
        await resume_run_async(first.run_dir, key)
    assert resume_it in str(refused.value)
    with pytest.raises(RollbackRefused, match=r"has a rollback not finished") as again:
        await rollback_run_async(first.run_dir, key)
    assert resume_it in str(again.value)
    # The rollback folder itself still resumes.
    await resume_run_async(undone.run_dir, key)
