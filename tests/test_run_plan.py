"""The catalog against the server (issue 10), end to end against the stand-in over real HTTP:
unchanged rows cost nothing, only changed rows are updated, export recreates a project,
lost answers are settled by listing, retry finds rows by content and name."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from catalog_helpers import names, row, write_catalog
from fakeapi_fixtures import CREATE_PATH, StartFakeServer
from process_helpers import server_process, server_stats
from submit_helpers import TEST_WINDOWS, no_send_after_success, read_journal, read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.api.client import AnswerKind, ConsoleClient, classify
from bulk_sources.catalog.validation import ValidRow
from bulk_sources.cli.main import main
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer, FaultConfig
from bulk_sources.limits.windows import Window
from bulk_sources.models import row_key
from bulk_sources.run.entry import dry_run_async, retry_run_async, submit_catalog_async
from bulk_sources.run.export import catalog_rows, list_sources, write_export
from bulk_sources.run.plan.planfile import read_plan
from bulk_sources.run.plan.settle import ListingSettler

KEY = "console-sync-tests"


async def _server(factory: StartFakeServer, **config: Any) -> FakeApiServer:
    config.setdefault("windows", list(TEST_WINDOWS))
    return await factory(FakeApiConfig(keys=[KEY], **config))


def row_body(name: str) -> dict[str, Any]:
    return {"sql": f"SELECT {name}", "timestampColumn": "ts"}


def _valid(name: str) -> ValidRow:
    body = {"name": name, **row_body(name)}
    return ValidRow(0, name, body, row_key(body))


def _mutations(server: FakeApiServer) -> int:
    return int(server.state.stats()["mutations"])


async def test_a_second_update_run_sends_nothing_and_ten_changed_rows_send_ten(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await _server(fake_server_factory)
    rows = [row(n) for n in names(40)]
    catalog = write_catalog(tmp_path / "c.csv", rows)
    config = settings(server.url, tmp_path / "r", on_exists="update")
    first = await submit_catalog_async(catalog, config, ApiKey(KEY))
    assert first.counts["created"] == 40

    before = _mutations(server)
    second = await submit_catalog_async(catalog, config, ApiKey(KEY))
    assert _mutations(server) == before  # not one request
    assert second.counts["unchanged"] == 40 and second.requests.sent == 0
    assert second.outcome == "ok"
    assert {r["status"] for r in read_results(second.run_dir)} == {"unchanged"}

    for i in range(0, 40, 4):
        rows[i] = row(rows[i]["name"], sql=f"SELECT * FROM changed_{i}")
    write_catalog(catalog, rows)
    updated_before = server.state.updated
    third = await submit_catalog_async(catalog, config, ApiKey(KEY))
    assert _mutations(server) - before == 10
    assert server.state.updated - updated_before == 10
    assert third.counts["updated"] == 10 and third.counts["unchanged"] == 30
    # The plan was recorded before sending: the 10 updates name the field that differs.
    plan = read_plan(third.run_dir / "plan.csv")
    assert [(e.row, e.action, e.fields) for e in plan if e.action == "update"] == [
        (i + 1, "update", ("sql",)) for i in range(0, 40, 4)
    ]
    # What each update replaced is kept for rollback.
    befores = [
        line
        for line in (third.run_dir / "created.jsonl").read_text().splitlines()
        if "before" in line
    ]
    assert len(befores) == 10
    assert '"sql": "SELECT * FROM exposures_src_0000"' in befores[0]


async def test_dry_run_writes_the_plan_and_shows_rows_per_action(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await _server(fake_server_factory)
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(6)])
    await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), ApiKey(KEY))
    rows = [row(n) for n in names(6)]
    rows[1] = row(rows[1]["name"], tags="other", groupIDColumn="grp")
    rows += [row("brand_new"), row("broken", sql=" "), dict(rows[0])]
    write_catalog(catalog, rows)
    plan_file = tmp_path / "out" / "my-plan.csv"
    plan_file.parent.mkdir()
    before = _mutations(server)
    dry = await dry_run_async(
        catalog,
        settings(server.url, tmp_path / "r", on_exists="update"),
        ApiKey(KEY),
        plan_file=plan_file,
    )
    assert _mutations(server) == before
    assert dry.actions == {"unchanged": 5, "update": 1, "create": 1, "invalid": 1, "duplicate": 1}
    assert dry.requests == 2
    assert [(e.row, e.fields) for e in dry.examples["update"]] == [(2, ("tags", "groupIDColumn"))]
    with plan_file.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [(d["row"], d["action"], d["fields"]) for d in lines] == [
        ("1", "unchanged", ""),
        ("2", "update", "tags;groupIDColumn"),
        ("3", "unchanged", ""),
        ("4", "unchanged", ""),
        ("5", "unchanged", ""),
        ("6", "unchanged", ""),
        ("7", "create", ""),
        ("8", "invalid", ""),
        ("9", "duplicate", ""),
    ]
    assert "sql: is required but empty" in lines[7]["note"]


def _rich_rows(n: int) -> list[dict[str, Any]]:
    """Sources with every kind of field, as another tool might have made them."""
    out = []
    for i in range(n):
        body: dict[str, Any] = {
            "name": f"rich_{i:03d}",
            "sql": f"SELECT user_id, ts, exp, grp FROM t{i}\nWHERE x = 'a,b'",
            "timestampColumn": "ts",
            "experimentIDColumn": "exp",
            "groupIDColumn": "grp",
            "idTypeMapping": [{"statsigUnitID": "userID", "column": "user_id"}],
        }
        if i % 2:
            body["tags"] = ["t1", f"t{i}"]
            body["description"] = f"=formula-looking {i}"
        if i % 3 == 0:
            body["isVerified"] = i % 2 == 0
            body["owner"] = {"ownerID": f"o{i}", "ownerType": "USER"}
        if i % 5 == 0:
            body["team"] = "growth"
            body["isReadOnly"] = True
        out.append(body)
    return out


async def _populate(server: FakeApiServer, bodies: list[dict[str, Any]]) -> None:
    async with aiohttp.ClientSession() as session:
        for body in bodies:
            async with session.post(
                server.url + CREATE_PATH, json=body, headers={"STATSIG-API-KEY": KEY}
            ) as response:
                assert response.status == 201


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
async def test_export_recreates_a_project_and_plans_the_same_one_unchanged(
    fake_server_factory: StartFakeServer, tmp_path: Path, suffix: str
) -> None:
    source = await _server(fake_server_factory, windows=[Window(1000, 1.0)])
    await _populate(source, _rich_rows(30))
    config = settings(source.url, tmp_path / "r")
    exported = write_export(
        catalog_rows(await list_sources(config, ApiKey(KEY))), tmp_path / f"x{suffix}"
    )
    assert _mutations(source) == 30  # the export itself sent no mutation

    target = await _server(fake_server_factory, windows=[Window(1000, 1.0)])
    copy = await submit_catalog_async(exported, settings(target.url, tmp_path / "r"), ApiKey(KEY))
    assert copy.counts["created"] == 30 and copy.outcome == "ok"
    assert target.state.sources == source.state.sources

    again = await submit_catalog_async(
        exported, settings(source.url, tmp_path / "r", on_exists="update"), ApiKey(KEY)
    )
    assert again.counts["unchanged"] == 30
    assert _mutations(source) == 30


def test_export_cli_writes_csv_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with server_process(KEY, ["1000/1s"]) as url:
        for body in _rich_rows(3):
            request = urllib.request.Request(
                url + CREATE_PATH,
                data=json.dumps(body).encode(),
                headers={"STATSIG-API-KEY": KEY, "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 201
        monkeypatch.setenv("STATSIG_API_KEY", KEY)
        assert main(["export", "--base-url", url]) == 0
        out = capsys.readouterr().out
        assert main(["export", "--base-url", url, "--output", str(tmp_path / "x.parquet")]) == 0
        assert f"exported 3 sources from {url} to" in capsys.readouterr().err
        assert server_stats(url)["mutations"] == 3
    lines = list(csv.DictReader(io.StringIO(out)))
    assert [d["name"] for d in lines] == ["rich_000", "rich_001", "rich_002"]
    assert lines[1]["tags"] == '["t1","t1"]'
    assert lines[1]["description"] == "=formula-looking 1"  # input for submit: not neutralised
    assert lines[0]["owner"] == '{"ownerID":"o0","ownerType":"USER"}'
    assert lines[0]["isVerified"] == "true" and lines[1]["isVerified"] == ""
    assert pq.read_table(tmp_path / "x.parquet").column("name").to_pylist() == [
        d["name"] for d in lines
    ]


async def test_lost_answers_share_listings(tmp_path: Path) -> None:
    calls = 0

    async def lister() -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return [{"name": "a", **row_body("a")}, {"name": "b", "sql": "other"}]

    settler = ListingSettler(lister, "skip")
    rows = [_valid(n) for n in ("a", "b", "c")]
    first = await asyncio.gather(*(settler(r) for r in rows))
    # Lost while the listing runs: the next listing, shared by both.
    late = await asyncio.gather(settler(rows[0]), settler(rows[2]))
    await settler.close()
    assert calls == 2
    assert [d.action if d else None for d in first] == ["settled", "skip", "create"]
    assert [d.action if d else None for d in late] == ["settled", "create"]


@pytest.mark.slow
async def test_lost_answers_are_settled_by_listing_not_by_the_duplicate_wording(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await _server(
        fake_server_factory,
        faults=FaultConfig(create_then_drop_rate=0.1, seed=3),
        duplicate_message="Conflict: {name} is taken",  # wording the tool does not know
    )
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(200)])
    report = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), ApiKey(KEY))
    stats = server.state.stats()
    lost = stats["faults"]["create_then_drop"]
    assert lost >= 10
    assert report.counts["created"] == 200 and report.outcome == "ok"
    assert stats["sources_created"] == 200
    assert stats["duplicates_refused"] == 0  # no create was ever sent twice
    assert stats["requests"]["by_method"]["POST"] == 200
    results = read_results(report.run_dir)
    settled = [r for r in results if "found by listing" in r["error"]]
    assert len(settled) == lost
    assert no_send_after_success(read_journal(report.run_dir))


async def test_the_wording_is_only_a_fallback_and_says_so(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    """A stall longer than the timeout: the listing comes before the create lands, so the
    row is sent again and told the name is in use; then the wording settles it."""
    server = await _server(
        fake_server_factory, faults=FaultConfig(stall_rate=1.0, stall_seconds=0.4, seed=1)
    )
    catalog = write_catalog(tmp_path / "c.csv", [row("slow")])
    config = settings(server.url, tmp_path / "r", timeout=0.2, max_attempts=5)
    report = await submit_catalog_async(catalog, config, ApiKey(KEY))
    assert report.counts["created"] == 1
    error = report.results[0].error
    assert "found by listing" in error or "settled by the API's wording" in error
    assert server.state.stats()["sources_created"] == 1


async def test_retry_finds_fixed_rows_by_name_and_failed_rows_by_content(
    fake_server_factory: StartFakeServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = await _server(fake_server_factory)
    rows = [row(n) for n in names(40)]
    broken = [3, 11, 20, 33]
    for i in broken:
        rows[i] = row(rows[i]["name"], idTypeMapping="userID")  # no '=': invalid
    catalog = write_catalog(tmp_path / "c.csv", rows)
    config = settings(server.url, tmp_path / "r")
    first = await submit_catalog_async(catalog, config, ApiKey(KEY))
    assert first.counts["invalid"] == 4 and first.counts["created"] == 36

    # Fix the 4 rows and insert a new row at the top: every row number moves by one.
    for i in broken:
        rows[i] = row(rows[i]["name"])
    rows.insert(0, row("inserted_later"))
    write_catalog(catalog, rows)
    posts = server.state.stats()["requests"]["by_method"]["POST"]
    retried = await retry_run_async(first.run_dir, ApiKey(KEY), include_invalid=True)
    assert server.state.stats()["requests"]["by_method"]["POST"] - posts == 4
    assert sorted(r.name for r in retried.results) == sorted(f"src_{i:04d}" for i in broken)
    assert {r.status.value for r in retried.results} == {"created"}
    assert "changed since the run" in retried.note
    assert "inserted_later" not in server.state.sources

    # Nothing left: a sentence, no new run folder, exit 0.
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    folders = set((tmp_path / "r").iterdir())
    code = await asyncio.to_thread(main, ["retry", str(retried.run_dir)])
    assert code == 0
    assert "nothing to retry" in capsys.readouterr().out
    assert set((tmp_path / "r").iterdir()) == folders


async def test_retry_with_rows_still_to_fix_exits_1(
    fake_server_factory: StartFakeServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    server = await _server(fake_server_factory)
    rows = [row("good"), row("bad", sql=" ")]
    catalog = write_catalog(tmp_path / "c.csv", rows)
    first = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), ApiKey(KEY))
    # Still broken in the catalog: reported invalid again (with why), exit 1.
    code = await asyncio.to_thread(main, ["retry", str(first.run_dir), "--include-invalid"])
    out = capsys.readouterr().out
    assert code == 1
    assert "row 2 (bad): invalid: sql: is required but empty" in out
    # Removed from the catalog: nothing to send, and something is left: exit 1, no folder.
    write_catalog(catalog, [row("good")])
    folders = set((tmp_path / "r").iterdir())
    code = await asyncio.to_thread(main, ["retry", str(first.run_dir), "--include-invalid"])
    out = capsys.readouterr().out
    assert code == 1
    assert "nothing to retry" in out and "not found in the catalog now: bad" in out
    assert set((tmp_path / "r").iterdir()) == folders


def test_an_errors_list_names_the_fields() -> None:
    body = {
        "status": 400,
        "message": "Invalid request",
        "errors": [
            {"field": "sql", "message": "must be a SELECT"},
            {"property": "idTypeMapping.0.column"},
            "timestampColumn is unknown",
        ],
    }
    answer = classify(400, body, "", None)
    assert answer.kind is AnswerKind.REJECTED
    assert answer.message == (
        "Invalid request (sql: must be a SELECT; idTypeMapping.0.column; "
        "timestampColumn is unknown)"
    )
    assert answer.problems == (
        ("sql", "must be a SELECT"),
        ("idTypeMapping.0.column", ""),
        ("", "timestampColumn is unknown"),
    )


async def test_a_400_with_errors_reaches_the_report(tmp_path: Path) -> None:
    async def create(_request: web.Request) -> web.Response:
        body = {
            "status": 400,
            "message": "Bad input",
            "errors": [{"field": "sql", "message": "no"}],
        }
        return web.json_response(body, status=400)

    async def listing(_request: web.Request) -> web.Response:
        return web.json_response({"message": "ok", "data": [], "pagination": {"nextPage": None}})

    app = web.Application()
    app.router.add_post(CREATE_PATH, create)
    app.router.add_get(CREATE_PATH, listing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        catalog = write_catalog(tmp_path / "c.csv", [row("one")])
        report = await submit_catalog_async(
            catalog, settings(f"http://127.0.0.1:{port}", tmp_path / "r"), ApiKey(KEY)
        )
    finally:
        await runner.cleanup()
    assert read_results(report.run_dir)[0]["error"] == "Bad input (sql: no)"
    # failed.csv names the field the API named, as it does for a row validation refused.
    with (report.run_dir / "failed.csv").open(encoding="utf-8", newline="") as handle:
        [failed] = list(csv.DictReader(handle))
    assert (failed["_status"], failed["_field"], failed["_error"]) == ("failed", "sql", "no")
    assert failed["_errors"] == ""


async def test_delete_answers_ok_then_404(fake_server_factory: StartFakeServer) -> None:
    server = await _server(fake_server_factory)
    await _populate(server, _rich_rows(1))
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(session, server.url, ApiKey(KEY))
        assert (await client.delete("rich_000")).kind is AnswerKind.OK
        gone = await client.delete("rich_000")
    assert (gone.kind, gone.status) == (AnswerKind.REJECTED, 404)
    assert server.state.stats()["mutations"] == 3  # deletes count in the windows
