"""Rollback decides from what the run sent and says `gone` only when it is proven (issue 18,
cases 2 and 7): answers without the source, a lagging listing, a listing that skips one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_helpers import row, write_catalog
from fakeapi_fixtures import StartFakeServer
from submit_helpers import read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer, ListingFaults
from bulk_sources.run.entry import submit_catalog_async
from bulk_sources.run.rollback.start import rollback_run_async

NAMES = ["made_a", "made_b", "made_c"]


async def _submit(server: FakeApiServer, tmp_path: Path) -> Path:
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in NAMES])
    report = await submit_catalog_async(
        catalog, settings(server.url, tmp_path / "r"), ApiKey(server.key)
    )
    assert report.run_dir is not None and report.counts["created"] == 3
    assert set(server.state.store.sources) == set(NAMES)
    return report.run_dir


@pytest.mark.parametrize("answer", ["empty", "text", "name"])
async def test_a_201_without_the_source_and_a_lagging_listing_still_roll_back(
    fake_server_factory: StartFakeServer, tmp_path: Path, answer: str
) -> None:
    # The listing shows no source younger than a minute: none of the run's.
    faults = ListingFaults(create_answer=answer, lag=60.0)
    server = await fake_server_factory(FakeApiConfig(listing=faults))
    run_dir = await _submit(server, tmp_path)
    lines = [json.loads(line) for line in (run_dir / "created.jsonl").read_text().splitlines()]
    assert [line["name"] for line in lines] == NAMES
    # What the run sent stands in for what the answer left out.
    assert all(line["data"]["sql"] == f"SELECT * FROM exposures_{line['name']}" for line in lines)

    undone = await rollback_run_async(run_dir, ApiKey(server.key))
    assert server.state.store.sources == {}
    assert undone.counts["deleted"] == 3 and undone.outcome.value == "ok"


async def test_an_offset_listing_that_skips_a_source_does_not_make_it_gone(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(
        FakeApiConfig(listing=ListingFaults(hidden=frozenset({"made_b"})))
    )
    run_dir = await _submit(server, tmp_path)
    undone = await rollback_run_async(run_dir, ApiKey(server.key))
    assert server.state.store.sources == {}
    assert [r["status"] for r in read_results(undone.run_dir)] == ["deleted"] * 3


async def test_a_source_deleted_by_hand_is_gone_once_a_delete_proves_it(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    run_dir = await _submit(server, tmp_path)
    del server.state.store.sources["made_a"]
    undone = await rollback_run_async(run_dir, ApiKey(server.key))
    gone = [r for r in undone.results if r.name == "made_a"]
    assert [(r.status.value, r.http_status, r.error) for r in gone] == [
        ("gone", 404, "already gone (404)")
    ]
    assert undone.outcome.value == "ok"


async def test_rollback_exits_non_zero_and_names_a_source_that_may_remain(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    run_dir = await _submit(server, tmp_path)
    created = run_dir / "created.jsonl"
    lines = [json.loads(line) for line in created.read_text().splitlines()]
    lines[1]["data"] = None  # nothing recorded of what the run wrote: it can't be compared
    created.write_text("".join(json.dumps(line) + "\n" for line in lines))
    undone = await rollback_run_async(run_dir, ApiKey(server.key))
    assert set(server.state.store.sources) == {"made_b"}
    assert undone.outcome.value == "rows_failed"
    assert undone.note.startswith("1 source the run made may remain: made_b (kept)")


async def test_rollback_of_a_run_with_unsettled_rows_is_not_done(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    # Every create's answer is lost and the listing lags: the run ends with rows unknown
    # whose sources exist; a rollback can't undo them and must not say "done".
    from bulk_sources.fakeapi import FaultConfig

    server = await fake_server_factory(
        FakeApiConfig(
            faults=FaultConfig(create_then_drop_rate=1.0), listing=ListingFaults(lag=600.0)
        )
    )
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in NAMES])
    s = settings(server.url, tmp_path / "r", retry_base=0.01, retry_cap=0.02)
    first = await submit_catalog_async(catalog, s, ApiKey(server.key))
    assert first.run_dir is not None and first.counts["unknown"] == 3
    undone = await rollback_run_async(first.run_dir, ApiKey(server.key))
    assert undone.outcome.value == "rows_failed"
    assert "3 rows of" in undone.note and "never settled (unknown)" in undone.note
    summary = json.loads((undone.run_dir / "summary.json").read_text())
    assert "never settled (unknown)" in summary["note"]
