"""Fail fast and one next step: a refused key before any folder, --halt-after, failed.csv
with a person's rows only (field by field), row numbers kept through a chain of fixes, and
folders that say what they retry."""

from __future__ import annotations

import asyncio
import csv
import json
import os
from pathlib import Path

import pytest
from aiohttp import web
from catalog_helpers import names, row, write_catalog
from fakeapi_fixtures import StartFakeServer
from hostile_server import serve
from process_helpers import server_process, server_stats, tool
from submit_helpers import TEST_WINDOWS, read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.cli.main import main
from bulk_sources.errors import ApiKeyError, UsageError
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.run.entry import (
    dry_run_async,
    resume_run_async,
    retry_run_async,
    submit_catalog_async,
)
from bulk_sources.run.halt import HaltAfter, parse_halt_after
from bulk_sources.run.record.results import Status
from bulk_sources.run.rollback.start import plan_rollback, rollback_run_async

REFUSED = {"status": 400, "message": "Invalid request: unit ID type 'userID' does not exist"}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_wrong_key_is_exit_2_one_sentence_and_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", "console-not-this-one")
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b")])
    reports = tmp_path / "reports"
    with server_process("console-the-right-one", ["20/500ms"]) as url:
        args = ["submit", str(catalog), "--base-url", url, "--report-dir", str(reports)]
        code = main([*args, "--quiet"])
        stats = server_stats(url)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("bulk-sources: the API refused the key (HTTP")
    assert "no run folder was made" in err
    assert not reports.exists() or not list(reports.iterdir())
    assert stats["mutations"] == 0


@pytest.mark.parametrize("text", ["0", "-2", "1.5", "0%", "150%", "soon", "", "5 rows", "nan%"])
def test_nonsense_halt_after_is_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(UsageError, match="--halt-after must be a whole number"):
        parse_halt_after(text)


def test_halt_after_rules() -> None:
    assert parse_halt_after("3") == HaltAfter(count=3)
    assert parse_halt_after(" 20% ") == HaltAfter(percent=20.0)
    # A percentage waits for 10 settled rows, so the first failure is not 100 %.
    assert not HaltAfter(percent=50).reached(failed=5, settled=9)
    assert HaltAfter(percent=50).reached(failed=5, settled=10)
    assert not HaltAfter(percent=50).reached(failed=4, settled=10)


async def _rejecting(request: web.Request) -> web.StreamResponse:
    if request.method == "GET":
        return web.json_response({"data": [], "pagination": {"nextPage": None}})
    return web.json_response(REFUSED, status=400)


async def test_halt_after_stops_a_run_whose_rows_all_fail_and_leaves_it_resumable(
    tmp_path: Path,
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(30)])
    async with serve(_rejecting) as server:
        halting = settings(server.url, tmp_path / "r", concurrency=1, halt_after="3")
        report = await submit_catalog_async(catalog, halting, ApiKey("console-x"))
        posts = [s for s in server.seen if s.method == "POST"]
        assert len(posts) == 3  # one worker: the third failure stops the run at once
        assert report.outcome == "stopped"
        assert report.counts["failed"] == 3 and report.counts["not_attempted"] == 27
        assert "halted after 3 failed of 3 rows settled (--halt-after 3)" in (report.stopped or "")
        # failed.csv: only the three a person must look at, each with the server's reason.
        failed = _read_csv(report.run_dir / "failed.csv")
        assert [(f["_row"], f["_status"]) for f in failed] == [
            ("1", "failed"),
            ("2", "failed"),
            ("3", "failed"),
        ]
        assert "unit ID type 'userID' does not exist" in failed[0]["_error"]
        # The halt is recorded: resume goes on from there, and halts again the same way.
        resumed = await resume_run_async(report.run_dir, ApiKey("console-x"))
        assert len([s for s in server.seen if s.method == "POST"]) == 6
        assert resumed.counts["failed"] == 6 and resumed.counts["not_attempted"] == 24


def test_halt_after_in_the_cli_names_one_next_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", "console-x")
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(12)])

    async def go() -> int:
        async with serve(_rejecting) as server:
            args = ["submit", str(catalog), "--base-url", server.url, "--quiet"]
            more = ["--report-dir", str(tmp_path / "r"), "--concurrency", "1"]
            return await asyncio.to_thread(main, [*args, *more, "--halt-after", "2"])

    code = asyncio.run(go())
    out = capsys.readouterr().out
    assert code == 3
    assert "halted after 2 failed" in out
    # One instruction: resume. The rows to fix come with the report resume writes.
    assert "rows to fix" not in out
    assert out.count("bulk-sources resume ") == 1


async def test_several_problems_go_in_errors_as_a_json_list(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    rows = [row("good"), row("two_wrongs", sql=" ", timestampColumn="")]
    catalog = write_catalog(tmp_path / "c.csv", rows)
    report = await submit_catalog_async(
        catalog, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key)
    )
    [failed] = _read_csv(report.run_dir / "failed.csv")
    problems = json.loads(failed["_errors"])
    assert {p["field"] for p in problems} == {"sql", "timestampColumn"}
    assert (failed["_field"], failed["_error"]) == (problems[0]["field"], problems[0]["error"])
    assert ";" not in failed["_error"]


async def test_catalog_row_numbers_survive_a_chain_of_fixes(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig(windows=list(TEST_WINDOWS)))
    key = ApiKey(server.key)
    rows = [row(n) for n in names(20)]
    rows[16] = row("row_17", sql="")
    rows[18] = row("row_19", sql="")
    catalog = write_catalog(tmp_path / "c.csv", rows)
    first = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), key)
    # failed.csv fed back in, one row fixed: its run says it retries the first.
    fixes = first.run_dir / "failed.csv"
    failed = _read_csv(fixes)
    assert [f["_row"] for f in failed] == ["17", "19"]
    failed[1]["sql"] = "SELECT * FROM fixed"
    with fixes.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(failed[0]))
        writer.writeheader()
        writer.writerows(failed)
    second = await submit_catalog_async(fixes, settings(server.url, tmp_path / "r"), key)
    assert [(r["row"], r["status"]) for r in read_results(second.run_dir)] == [
        ("17", "invalid"),
        ("19", "created"),
    ]
    assert f"-c-retry-of-{first.run_dir.name[:16]}" in second.run_dir.name
    run_json = json.loads((second.run_dir / "run.json").read_text())
    assert run_json["kind"] == "retry" and run_json["retry_of"] == str(first.run_dir)
    # The second run's failed.csv, fixed and submitted again: still catalog row 17.
    again = second.run_dir / "failed.csv"
    assert [f["_row"] for f in _read_csv(again)] == ["17"]
    third = await submit_catalog_async(again, settings(server.url, tmp_path / "r"), key)
    assert [(r.row, r.status) for r in third.results] == [(17, Status.INVALID)]
    assert [f["_row"] for f in _read_csv(third.run_dir / "failed.csv")] == ["17"]
    # Fixed where that run read it, and retried: still row 17, and named after what it retries.
    fixed = [{**f, "sql": "SELECT * FROM fixed"} for f in _read_csv(again)]
    with again.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(fixed[0]))
        writer.writeheader()
        writer.writerows(fixed)
    fourth = await retry_run_async(third.run_dir, key, include_invalid=True)
    assert [(r.row, r.status) for r in fourth.results] == [(17, Status.CREATED)]
    assert f"-c-retry-of-{third.run_dir.name[:16]}" in fourth.run_dir.name
    assert json.loads((fourth.run_dir / "run.json").read_text())["retry_of"] == str(third.run_dir)


async def test_resume_in_a_pipe_prints_its_opening_line(tmp_path: Path) -> None:
    refuse = [True]

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            return web.json_response({"data": [], "pagination": {"nextPage": None}})
        if refuse[0]:
            return web.json_response(REFUSED, status=400)
        return web.json_response({"data": await request.json()}, status=201)

    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(4)])
    async with serve(handler) as server:
        halting = settings(server.url, tmp_path / "r", concurrency=1, halt_after="1")
        first = await submit_catalog_async(catalog, halting, ApiKey("console-x"))
        assert first.counts["not_attempted"] == 3
        refuse[0] = False
        proc = await asyncio.create_subprocess_exec(
            *tool("resume", str(first.run_dir)),
            env={**os.environ, "STATSIG_API_KEY": "console-x"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, err  # the refused row stays failed: a person's
    assert err.decode().splitlines()[0].startswith("progress 0/3 rows (0 %) after 00:00")
    assert f"rows to fix and run again: {first.run_dir / 'failed.csv'}" in out.decode()


async def test_a_wrong_key_leaves_resume_dry_run_and_rollback_folders_as_they_were(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("w1"), row("w2")])
    reports = tmp_path / "r"
    first = await submit_catalog_async(
        catalog, settings(fake_server.url, reports), ApiKey(fake_server.key)
    )
    # A row added since: resume has work, so it checks the key first.
    write_catalog(catalog, [row("w1"), row("w2"), row("w3")])
    # (resume refreshes the run's copy of the catalog, catalog.csv, as it reads it)
    kept = [p for p in first.run_dir.iterdir() if p.is_file() and p.name != "catalog.csv"]
    before = {p.name: p.read_bytes() for p in kept}
    wrong = ApiKey("console-wrong")
    with pytest.raises(ApiKeyError, match="refused the key"):
        await resume_run_async(first.run_dir, wrong, force_other_key=True)
    with pytest.raises(ApiKeyError, match="refused the key"):
        await dry_run_async(catalog, settings(fake_server.url, reports), wrong)
    with pytest.raises(ApiKeyError, match="refused the key"):
        await rollback_run_async(first.run_dir, wrong, force_other_key=True)
    with pytest.raises(ApiKeyError, match="refused the key"):
        await asyncio.to_thread(plan_rollback, first.run_dir, wrong, force_other_key=True)
    assert {p.name: p.read_bytes() for p in kept} == before
    assert sorted(p.name for p in reports.iterdir()) == [first.run_dir.name]
    assert set(fake_server.state.sources) == {"w1", "w2"}
