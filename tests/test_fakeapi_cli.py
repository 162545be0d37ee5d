"""`bulk-sources fake-server` as a process, and the state file that survives its restarts."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fakeapi_fixtures import source_body as body

from bulk_sources.cli.main import main
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.limits.windows import Window

REPO = Path(__file__).resolve().parent.parent
LIST = "/console/v1/experiments/assignment_sources"


def read_line(stream: Any, timeout: float = 10.0) -> str:
    # readline() on a pipe can't time out by itself; a hung server must fail the test, not hang it.
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert result, "the fake server printed nothing in time"
    return result[0].rstrip("\n")


def post(url: str, key: str, name: str) -> int:
    request = urllib.request.Request(
        url + LIST,
        data=json.dumps(body(name)).encode(),
        headers={"STATSIG-API-KEY": key, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        status: int = response.status
        return status


def read_state(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def leftover_temp_files(folder: Path) -> list[Path]:
    return list(folder.glob(".*.tmp"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_url_and_key_first_and_stops_cleanly(sig: signal.Signals) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bulk_sources",
            "fake-server",
            "--port",
            "0",
            "--key",
            "console-cli",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url_line, key_line = read_line(process.stdout), read_line(process.stdout)
        assert url_line.startswith("url: http://127.0.0.1:")
        assert key_line == "key: console-cli"
        url = url_line.removeprefix("url: ")
        assert post(url, "console-cli", "from-cli") == 201
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_cli_refuses_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for flags in (
        ["--rate-limit", "100"],
        ["--error-rate", "2"],
        ["--latency", "5,1"],
        ["--answer-latency", "5,1"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(["fake-server", *flags])
        assert exit_info.value.code == 2
    assert "COUNT/PERIOD" in capsys.readouterr().err


async def test_state_file_keeps_sources_and_the_spent_window_across_restarts(
    tmp_path: Path,
) -> None:
    state = tmp_path / "fake-state.json"
    config = FakeApiConfig(
        keys=["console-persist-1234"], windows=[Window(3, 30.0)], state_file=state
    )
    headers = {"STATSIG-API-KEY": "console-persist-1234"}
    async with FakeApiServer(config) as server, aiohttp.ClientSession(headers=headers) as session:
        for i in range(3):
            async with session.post(server.url + LIST, json=body(f"kept{i}")) as response:
                assert response.status == 201
        await asyncio.sleep(0.5)  # the batched writer saves while the server runs
        assert [s["name"] for s in read_state(state)["sources"]] == ["kept0", "kept1", "kept2"]
    saved = state.read_text(encoding="utf-8")
    assert "console-persist-1234" not in saved  # only a fingerprint of the key
    assert leftover_temp_files(tmp_path) == []

    config = FakeApiConfig(
        keys=["console-persist-1234"], windows=[Window(3, 30.0)], state_file=state
    )
    async with FakeApiServer(config) as server, aiohttp.ClientSession(headers=headers) as session:
        assert list(server.state.sources) == ["kept0", "kept1", "kept2"]
        async with session.post(server.url + LIST, json=body("too-soon")) as response:
            assert response.status == 429  # the restart remembered the 3 in the window
        stats = server.state.stats()
    assert stats["mutations"] == 1
    assert stats["windows"][0]["max_arrivals_in_window"] == 4


def fake_server_config(*flags: str) -> FakeApiConfig:
    from bulk_sources.cli.fake_server import build_config, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return build_config(parser.parse_args(["fake-server", *flags]))


def test_defaults_model_the_current_page() -> None:
    config = fake_server_config()
    assert [str(w) for w in config.windows] == ["100/10s", "1800/15m"]
    assert config.count_rejected and not config.retry_after and config.burst is None


def test_the_listing_and_create_answers_misbehave_by_flag() -> None:
    config = fake_server_config(
        "--listing-endless", "--listing-lag", "60", "--listing-hide", "a",
        "--listing-hide", "b", "--create-answer", "name",
    )  # fmt: skip
    listing = config.listing
    assert listing.endless and listing.lag == 60.0 and listing.hidden == {"a", "b"}
    assert listing.create_answer == "name"
    assert not fake_server_config().listing.endless


def test_projects_burst_and_the_old_behaviours_by_flag() -> None:
    config = fake_server_config(
        "--project", "shop=console-a,console-b",
        "--project", "blog=console-c",
        "--project-rate-limit", "blog=50/10s",
        "--project-rate-limit", "blog=450/15m",
        "--burst", "20/2s",
        "--retry-after",
        "--no-count-rejected",
    )  # fmt: skip
    assert config.keys == ["console-a", "console-b", "console-c"]
    assert config.project_of("console-b") == "shop"
    assert [str(w) for w in config.windows_of("blog")] == ["50/10s", "450/15m", "20/2s"]
    assert [str(w) for w in config.windows_of("shop")] == ["100/10s", "1800/15m", "20/2s"]
    assert config.retry_after and not config.count_rejected


def test_cli_refuses_bad_project_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for flags in (["--project", "shop"], ["--project-rate-limit", "shop=fast"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["fake-server", *flags])
        assert exit_info.value.code == 2
    assert "NAME=KEY" in capsys.readouterr().err
