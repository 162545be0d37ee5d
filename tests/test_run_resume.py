"""resume, retry, the run lock and rate-limit memory across runs, against the stand-in."""

from __future__ import annotations

import json
import random
from pathlib import Path

import aiohttp
import pytest
from catalog_helpers import names, row, write_catalog
from fakeapi_fixtures import CREATE_PATH, StartFakeServer, source_body
from submit_helpers import read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.errors import RunLockedError
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.limits.windows import Window
from bulk_sources.run.entry import resume_run_async, retry_run_async, submit_catalog_async
from bulk_sources.run.record.folder import RunLock
from bulk_sources.run.record.journal import Journal, read_journal
from bulk_sources.run.record.results import RowResult, Status


async def test_resume_after_reorder_and_append_sends_only_the_new_rows(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    catalog = tmp_path / "c.csv"
    rows = [row(n) for n in names(40)]
    write_catalog(catalog, rows)
    first = await submit_catalog_async(
        catalog, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key)
    )
    assert first.counts["created"] == 40 and first.run_dir is not None
    before = fake_server.state.stats()["mutations"]

    changed = rows[:]
    random.Random(5).shuffle(changed)
    changed += [row(n) for n in names(10, prefix="appended")]
    write_catalog(catalog, changed)
    again = await resume_run_async(first.run_dir, ApiKey(fake_server.key))

    assert fake_server.state.stats()["mutations"] - before == 10
    assert again.counts["created"] == 50
    results = read_results(first.run_dir)
    assert [r["name"] for r in results] == [r["name"] for r in changed]
    assert json.loads((first.run_dir / "summary.json").read_text())["catalog_changed_since_start"]


async def test_resuming_a_complete_run_does_nothing_and_says_so(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b")])
    first = await submit_catalog_async(
        catalog, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key)
    )
    assert first.run_dir is not None
    requests_before = fake_server.state.stats()["requests"]["total"]
    again = await resume_run_async(first.run_dir, ApiKey(fake_server.key))
    assert again.note == "nothing to resume: every row already has a final outcome"
    assert again.counts["created"] == 2
    assert fake_server.state.stats()["requests"]["total"] == requests_before


async def test_a_send_without_an_answer_is_reconciled_by_listing(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    """A crash between sending and recording: the name exists, so that send created it."""
    catalog = write_catalog(tmp_path / "c.csv", [row("lost"), row("fresh")])
    first = await submit_catalog_async(
        catalog, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key)
    )
    assert first.run_dir is not None
    journal_path = first.run_dir / "journal.jsonl"
    state = read_journal(journal_path)
    lost_key = next(k for k, r in state.finals.items() if r.name == "lost")
    # Rewrite the journal as a crash would have left it: "lost" sent, no outcome;
    # "fresh" never sent, and deleted on the server so it must be created again.
    records = [json.loads(line) for line in journal_path.read_text().splitlines()]
    kept = [
        r
        for r in records
        if r.get("name") != "fresh" and not (r["event"] == "final" and r.get("key") == lost_key)
    ]
    journal_path.write_text("".join(json.dumps(r) + "\n" for r in kept) + '{"event":"fin')
    del fake_server.state.store.sources["fresh"]
    for name in ("results.csv", "created.jsonl", "summary.json"):  # a crash: no report yet
        (first.run_dir / name).unlink()
    before = fake_server.state.stats()["mutations"]

    again = await resume_run_async(first.run_dir, ApiKey(fake_server.key))

    assert fake_server.state.stats()["mutations"] - before == 1  # only "fresh"
    by_name = {r.name: r for r in again.results}
    assert by_name["lost"].status is Status.CREATED
    assert "answer was lost" in by_name["lost"].error
    assert by_name["fresh"].status is Status.CREATED


async def test_a_second_process_on_the_same_run_folder_is_refused(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("a")])
    first = await submit_catalog_async(
        catalog, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key)
    )
    assert first.run_dir is not None
    with RunLock(first.run_dir), pytest.raises(RunLockedError, match="is in use by pid"):
        await resume_run_async(first.run_dir, ApiKey(fake_server.key))
    # Released: the folder can be resumed again.
    await resume_run_async(first.run_dir, ApiKey(fake_server.key))


@pytest.mark.slow
async def test_a_new_run_right_after_another_starts_with_the_budget_really_left(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    windows = [Window(20, 0.5), Window(60, 6.0)]
    server = await fake_server_factory(FakeApiConfig(windows=windows))
    reports = tmp_path / "r"
    one = write_catalog(tmp_path / "one.csv", [row(n) for n in names(50, "one")])
    two = write_catalog(tmp_path / "two.csv", [row(n) for n in names(50, "two")])
    first = await submit_catalog_async(
        one, settings(server.url, reports, windows=tuple(windows)), ApiKey(server.key)
    )
    second = await submit_catalog_async(
        two, settings(server.url, reports, windows=tuple(windows)), ApiKey(server.key)
    )
    stats = server.state.stats()
    assert first.counts["created"] == 50 and second.counts["created"] == 50
    assert stats["rate_limited"] == 0
    for window in stats["windows"]:
        assert window["max_arrivals_in_window"] <= window["limit"], window
    assert second.restored_rate_limit_history >= 50
    # Only 10 of the 6 s window were left: the second run had to wait for it to slide.
    assert second.duration_s >= 5.0


async def test_retry_resends_exactly_the_failed_rows(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(
        FakeApiConfig(keys=["console-ours", "console-other"], windows=[Window(1000, 1.0)])
    )
    other = {"STATSIG-API-KEY": "console-other"}
    async with aiohttp.ClientSession() as session:
        for name in ("taken_1", "taken_2"):
            url = server.url + CREATE_PATH
            async with session.post(url, json=source_body(name), headers=other) as response:
                assert response.status == 201
    rows = [row("ok_1"), row("taken_1"), row("ok_2"), row("taken_2"), row("bad", sql="")]
    catalog = write_catalog(tmp_path / "c.csv", rows)
    first = await submit_catalog_async(
        catalog,
        settings(server.url, tmp_path / "r", on_exists="fail"),
        ApiKey("console-ours"),
    )
    assert [r.status.value for r in first.results] == [
        "created",
        "failed",
        "created",
        "failed",
        "invalid",
    ]
    assert first.run_dir is not None
    # The user removes the blockers, then retries.
    async with aiohttp.ClientSession() as session:
        for name in ("taken_1", "taken_2"):
            url = f"{server.url}/console/v1/experiments/assignment_source/{name}"
            async with session.delete(url, headers=other) as response:
                assert response.status == 200
    before = server.state.stats()["mutations"]
    retried = await retry_run_async(first.run_dir, ApiKey("console-ours"))
    assert server.state.stats()["mutations"] - before == 2
    assert sorted((r.name, r.status.value) for r in retried.results) == [
        ("taken_1", "created"),
        ("taken_2", "created"),
    ]
    assert retried.retry_of == str(first.run_dir)
    assert retried.outcome == "ok"

    # With --include-invalid, a row fixed in the catalog goes too. The rows the first retry
    # created exist now with the same content: unchanged, nothing sent for them.
    rows[4] = row("bad", sql="SELECT * FROM fixed")
    write_catalog(catalog, rows)
    before = server.state.stats()["mutations"]
    fixed = await retry_run_async(first.run_dir, ApiKey("console-ours"), include_invalid=True)
    assert server.state.stats()["mutations"] - before == 1
    assert {(r.name, r.status.value) for r in fixed.results} == {
        ("bad", "created"),
        ("taken_1", "unchanged"),
        ("taken_2", "unchanged"),
    }
    # Someone changes them by hand: the retry keeps the run's --on-exists fail...
    async with aiohttp.ClientSession() as session:
        for name in ("taken_1", "taken_2"):
            url = f"{server.url}/console/v1/experiments/assignment_source/{name}"
            body = {k: v for k, v in source_body(name).items() if k != "name"}
            async with session.post(url, json=body, headers=other) as response:
                assert response.status == 200
    failing = await retry_run_async(first.run_dir, ApiKey("console-ours"))
    assert {(r.name, r.status.value) for r in failing.results} == {
        ("taken_1", "failed"),
        ("taken_2", "failed"),
    }
    assert all("exists with other content (sql" in r.error for r in failing.results)
    # ...unless the retry says how to treat names that exist now.
    again = await retry_run_async(first.run_dir, ApiKey("console-ours"), on_exists="skip")
    assert {(r.name, r.status.value) for r in again.results} == {
        ("taken_1", "exists"),
        ("taken_2", "exists"),
    }


def test_journal_survives_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.sending(rid="r1", key="k1", row=1, name="a", action="create", attempt=1)
    journal.outcome(RowResult(1, "a", Status.CREATED, 201, 1, "", key="k1"))
    journal.sending(rid="r2", key="k2", row=2, name="b", action="create", attempt=1)
    journal.close()
    with path.open("a") as handle:
        handle.write('{"event":"final","key":"k2","sta')
    state = read_journal(path)
    assert state.finals["k1"].status is Status.CREATED
    assert set(state.unfinished) == {"k2"}
    assert state.skipped_lines == 1
