"""A lost or cut journal never erases what the run made; export says a refused key as
every command does (issue 18 follow-up)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_helpers import row, write_catalog
from fakeapi_fixtures import StartFakeServer
from process_helpers import server_process
from submit_helpers import settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.cli.main import main
from bulk_sources.errors import UsageError
from bulk_sources.fakeapi import FakeApiConfig
from bulk_sources.run.entry import resume_run_async, submit_catalog_async
from bulk_sources.run.record.report import write_created
from bulk_sources.run.record.results import RowResult, Status
from bulk_sources.run.rollback.start import rollback_run_async


@pytest.mark.parametrize("damage", ["removed", "emptied", "cut"])
async def test_resume_without_the_journal_refuses_and_keeps_the_record(
    fake_server_factory: StartFakeServer, tmp_path: Path, damage: str
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    key = ApiKey(server.key)
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b"), row("c")])
    first = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), key)
    assert first.run_dir is not None and first.counts["created"] == 3
    run_dir = first.run_dir
    journal = run_dir / "journal.jsonl"
    if damage == "removed":
        journal.unlink()
    elif damage == "emptied":
        journal.write_text("")
    else:  # an older copy put back: one row's send and outcome are not in it
        lines = journal.read_text().splitlines(keepends=True)
        cut = json.loads(next(line for line in lines if '"event":"final"' in line))["key"]
        journal.write_text("".join(line for line in lines if cut not in line))
    before = {n: (run_dir / n).read_bytes() for n in ("results.csv", "created.jsonl")}
    mutations = server.state.stats()["mutations"]

    with pytest.raises(UsageError, match=r"journal.jsonl .*still hold what the run did"):
        await resume_run_async(run_dir, key)
    assert {n: (run_dir / n).read_bytes() for n in before} == before
    assert server.state.stats()["mutations"] == mutations
    # The record still undoes the run.
    undone = await rollback_run_async(run_dir, key)
    assert undone.counts.get("deleted") == 3 and server.state.store.sources == {}


def test_the_cli_refuses_a_resume_without_journal_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "console-lost-journal"
    with server_process(key, ["1000/1s"]) as url:
        monkeypatch.setenv("STATSIG_API_KEY", key)
        catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("b")])
        reports = tmp_path / "r"
        args = ["submit", str(catalog), "--base-url", url, "--report-dir", str(reports)]
        assert main(args) == 0
        (run_dir,) = [p for p in reports.iterdir() if (p / "run.json").is_file()]
        (run_dir / "journal.jsonl").unlink()
        capsys.readouterr()
        assert main(["resume", str(run_dir)]) == 2
        err = capsys.readouterr().err
        assert "journal.jsonl is missing" in err and "Traceback" not in err
        lines = (run_dir / "created.jsonl").read_text().splitlines()
        assert len(lines) == 2


def test_created_jsonl_never_loses_a_line(tmp_path: Path) -> None:
    path = tmp_path / "created.jsonl"
    made = [RowResult(row=n, name=f"s{n}", status=Status.CREATED, key=f"k{n}") for n in (1, 2)]
    write_created(path, made)
    write_created(path, [RowResult(row=1, name="s1", status=Status.UNCHANGED, key="k1")])
    assert sorted(json.loads(line)["name"] for line in path.read_text().splitlines()) == [
        "s1",
        "s2",
    ]


def test_export_with_a_refused_key_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with server_process("console-the-right-key", ["1000/1s"]) as url:
        monkeypatch.setenv("STATSIG_API_KEY", "console-a-wrong-key")
        capsys.readouterr()
        assert main(["export", "--base-url", url, "--output", str(tmp_path / "x.csv")]) == 2
        err = capsys.readouterr().err
        assert "refused the key" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()
