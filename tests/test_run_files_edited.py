"""Run files a person edited or re-saved (issue 18, case 9): read correctly, or refused with
one sentence naming the file and the line; never a traceback, never "resume continues it"."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from catalog_helpers import row, write_catalog
from fakeapi_fixtures import StartFakeServer
from submit_helpers import settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.errors import UsageError
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.run.entry import resume_run_async, retry_run_async, submit_catalog_async
from bulk_sources.run.record.summary import RunReport
from bulk_sources.run.rollback.start import rollback_run_async

BAD = {"idTypeMapping": "userID"}  # invalid: a mapping needs a column


async def _run(server: FakeApiServer, tmp_path: Path) -> tuple[Path, RunReport]:
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b", **BAD), row("c")])
    report = await submit_catalog_async(
        catalog, settings(server.url, tmp_path / "r"), ApiKey(server.key)
    )
    assert report.run_dir is not None and report.counts["invalid"] == 1
    return catalog, report


async def test_results_resaved_with_a_bom_reordered_and_an_extra_cell_is_read(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    catalog, report = await _run(server, tmp_path)
    assert report.run_dir is not None
    path = report.run_dir / "results.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    flipped = [list(reversed(r)) + (["extra"] if i == 2 else []) for i, r in enumerate(rows)]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # as Excel saves it
        csv.writer(handle).writerows(flipped)
    write_catalog(catalog, [row("a"), row("b"), row("c")])  # the invalid row fixed
    again = await retry_run_async(report.run_dir, ApiKey(server.key), include_invalid=True)
    assert [(r.name, r.status.value) for r in again.results] == [("b", "created")]


async def test_an_extra_cell_does_not_shift_failed_csv_report_columns(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    catalog = write_catalog(tmp_path / "c.csv", [row("a")])
    with catalog.open("a", encoding="utf-8") as handle:
        handle.write("wide,SELECT 1,ts,e,g,userID=u,t,one too many\nshort,SELECT 1\n")
    report = await submit_catalog_async(
        catalog, settings(server.url, tmp_path / "r"), ApiKey(server.key)
    )
    assert report.run_dir is not None
    with (report.run_dir / "failed.csv").open(encoding="utf-8", newline="") as handle:
        failed = list(csv.DictReader(handle))
    assert [(f["name"], f["_row"], f["_status"]) for f in failed] == [
        ("wide", "2", "invalid"),
        ("short", "3", "invalid"),
    ]
    assert all("header has 7 columns" in f["_error"] for f in failed)


async def test_an_emptied_results_csv_is_refused_and_resume_writes_it_again(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    catalog, report = await _run(server, tmp_path)
    assert report.run_dir is not None
    results = report.run_dir / "results.csv"
    for emptied in ("", "row,name,status,http_status,attempts,error,key\n"):
        results.write_text(emptied, encoding="utf-8")
        with pytest.raises(UsageError) as refused:
            await retry_run_async(report.run_dir, ApiKey(server.key))
        message = str(refused.value)
        assert f"{results} line " in message and "holds 0 rows, the run has 3" in message
        assert "nothing to retry" not in message
    # summary.json gone too: the journal still says how many rows the run has.
    (report.run_dir / "summary.json").unlink()
    with pytest.raises(UsageError, match="holds 0 rows, the run has 3"):
        await retry_run_async(report.run_dir, ApiKey(server.key))
    # Resume (nothing left to send) writes the report again instead of "nothing to resume".
    again = await resume_run_async(report.run_dir, ApiKey(server.key))
    assert again.counts["created"] == 2 and again.counts["invalid"] == 1
    assert len(results.read_text().splitlines()) == 4
    write_catalog(catalog, [row("a"), row("b"), row("c")])
    retried = await retry_run_async(report.run_dir, ApiKey(server.key), include_invalid=True)
    assert [r.name for r in retried.results] == ["b"]


async def test_a_hand_edited_journal_line_is_refused_naming_it(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    _, report = await _run(server, tmp_path)
    assert report.run_dir is not None
    journal = report.run_dir / "journal.jsonl"
    lines = journal.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if '"event":"final"' in line)
    for edit in ({"status": "craeted"}, {"row": "two"}, {"data": [1]}):
        record = {**json.loads(lines[n]), **edit}
        journal.write_text("\n".join([*lines[:n], json.dumps(record), *lines[n + 1 :]]) + "\n")
        with pytest.raises(UsageError) as refused:
            await resume_run_async(report.run_dir, ApiKey(server.key))
        message = str(refused.value)
        assert message.startswith(f"{journal} line {n + 1} is not as the tool wrote it (")
        assert "resume continues it" not in message


async def test_a_hand_edited_created_jsonl_line_is_refused_naming_it(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    _, report = await _run(server, tmp_path)
    assert report.run_dir is not None
    created = report.run_dir / "created.jsonl"
    lines = created.read_text().splitlines()
    for edited in (
        '{"row": 1, "name": "a", "status": "created"',
        '{"row": "x", "name": "a", "status": "created", "data": {}}',
    ):
        created.write_text("\n".join([lines[0], edited]) + "\n")
        with pytest.raises(UsageError, match=f"{created} line 2 is not as the tool wrote it"):
            await rollback_run_async(report.run_dir, ApiKey(server.key))


def test_a_plan_resaved_by_a_reviewer_reads_the_same(tmp_path: Path) -> None:
    from bulk_sources.run.actions import PlanEntry
    from bulk_sources.run.plan.planfile import read_plan, write_plan

    entries = [
        PlanEntry(1, "a", "create", digest="d1"),
        PlanEntry(2, "b", "update", ("sql",), "exists", ("sql: x -> y",), "d2"),
    ]
    path = write_plan(tmp_path / "plan.csv", entries)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # BOM, columns reversed
        csv.writer(handle).writerows(
            [[*reversed(r), *([""] if i else [])] for i, r in enumerate(rows)]
        )
    assert read_plan(path) == entries
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[2] = lines[2].replace(",2,", ",two,")  # the row number, edited by hand
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match=f"{path} line 3 is not as the tool wrote it"):
        read_plan(path)
