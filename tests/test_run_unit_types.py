"""Unit ID types against the project: the dry run, submit, --create-unit-types, a failing
endpoint; against the real stand-in over real aiohttp."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from catalog_helpers import row, write_catalog
from fakeapi_fixtures import StartFakeServer, source_body
from process_helpers import server_process, server_stats
from submit_helpers import TEST_WINDOWS, read_journal, read_results, settings
from test_fakeapi_unit_types import SOURCES, call

from bulk_sources.api.apikey import ApiKey
from bulk_sources.cli.main import main
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.limits.windows import Window
from bulk_sources.run.dryrun import dry_run_async
from bulk_sources.run.entry import resume_run_async, submit_catalog_async
from bulk_sources.run.rollback.start import plan_rollback, rollback_run_async

KEY = "console-units-0123456789abcdef"


def catalog(tmp_path: Path) -> Path:
    return write_catalog(
        tmp_path / "c.csv",
        [
            row("good"),
            row("typo", idTypeMapping="userId=user_id"),
            row("company", idTypeMapping="companyID=company_id"),
        ],
    )


async def start(factory: StartFakeServer, **config: object) -> FakeApiServer:
    server: FakeApiServer = await factory(
        FakeApiConfig(keys=[KEY], windows=list(TEST_WINDOWS), **config)  # type: ignore[arg-type]
    )
    return server


async def test_dry_run_makes_rows_with_missing_types_invalid(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory, unit_types=["accountID"])
    plan_file = tmp_path / "plan.csv"
    plan = await dry_run_async(
        catalog(tmp_path), settings(server.url, tmp_path / "r"), ApiKey(KEY), plan_file=plan_file
    )
    assert plan.actions == {"create": 1, "invalid": 2}
    reasons = {p.name: p.error for p in plan.problems}
    assert "did you mean `userID`?" in reasons["typo"]
    assert "it has: userID, stableID, accountID" in reasons["typo"]
    assert "--create-unit-types" in reasons["company"]
    assert plan.notes == []
    with plan_file.open(encoding="utf-8", newline="") as handle:
        by_name = {r["name"]: r for r in csv.DictReader(handle)}
    assert by_name["typo"]["action"] == "invalid"
    assert server.state.stats()["mutations"] == 0  # GETs only


async def test_dry_run_with_create_plans_the_type_and_counts_its_request(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory)
    config = settings(server.url, tmp_path / "r", create_unit_types=True)
    plan = await dry_run_async(catalog(tmp_path), config, ApiKey(KEY), plan_file=tmp_path / "p")
    assert plan.unit_types_to_create == ["companyID"]  # userId is a typo, never created
    assert plan.actions == {"create": 2, "invalid": 1}
    assert plan.requests == 3
    assert server.state.unit_types.names("default") == ["userID", "stableID"]


@pytest.mark.parametrize("status", [404, 403])
async def test_a_failing_endpoint_is_a_note_not_a_stop(
    fake_server_factory: StartFakeServer, tmp_path: Path, status: int
) -> None:
    server = await start(fake_server_factory, unit_types_status=status, strict_unit_types=False)
    plan = await dry_run_async(
        catalog(tmp_path),
        settings(server.url, tmp_path / "r"),
        ApiKey(KEY),
        plan_file=tmp_path / "p",
    )
    assert plan.actions == {"create": 3}
    assert len(plan.notes) == 1
    assert plan.notes[0].startswith("unit ID types not checked: could not list the project's")
    report = await submit_catalog_async(
        catalog(tmp_path), settings(server.url, tmp_path / "r"), ApiKey(KEY)
    )
    assert report.counts.get("created") == 3
    assert report.unit_types is not None
    assert report.unit_types["checked"] is False


async def test_submit_leaves_rows_with_missing_types_invalid(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory)
    report = await submit_catalog_async(
        catalog(tmp_path), settings(server.url, tmp_path / "r"), ApiKey(KEY)
    )
    statuses = {r["name"]: r["status"] for r in read_results(report.run_dir)}
    assert statuses == {"good": "created", "typo": "invalid", "company": "invalid"}
    assert list(server.state.sources) == ["good"]
    assert server.state.stats()["unit_types"]["unknown_refused"] == 0  # none was sent


async def test_create_unit_types_creates_them_first_under_the_budget(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory)
    config = settings(server.url, tmp_path / "r", create_unit_types=True)
    report = await submit_catalog_async(catalog(tmp_path), config, ApiKey(KEY))
    statuses = {r["name"]: r["status"] for r in read_results(report.run_dir)}
    assert statuses == {"good": "created", "typo": "invalid", "company": "created"}
    assert server.state.unit_types.names("default") == ["userID", "stableID", "companyID"]
    assert server.state.stats()["mutations"] == 3  # one type, two sources
    events = [e for e in read_journal(report.run_dir) if e["event"] == "unit_type"]
    assert [(e["name"], e["action"]) for e in events] == [
        ("companyID", "create"),
        ("companyID", "created"),
    ]
    summary = json.loads((report.run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["unit_types"]["created"] == ["companyID"]
    assert summary["requests_sent"] == 3


async def test_a_type_the_server_refuses_makes_its_rows_invalid(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory)
    rows = [row("good"), row("spaced", idTypeMapping="org-unit=org")]
    path = write_catalog(tmp_path / "c.csv", rows)
    config = settings(server.url, tmp_path / "r", create_unit_types=True)
    report = await submit_catalog_async(path, config, ApiKey(KEY))
    results = {r["name"]: r for r in read_results(report.run_dir)}
    assert results["good"]["status"] == "created"
    assert results["spaced"]["status"] == "invalid"
    assert (
        "creating it failed: Invalid request: name may hold only letters, digits and _"
        in results["spaced"]["error"]
    )
    assert report.unit_types is not None
    assert list(report.unit_types["failed"]) == ["org-unit"]


async def test_a_row_the_api_refuses_names_its_fields_in_failed_csv(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    """The types could not be listed, so the rows go; the API refuses each unknown type
    with an `errors` entry naming idTypeMapping. A resume writes failed.csv again from the
    journal, fields and all."""
    server = await start(fake_server_factory, unit_types_status=404)
    rows = [
        row("good"),
        row("one", idTypeMapping="companyID=c"),
        row("two", idTypeMapping="companyID=c;teamID=t"),
    ]
    path = write_catalog(tmp_path / "c.csv", rows)
    report = await submit_catalog_async(path, settings(server.url, tmp_path / "r"), ApiKey(KEY))
    assert (report.counts["created"], report.counts["failed"]) == (1, 2)

    def failed_rows() -> dict[str, dict[str, str]]:
        with (report.run_dir / "failed.csv").open(encoding="utf-8", newline="") as handle:
            return {r["name"]: r for r in csv.DictReader(handle)}

    def missing(name: str) -> str:
        return f"unit ID type {name!r} does not exist in this project (it has: userID, stableID)"

    def check(failed: dict[str, dict[str, str]]) -> None:
        one, two = failed["one"], failed["two"]
        assert (one["_field"], one["_error"], one["_errors"]) == (
            "idTypeMapping",
            missing("companyID"),
            "",
        )
        assert (two["_field"], two["_error"]) == ("idTypeMapping", missing("companyID"))
        assert json.loads(two["_errors"]) == [
            {"field": "idTypeMapping", "error": missing("companyID")},
            {"field": "idTypeMapping", "error": missing("teamID")},
        ]

    check(failed_rows())
    write_catalog(path, [*rows, row("late")])  # edited: resume has a row to send
    again = await resume_run_async(report.run_dir, ApiKey(KEY))
    assert (again.counts["created"], again.counts["failed"]) == (2, 2)
    check(failed_rows())


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with server_process(KEY, ["1000/1s"], "--unit-type", "accountID") as url:
        yield url


def test_validate_with_a_key_checks_the_project(
    server_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    path = catalog(tmp_path)
    assert main(["validate", str(path), "--base-url", server_url]) == 1
    out, err = capsys.readouterr()
    assert "row 2 (typo): idTypeMapping: unit ID type 'userId' is not in the project " in out
    assert "(did you mean `userID`?); it has: userID, stableID, accountID" in out
    assert f"{path}: 3 rows: 1 valid, 2 invalid, 0 duplicates" in out
    assert "not checked" not in err
    assert server_stats(server_url)["mutations"] == 0
    assert main(["validate", str(path), "--base-url", server_url, "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["unit_types"] == {"checked": True, "note": None}


def test_validate_without_a_key_says_the_types_were_not_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATSIG_API_KEY", raising=False)
    path = catalog(tmp_path)
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "note: unit ID types not checked (companyID, userId): no API key" in err
    assert f"{path}: 3 rows: 3 valid, 0 invalid, 0 duplicates" in out
    built_in_only = write_catalog(tmp_path / "b.csv", [row("good")])
    assert main(["validate", str(built_in_only)]) == 0
    assert capsys.readouterr().err == ""  # userID and stableID need no check


def test_validate_with_an_endpoint_that_fails_warns_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    with server_process(KEY, ["1000/1s"]) as url:
        # Under a prefix the stand-in does not serve, every path is 404: as for a project
        # or API version without the endpoint.
        path = catalog(tmp_path)
        code = main(["validate", str(path), "--base-url", url + "/nowhere"])
    err = capsys.readouterr().err
    assert code == 0
    assert "note: unit ID types not checked: could not list the project's unit ID types" in err


async def test_rollback_deletes_only_the_types_the_run_created_and_no_source_maps(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory, unit_types=["accountID"])
    rows = [
        row("a", idTypeMapping="companyID=company_id"),
        row("b", idTypeMapping="orgID=org_id"),
        row("c", idTypeMapping="accountID=account_id"),
    ]
    path = write_catalog(tmp_path / "c.csv", rows)
    config = settings(server.url, tmp_path / "r", create_unit_types=True)
    report = await submit_catalog_async(path, config, ApiKey(KEY))
    assert report.unit_types is not None
    assert report.unit_types["created"] == ["companyID", "orgID"]
    # Someone else makes a source mapping orgID meanwhile: the type must stay.
    keeper = {**source_body("keeper"), "idTypeMapping": [{"statsigUnitID": "orgID", "column": "o"}]}
    assert (await call(server, "POST", SOURCES, keeper))[0] == 201
    preview = await asyncio.to_thread(plan_rollback, report.run_dir, ApiKey(KEY))
    assert preview.notes == [
        "unit ID types the run created, deleted after the rows where no source still maps "
        "them (up to 2 more requests): companyID, orgID"
    ]
    undo = await rollback_run_async(report.run_dir, ApiKey(KEY))
    assert undo.unit_types is not None
    assert undo.unit_types["deleted"] == ["companyID"]
    assert undo.unit_types["kept"] == {"orgID": "still mapped by 1 sources (keeper)"}
    # accountID was there before the run: never touched.
    assert server.state.unit_types.names("default") == ["userID", "stableID", "accountID", "orgID"]
    assert list(server.state.sources) == ["keeper"]
    events = [
        (e["name"], e["action"]) for e in read_journal(undo.run_dir) if e["event"] == "unit_type"
    ]
    assert events == [("companyID", "delete"), ("companyID", "deleted")]


async def test_rollback_of_a_run_that_created_no_type_deletes_none(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory, unit_types=["companyID"])
    path = write_catalog(tmp_path / "c.csv", [row("a", idTypeMapping="companyID=company_id")])
    report = await submit_catalog_async(
        path, settings(server.url, tmp_path / "r", create_unit_types=True), ApiKey(KEY)
    )
    undo = await rollback_run_async(report.run_dir, ApiKey(KEY))
    assert undo.unit_types is None
    assert "companyID" in server.state.unit_types.names("default")
    assert server.state.stats()["unit_types"]["deleted"] == 0


async def test_type_creations_and_rows_share_one_budget(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    windows = [Window(3, 0.4)]
    server: FakeApiServer = await fake_server_factory(FakeApiConfig(keys=[KEY], windows=windows))
    rows = [row(f"r{i}", idTypeMapping=f"type{i}ID=c") for i in range(4)]
    path = write_catalog(tmp_path / "c.csv", rows)
    config = settings(server.url, tmp_path / "r", windows=tuple(windows), create_unit_types=True)
    report = await submit_catalog_async(path, config, ApiKey(KEY))
    assert report.counts.get("created") == 4
    stats = server.state.stats()
    assert stats["mutations"] == 8  # four types, then four sources
    assert stats["rate_limited"] == 0
    assert stats["windows"][0]["max_arrivals_in_window"] <= 3


async def test_a_429_on_a_type_creation_is_journaled_like_a_rows(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    # The stand-in takes 1 per 100 ms; the run is told 10: the second type's create is
    # refused, learned from, and sent again. Its 429 is in the journal (and so on the
    # page's timeline), tied to the type's send by its rid.
    server: FakeApiServer = await fake_server_factory(
        FakeApiConfig(keys=[KEY], windows=[Window(1, 0.1)])
    )
    rows = [row(f"r{i}", idTypeMapping=f"type{i}ID=c") for i in range(2)]
    path = write_catalog(tmp_path / "c.csv", rows)
    told = (Window(10, 0.1),)
    config = settings(server.url, tmp_path / "r", windows=told, create_unit_types=True)
    report = await submit_catalog_async(path, config, ApiKey(KEY))
    assert report.counts.get("created") == 2
    assert server.state.stats()["rate_limited"] >= 1
    journal = read_journal(report.run_dir)
    sends = {e["rid"]: e["name"] for e in journal if e["event"] == "unit_type" and "rid" in e}
    limited = [e for e in journal if e["event"] == "429" and e["rid"] in sends]
    assert limited and all(e["key"] == f"unit type {sends[e['rid']]}" for e in limited)
    assert all(e["row"] == 0 and e["wait"] >= 0 for e in limited)
