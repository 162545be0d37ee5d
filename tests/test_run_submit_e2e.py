"""submit end to end: real files, the stand-in over real HTTP, real aiohttp, short windows."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from catalog_helpers import names, row, write_catalog
from fakeapi_fixtures import CREATE_PATH as CREATE
from fakeapi_fixtures import StartFakeServer, source_body
from submit_helpers import TEST_WINDOWS, no_send_after_success, read_journal, read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.catalog.reader import open_catalog
from bulk_sources.cli.main import main
from bulk_sources.errors import ApiKeyError
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer, FaultConfig
from bulk_sources.run.entry import dry_run_async, submit_catalog_async

OTHER_KEY = "console-other-tool-of-the-same-project"


async def _precreate(server: FakeApiServer, key: str, *source_names: str) -> None:
    async with aiohttp.ClientSession() as session:
        for name in source_names:
            async with session.post(
                server.url + CREATE, json=source_body(name), headers={"STATSIG-API-KEY": key}
            ) as response:
                assert response.status == 201


def _assert_windows_kept(stats: dict[str, Any]) -> None:
    for window in stats["windows"]:
        assert window["max_arrivals_in_window"] <= window["limit"], window


async def test_every_status_is_reported_once_in_catalog_order(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(
        FakeApiConfig(keys=["console-ours", OTHER_KEY], windows=list(TEST_WINDOWS))
    )
    await _precreate(server, OTHER_KEY, "taken_skip", "taken_fail")
    rows = [row(n) for n in names(12)]
    rows.insert(3, row("taken_skip"))
    rows.insert(5, dict(rows[0]))  # identical to row 1: a duplicate, not sent
    rows.insert(7, row("broken", sql="   "))  # empty after trimming: invalid
    catalog = write_catalog(tmp_path / "catalog.csv", rows)

    summary = await submit_catalog_async(
        catalog, settings(server.url, tmp_path / "reports"), ApiKey("console-ours")
    )

    assert summary.run_dir is not None
    results = read_results(summary.run_dir)
    assert [int(r["row"]) for r in results] == list(range(1, len(rows) + 1))
    by_name = {r["name"]: r for r in results if r["status"] != "duplicate"}
    assert by_name["taken_skip"]["status"] == "exists"
    assert by_name["broken"]["status"] == "invalid"
    assert "sql" in by_name["broken"]["error"]
    assert results[5]["status"] == "duplicate"
    assert results[5]["error"] == "duplicate of row 1"
    assert sum(r["status"] == "created" for r in results) == 12
    assert summary.counts["created"] == 12
    assert sum(summary.counts.values()) == len(rows)
    assert summary.outcome == "rows_failed"  # one invalid row
    # failed.csv holds exactly the invalid row, its cells untouched, then why it is there.
    with (summary.run_dir / "failed.csv").open(encoding="utf-8", newline="") as handle:
        failed = list(csv.DictReader(handle))
    why = {
        "_row": "8",
        "_status": "invalid",
        "_field": "sql",
        "_error": "is required but empty",
        "_errors": "",
    }
    assert failed == [{**row("broken", sql="   "), **why}]
    assert set(server.state.sources) == {*names(12), "taken_skip", "taken_fail"}
    # What the API answered for each created row, for follow-on work.
    lines = (summary.run_dir / "created.jsonl").read_text().splitlines()
    created = [json.loads(line) for line in lines]
    assert [c["name"] for c in created] == [r["name"] for r in results if r["status"] == "created"]
    assert created[0]["data"] == server.state.sources[created[0]["name"]]


@pytest.mark.parametrize(("policy", "status"), [("update", "updated"), ("fail", "failed")])
async def test_on_exists_policies(
    fake_server_factory: StartFakeServer, tmp_path: Path, policy: str, status: str
) -> None:
    server = await fake_server_factory(
        FakeApiConfig(keys=["console-ours", OTHER_KEY], windows=list(TEST_WINDOWS))
    )
    await _precreate(server, OTHER_KEY, "taken")
    catalog = write_catalog(
        tmp_path / "c.csv", [row("new_one"), row("taken", sql="SELECT * FROM t2")]
    )
    summary = await submit_catalog_async(
        catalog,
        settings(server.url, tmp_path / "reports", on_exists=policy),
        ApiKey("console-ours"),
    )
    assert [r.status.value for r in summary.results] == ["created", status]
    if policy == "update":
        assert server.state.sources["taken"]["sql"] == "SELECT * FROM t2"
        assert summary.outcome == "ok"
    else:
        assert summary.outcome == "rows_failed"


@pytest.mark.slow
async def test_run_alone_never_exceeds_a_window_and_draws_no_429(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig(windows=list(TEST_WINDOWS)))
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(130)])
    summary = await submit_catalog_async(
        catalog, settings(server.url, tmp_path / "reports"), ApiKey(server.key)
    )
    stats = server.state.stats()
    assert summary.counts["created"] == 130
    assert stats["rate_limited"] == 0
    assert summary.requests.rate_limited_429 == 0
    _assert_windows_kept(stats)
    # 130 requests need three 60/3 s windows: the run can't be faster than 6 s.
    assert summary.duration_s >= 6.0


@pytest.mark.slow
async def test_a_second_client_on_the_same_key_forces_429s_and_every_row_is_still_created(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig(windows=list(TEST_WINDOWS)))
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(50)])
    hog_statuses: list[int] = []

    async def hog() -> None:
        # Another tool of the same project spending the shared budget.
        async with aiohttp.ClientSession() as session:
            for i in range(60):
                async with session.post(
                    server.url + CREATE,
                    json=source_body(f"hog_{i}"),
                    headers={"STATSIG-API-KEY": server.key},
                ) as response:
                    hog_statuses.append(response.status)
                await asyncio.sleep(0.02)

    summary, _ = await asyncio.gather(
        submit_catalog_async(
            catalog, settings(server.url, tmp_path / "reports"), ApiKey(server.key)
        ),
        hog(),
    )
    assert summary.requests.rate_limited_429 > 0
    assert summary.counts["created"] == 50
    assert summary.outcome == "ok"
    assert set(names(50)) <= set(server.state.sources)
    # The shared pause held every worker: the 429 does not count as an attempt.
    assert all(r.attempts == 1 for r in summary.results)


async def test_a_refused_key_is_a_sentence_before_any_run_folder(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b", sql=""), row("c")])
    with pytest.raises(ApiKeyError, match=r"refused the key .*no run folder was made"):
        await submit_catalog_async(
            catalog, settings(fake_server.url, tmp_path / "reports"), ApiKey("console-wrong-key")
        )
    assert fake_server.state.sources == {}
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").iterdir())
    assert fake_server.state.stats()["mutations"] == 0


async def test_a_key_revoked_mid_run_stops_at_once(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig(windows=list(TEST_WINDOWS)))
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(80)])

    async def revoke_when_some_exist() -> None:
        while len(server.state.sources) < 20:  # noqa: ASYNC110 (polling another task's state)
            await asyncio.sleep(0.01)
        server.state.revoke_key(server.key)

    summary, _ = await asyncio.gather(
        submit_catalog_async(
            catalog, settings(server.url, tmp_path / "reports"), ApiKey(server.key)
        ),
        revoke_when_some_exist(),
    )
    assert summary.outcome == "stopped"
    created = {r.name for r in summary.results if r.status.value == "created"}
    assert created == set(server.state.sources)
    assert summary.counts["not_attempted"] > 0
    assert (
        summary.counts["created"] + summary.counts["failed"] + summary.counts["not_attempted"] == 80
    )


@pytest.mark.slow
async def test_faults_cost_time_never_a_row(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    faults = FaultConfig(error_rate=0.10, reset_rate=0.05, create_then_drop_rate=0.05, seed=11)
    server = await fake_server_factory(FakeApiConfig(windows=list(TEST_WINDOWS), faults=faults))
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(70)])
    summary = await submit_catalog_async(
        catalog,
        settings(server.url, tmp_path / "reports", max_attempts=8),
        ApiKey(server.key),
    )
    stats = server.state.stats()
    assert summary.counts["created"] == 70, summary.counts
    assert sorted(server.state.sources) == names(70)
    assert stats["faults"]["error"] > 0 and stats["faults"]["reset"] > 0
    assert stats["faults"]["create_then_drop"] > 0
    assert summary.requests.retries > 0
    assert summary.run_dir is not None
    assert no_send_after_success(read_journal(summary.run_dir))
    _assert_windows_kept(stats)


async def test_failed_rows_file_is_valid_input_and_parquet_stays_parquet(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    server = await fake_server_factory(
        FakeApiConfig(keys=["console-ours", OTHER_KEY], windows=list(TEST_WINDOWS))
    )
    await _precreate(server, OTHER_KEY, "taken")
    rows = [row("one"), row("taken"), row("two", idTypeMapping="")]
    table = pyarrow.Table.from_pylist(rows)
    catalog = tmp_path / "c.parquet"
    pq.write_table(table, catalog)
    summary = await submit_catalog_async(
        catalog,
        settings(server.url, tmp_path / "reports", on_exists="fail"),
        ApiKey("console-ours"),
    )
    assert summary.run_dir is not None
    failed = summary.run_dir / "failed.parquet"
    read_back = pq.read_table(failed).to_pylist()
    assert [{k: v for k, v in r.items() if not k.startswith("_")} for r in read_back] == [
        rows[1],
        rows[2],
    ]
    assert [(r["_row"], r["_status"]) for r in read_back] == [("2", "failed"), ("3", "invalid")]
    again = open_catalog(failed)
    assert again.unknown_columns == []  # the report columns are not catalog columns
    assert [r.number for r in again.rows()] == [1, 2]


async def test_dry_run_sends_nothing_and_estimates_the_windows(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(130)])
    plan = await dry_run_async(
        catalog, settings(fake_server.url, tmp_path / "reports"), ApiKey(fake_server.key)
    )
    assert plan.would_create == 130
    # 130 requests under 20/0.5 s and 60/3 s: the 121st goes at 6 s, the 130th at 6.0 s.
    assert plan.to_json()["estimated_seconds"] == 6.0
    assert fake_server.state.stats()["mutations"] == 0
    # The only things written: the plan and its page, in a dry-run folder nothing can resume,
    # kept out of the way of the runs (reports/dry-runs/).
    top = [p.name for p in (tmp_path / "reports").iterdir() if not p.name.startswith(".")]
    assert top == ["dry-runs"]
    folders = list((tmp_path / "reports" / "dry-runs").iterdir())
    assert [p.name.endswith("-c-dry-run") for p in folders] == [True]
    assert sorted(p.name for p in folders[0].iterdir()) == ["plan.csv", "report.html"]
    assert plan.plan_file == folders[0] / "plan.csv"


@pytest.mark.slow
async def test_stalls_longer_than_the_timeout_still_create_each_row_once(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    """A stalled create goes through after the client gave up: the retry must not make a
    second one, and the row must read `created`, not `exists`."""
    faults = FaultConfig(stall_rate=0.2, stall_seconds=0.6, seed=5)
    server = await fake_server_factory(FakeApiConfig(windows=list(TEST_WINDOWS), faults=faults))
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(30)])
    summary = await submit_catalog_async(
        catalog,
        settings(server.url, tmp_path / "reports", timeout=0.3, max_attempts=8),
        ApiKey(server.key),
    )
    stats = server.state.stats()
    assert stats["faults"]["stall"] > 0
    assert summary.counts["created"] == 30, [r.error for r in summary.results]
    assert sorted(server.state.sources) == names(30)
    assert any("answer was lost" in r.error for r in summary.results)
    _assert_windows_kept(stats)


async def test_an_unreachable_api_stops_the_run_and_keeps_every_row(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b")])
    summary = await submit_catalog_async(
        catalog, settings("http://127.0.0.1:9", tmp_path / "reports"), ApiKey("console-x")
    )
    assert summary.outcome == "stopped"
    assert [r.status.value for r in summary.results] == ["not_attempted", "not_attempted"]
    assert "could not list the existing assignment sources" in (summary.stopped or "")
    assert summary.run_dir is not None
    # Nothing for a person to fix: failed.csv is a header; `resume` sends both rows later.
    assert (summary.run_dir / "failed.csv").read_text().count("\n") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty (0 bytes)"),
        (b"name,sql\nx,\xff\xfe\n", "--encoding"),
        (b"name,description\nx,y\n", "lacks the required column(s) sql"),
        (b"\x00\x01\x02PK\x03\x04junk", "CSV"),
    ],
)
def test_a_catalog_that_cannot_be_used_exits_2_without_a_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: bytes,
    message: str,
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", "console-x")
    path = tmp_path / "c.csv"
    path.write_bytes(content)
    code = main(["submit", str(path), "--base-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


async def test_a_journal_that_cannot_be_written_stops_the_run_and_loses_no_row(
    fake_server: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk mid-run: the report still covers every row and tells the truth."""
    from bulk_sources.run.record.journal import Journal

    real_outcome = Journal.outcome
    written = []

    def outcome_until_the_disk_fills(self: Journal, result: Any) -> None:
        if len(written) >= 5:
            raise OSError(28, "No space left on device")
        written.append(result)
        real_outcome(self, result)

    monkeypatch.setattr(Journal, "outcome", outcome_until_the_disk_fills)
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(40)])
    summary = await submit_catalog_async(
        catalog, settings(fake_server.url, tmp_path / "reports"), ApiKey(fake_server.key)
    )
    assert summary.outcome == "stopped"
    assert "can't write the journal" in (summary.stopped or "")
    assert len(summary.results) == 40
    created = {r.name for r in summary.results if r.status.value == "created"}
    assert created == set(fake_server.state.sources)
    assert len(created) >= 6  # the five journalled and the one that hit the full disk
    assert (
        summary.counts["created"] + summary.counts["failed"] + summary.counts["not_attempted"] == 40
    )
