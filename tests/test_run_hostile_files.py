"""A catalog that changes or vanishes mid-run, a run folder that disappears, a report dir that
can't exist, and signals during validation and listing: a sentence and an exit code, never a
traceback, and a report wherever one can be written."""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from aiohttp import web
from catalog_helpers import SOURCE_HEADER, names, row, write_catalog
from hostile_server import serve
from process_helpers import tool
from submit_helpers import read_results, run_folder_in, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.fakeapi import FakeApiServer
from bulk_sources.run.entry import submit_catalog_async
from bulk_sources.run.record.summary import Outcome


def _sending_folder(reports: Path) -> Path | None:
    for journal in reports.glob("*/journal.jsonl"):
        if '"event":"send"' in journal.read_text(encoding="utf-8", errors="replace"):
            return journal.parent
    return None


async def _when_sending(reports: Path) -> Path:
    """The run folder, once its journal shows a send."""
    for _ in range(2000):
        found = _sending_folder(reports)
        if found is not None:
            return found
        await asyncio.sleep(0.005)
    raise AssertionError("the run never started sending")


async def test_a_catalog_deleted_mid_run_changes_nothing(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    rows = [row(n) for n in names(60)]
    rows[7]["sql"] = ""  # one invalid row, so failed.csv is cut from the catalog
    catalog = write_catalog(tmp_path / "c.csv", rows)
    job = asyncio.ensure_future(
        submit_catalog_async(
            catalog, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key)
        )
    )
    await _when_sending(tmp_path / "r")
    catalog.unlink()
    report = await job
    assert report.counts["created"] == 59 and report.counts["invalid"] == 1
    with report.failed_rows_file.open(encoding="utf-8", newline="") as handle:
        failed = list(csv.DictReader(handle))
    assert [(f["name"], f["_row"]) for f in failed] == [(rows[7]["name"], "8")]


async def test_a_catalog_replaced_mid_run_keeps_the_rows_that_were_validated(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    rows = [row(n) for n in names(60)]
    rows[3]["idTypeMapping"] = ""
    catalog = write_catalog(tmp_path / "c.csv", rows)
    job = asyncio.ensure_future(
        submit_catalog_async(
            catalog, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key)
        )
    )
    await _when_sending(tmp_path / "r")
    write_catalog(catalog, [row(n) for n in names(60, prefix="other")])
    report = await job
    assert set(fake_server.state.sources) == {r["name"] for i, r in enumerate(rows) if i != 3}
    assert [r.name for r in report.results] == [r["name"] for r in rows]
    failed = report.failed_rows_file.read_text(encoding="utf-8")
    assert rows[3]["name"] in failed and "other_" not in failed


async def test_a_run_folder_deleted_mid_run_stops_with_a_sentence(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(60)])
    job = asyncio.ensure_future(
        submit_catalog_async(
            catalog, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key)
        )
    )
    run_dir = await _when_sending(tmp_path / "r")
    shutil.rmtree(run_dir)
    report = await job
    assert report.outcome is Outcome.STOPPED
    assert report.stopped is not None and "can't write the report" in report.stopped
    assert len(report.results) == 60


def test_a_report_dir_under_a_regular_file_is_a_usage_error(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("a")])
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    done = subprocess.run(
        tool(
            "submit",
            str(catalog),
            "--base-url",
            "http://127.0.0.1:9",
            "--report-dir",
            str(blocker / "reports"),
        ),
        env={**os.environ, "STATSIG_API_KEY": "console-x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "can't make a run folder" in done.stderr and "--report-dir" in done.stderr
    assert "Traceback" not in done.stderr


async def test_sigterm_while_listing_writes_a_report_of_not_attempted_rows(tmp_path: Path) -> None:
    listing_started, release = asyncio.Event(), asyncio.Event()

    asked: list[str] = []

    async def hang(request: web.Request) -> web.StreamResponse:
        asked.append(request.path_qs)
        if len(asked) > 1:  # the first page is the key check, before any run folder
            listing_started.set()
            await release.wait()
        return web.json_response({})

    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(5)])
    async with serve(hang) as server:
        proc = await asyncio.create_subprocess_exec(
            *tool("submit", str(catalog), "--base-url", server.url, "--report-dir", str(tmp_path)),
            env={**os.environ, "STATSIG_API_KEY": "console-x"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await asyncio.wait_for(listing_started.wait(), 30)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        release.set()
    assert proc.returncode == 3, err
    assert b"Traceback" not in err
    text = out.decode()
    assert "interrupted by SIGTERM while listing" in text
    run_dir = run_folder_in(text)
    assert [r["status"] for r in read_results(run_dir)] == ["not_attempted"] * 5


@pytest.mark.slow
def test_ctrl_c_while_validating_is_a_sentence_and_exit_3(tmp_path: Path) -> None:
    catalog = tmp_path / "big.csv"
    base = row("x")
    with catalog.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SOURCE_HEADER)
        for i in range(400_000):
            writer.writerow([f"big_{i}" if c == "name" else base[c] for c in SOURCE_HEADER])
    proc = subprocess.Popen(
        tool("submit", str(catalog), "--base-url", "http://127.0.0.1:9", "--report-dir", "r"),
        cwd=tmp_path,
        env={**os.environ, "STATSIG_API_KEY": "console-x"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Once the run folder holds the catalog's copy, validation has begun.
    for _ in range(3000):
        if list(tmp_path.glob("r/*/run.json")):
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    assert "Traceback" not in err
    assert "interrupted by SIGINT while reading the catalog; nothing was sent" in err
