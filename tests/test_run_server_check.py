"""`submit --dry-run --server-check`: the API's own dryRun under the budget, folded into the
plan; against the real stand-in over real aiohttp."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from catalog_helpers import names, row, write_catalog
from fakeapi_fixtures import StartFakeServer
from process_helpers import server_process, server_stats, tool
from submit_helpers import TEST_WINDOWS, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.cli.main import main
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.limits.windows import Window
from bulk_sources.run.dryrun import ServerCheck, dry_run_async
from bulk_sources.run.send.servercheck import Cost

KEY = "console-check-0123456789abcdef"


async def start(factory: StartFakeServer, windows: list[Window] | None = None) -> FakeApiServer:
    # The unit-type list answers 404, so only the server can catch the unknown types.
    config = FakeApiConfig(keys=[KEY], windows=windows or list(TEST_WINDOWS), unit_types_status=404)
    server: FakeApiServer = await factory(config)
    return server


async def test_refusals_become_the_rows_errors_and_nothing_is_stored(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory)
    path = write_catalog(
        tmp_path / "c.csv",
        [row("good"), row("typo", idTypeMapping="userId=user_id"), row("other")],
    )
    said: list[Cost] = []
    plan = await dry_run_async(
        path,
        settings(server.url, tmp_path / "r"),
        ApiKey(KEY),
        plan_file=tmp_path / "plan.csv",
        server_check=ServerCheck(announce=said.append),
    )
    assert [c.requests for c in said] == [3]
    assert said[0].windows == ["20/500ms", "60/3s"]
    assert plan.actions == {"create": 2, "invalid": 1}
    assert plan.requests == 2
    (problem,) = plan.problems
    assert (problem.name, problem.http_status) == ("typo", 400)
    assert problem.error.startswith("server check: HTTP 400: Invalid request: unknown unit ID")
    assert "'userId' does not exist in this project" in problem.error
    assert plan.server_check == {
        "sampled": 3,
        "requests": 3,
        "refused": 1,
        "unanswered": 0,
        "left_out": 0,
    }
    assert any(n.startswith("server check: 3 rows sent with dryRun") for n in plan.notes)
    with (tmp_path / "plan.csv").open(encoding="utf-8", newline="") as handle:
        typo = next(r for r in csv.DictReader(handle) if r["name"] == "typo")
    assert typo["action"] == "invalid"
    assert typo["note"].startswith("server check: HTTP 400")
    assert not server.state.sources
    assert server.state.stats()["mutations"] == 3  # a dryRun is a mutation


async def test_a_sample_is_spread_over_the_plan(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await start(fake_server_factory)
    path = write_catalog(tmp_path / "c.csv", [row(n) for n in names(9, "s")])
    plan = await dry_run_async(
        path,
        settings(server.url, tmp_path / "r"),
        ApiKey(KEY),
        plan_file=tmp_path / "plan.csv",
        server_check=ServerCheck(sample=3),
    )
    assert plan.server_check == {
        "sampled": 3,
        "requests": 3,
        "refused": 0,
        "unanswered": 0,
        "left_out": 0,
    }
    assert server.state.stats()["mutations"] == 3


async def test_the_check_keeps_the_windows(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    windows = [Window(5, 0.3)]
    server = await start(fake_server_factory, windows)
    path = write_catalog(tmp_path / "c.csv", [row(n) for n in names(12, "w")])
    config = settings(server.url, tmp_path / "r", windows=tuple(windows))
    plan = await dry_run_async(
        path, config, ApiKey(KEY), plan_file=tmp_path / "p.csv", server_check=ServerCheck()
    )
    assert plan.server_check is not None
    assert plan.server_check["unanswered"] == 0
    stats = server.state.stats()
    assert stats["rate_limited"] == 0
    assert stats["windows"][0]["max_arrivals_in_window"] <= 5


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--server-check"], "--server-check goes with --dry-run"),
        (["--dry-run", "--sample", "3"], "--sample N goes with --server-check"),
    ],
)
def test_options_out_of_place_are_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    says: str,
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    path = write_catalog(tmp_path / "c.csv", [row("a")])
    assert main(["submit", str(path), "--base-url", "http://127.0.0.1:9", *extra]) == 2
    assert says in capsys.readouterr().err


def test_sample_must_be_a_count(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["submit", "c.csv", "--dry-run", "--server-check", "--sample", "0"])
    assert "'0' is not a number of rows" in capsys.readouterr().err


def test_the_cli_says_the_cost_first_and_shows_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    path = write_catalog(tmp_path / "c.csv", [row(n) for n in names(4, "cli")])
    with server_process(KEY, ["20/500ms", "60/3s"]) as url:
        args = ["submit", str(path), "--base-url", url, "--report-dir", str(tmp_path / "r")]
        args += ["--rate-limit", "20/500ms", "--rate-limit", "60/3s"]
        code = main([*args, "--dry-run", "--server-check", "--sample", "2"])
        out, err = capsys.readouterr()
        assert code == 0
        assert err.startswith(
            "server check: 2 requests (dryRun; they count against the project's mutation "
            "budget), about 0 s at the configured windows (20/500ms, 60/3s)\n"
        )
        assert "  note: server check: 2 rows sent with dryRun (2 requests), 0 refused" in out
        assert server_stats(url)["mutations"] == 2
        assert server_stats(url)["source_count"] == 0


async def test_rows_needing_a_type_the_submit_creates_are_left_out(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server: FakeApiServer = await fake_server_factory(
        FakeApiConfig(keys=[KEY], windows=list(TEST_WINDOWS))
    )
    path = write_catalog(
        tmp_path / "c.csv", [row("good"), row("company", idTypeMapping="companyID=company_id")]
    )
    plan = await dry_run_async(
        path,
        settings(server.url, tmp_path / "r", create_unit_types=True),
        ApiKey(KEY),
        plan_file=tmp_path / "plan.csv",
        server_check=ServerCheck(),
    )
    assert plan.actions == {"create": 2}
    assert plan.server_check == {
        "sampled": 1,
        "requests": 1,
        "refused": 0,
        "unanswered": 0,
        "left_out": 1,
    }
    assert any("1 rows not checked: they map unit ID types" in n for n in plan.notes)


def test_ctrl_c_during_the_check_is_a_sentence_and_exit_3(tmp_path: Path) -> None:
    path = write_catalog(tmp_path / "c.csv", [row(n) for n in names(40, "s")])
    with server_process(KEY, ["5/1s"]) as url:
        args = ["submit", str(path), "--base-url", url, "--rate-limit", "5/1s", "--dry-run"]
        proc = subprocess.Popen(
            tool(*args, "--server-check", "--report-dir", str(tmp_path / "r")),
            env={**os.environ, "STATSIG_API_KEY": KEY},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("server check: 40 requests")
        deadline = time.monotonic() + 30
        while server_stats(url)["mutations"] < 5:  # the check is under way
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=30)[1]
        assert server_stats(url)["source_count"] == 0
    assert proc.returncode == 3
    assert "interrupted by SIGINT while checking rows with the API (dryRun)" in err
    assert "Traceback" not in err
