"""The run record is append-only in meaning (issue 18, case 1): a row the run settled stays
in results.csv, summary.json and created.jsonl across resumes, whatever the catalog became."""

from __future__ import annotations

import json
from pathlib import Path

from catalog_helpers import row, write_catalog, write_csv
from fakeapi_fixtures import StartFakeServer
from submit_helpers import read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.fakeapi import FakeApiConfig
from bulk_sources.run.entry import resume_run_async, submit_catalog_async
from bulk_sources.run.record.journal import Journal, read_journal
from bulk_sources.run.rollback.start import rollback_run_async

CHANGE = "the catalog changed since the run: 2 rows gone from it, kept in the report as done"


async def test_resume_after_rows_were_removed_keeps_them_and_rollback_removes_them(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    key = ApiKey(server.key)
    catalog = tmp_path / "c.csv"
    rows = [row(n) for n in ("keep_a", "gone_b", "keep_c", "gone_d")]
    write_catalog(catalog, rows)
    first = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), key)
    assert first.run_dir is not None and first.counts["created"] == 4

    # Two created rows deleted from the file, and a new one added: resume has work to do.
    write_catalog(catalog, [rows[0], rows[2], row("new_e")])
    again = await resume_run_async(first.run_dir, key)

    assert again.counts["created"] == 5
    assert again.catalog_change == CHANGE
    results = read_results(first.run_dir)
    assert sorted(r["name"] for r in results) == ["gone_b", "gone_d", "keep_a", "keep_c", "new_e"]
    gone = [r for r in results if r["name"].startswith("gone")]
    assert all(r["row"] == "0" and "no longer in the catalog (row" in r["error"] for r in gone)
    summary = json.loads((first.run_dir / "summary.json").read_text())
    assert summary["counts"]["created"] == 5 and summary["catalog_change"] == CHANGE
    created = (first.run_dir / "created.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["name"] for line in created) == sorted(
        r["name"] for r in results
    )
    # failed.csv never takes a gone row for another row of today's catalog.
    assert "gone_" not in (first.run_dir / "failed.csv").read_text()

    undone = await rollback_run_async(first.run_dir, key)
    assert undone.counts.get("deleted") == 5
    assert server.state.store.sources == {}


async def test_an_unanswered_send_of_a_removed_row_stays_unknown(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    key = ApiKey(server.key)
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b")])
    first = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), key)
    assert first.run_dir is not None
    # A crash left a send of a third row without its answer; the row is then removed.
    with Journal(first.run_dir / "journal.jsonl") as journal:
        journal.sending(rid="x", key="k" * 64, row=3, name="lost", action="create", attempt=1)
    write_catalog(catalog, [row("a"), row("b"), row("c")])
    again = await resume_run_async(first.run_dir, key)
    lost = [r for r in again.results if r.name == "lost"]
    assert [r.status.value for r in lost] == ["unknown"]
    assert again.catalog_change is not None and "1 gone from it" in again.catalog_change
    assert "k" * 64 in read_journal(first.run_dir / "journal.jsonl").unfinished


async def test_dry_run_rows_are_validated_never_created(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    """Case 5: the API "skips persisting" a dryRun=true row, so nothing of it is undone."""
    server = await fake_server_factory(FakeApiConfig())
    key = ApiKey(server.key)
    catalog = write_csv(
        tmp_path / "c.csv", [row("real", dryRun="false"), row("check", dryRun="true")]
    )
    report = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), key)
    assert report.run_dir is not None
    assert [(r.name, r.status.value) for r in report.results] == [
        ("real", "created"),
        ("check", "validated"),
    ]
    assert report.outcome.value == "ok"
    created = (report.run_dir / "created.jsonl").read_text().splitlines()
    assert [json.loads(line)["name"] for line in created] == ["real"]
    assert set(server.state.store.sources) == {"real"}
    undone = await rollback_run_async(report.run_dir, key)
    assert [(r.name, r.status.value) for r in undone.results] == [("real", "deleted")]
