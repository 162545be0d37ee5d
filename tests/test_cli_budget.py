"""`bulk-sources budget show|forget` on real state files: what is known, by run; forgetting
says what it risks; nothing known and a broken state directory are one sentence each."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from bulk_sources.api.apikey import ApiKey
from bulk_sources.cli.main import main
from bulk_sources.limits.state import BudgetMemory

KEY = "console-budget-cli-test-key-0123456789"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("BULK_SOURCES_STATE_DIR", str(folder))
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    return folder


def _record(state: Path, identity: str) -> None:
    now = time.time()
    with BudgetMemory(identity, 900.0, directory=state) as memory:
        for i in range(3):
            memory.record_sent(f"20261203T070000Z-old-{i}", now - 600)
            memory.record_done(f"20261203T070000Z-old-{i}", now - 599, ok=i != 0)
        memory.record_sent("20261203T071000Z-new-1", now - 5)
        memory.record_sent("20261203T060000Z-gone-1", now - 2000)  # outside the 15 min
        memory.record_learned(["8/500ms", "60/3s"], "429 with 8 sent in 0.1s", now - 300)


def test_show_with_no_state_says_none_yet(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "show", "--project", "shop"]) == 0
    assert capsys.readouterr().out == f"no budget state yet for project-shop (in {state})\n"
    assert not (state / "budgets").exists()  # show creates nothing
    fingerprint = ApiKey(KEY).fingerprint
    assert main(["budget", "show", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["identity"] == fingerprint and document["state_file"] is None


def test_show_names_windows_their_cause_and_sends_by_run(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _record(state, "project-shop")
    assert main(["budget", "show", "--project", "shop"]) == 0
    out = capsys.readouterr().out
    assert "learned: 8/500ms + 60/3s," in out and "(429 with 8 sent in 0.1s)" in out
    assert "recorded sends in the last 15m: 4 since" in out and "1 of them rejected" in out
    assert "    20261203T070000Z-old: 3\n" in out and "    20261203T071000Z-new: 1\n" in out
    assert "gone" not in out
    assert main(["budget", "show", "--project", "shop", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["learned"]["windows"] == ["8/500ms", "60/3s"]
    assert document["by_run"] == {"20261203T070000Z-old": 3, "20261203T071000Z-new": 1}
    assert document["sends"] == 4 and document["rejected"] == 1 and document["window"] == "15m"


def test_forget_clears_it_and_says_what_that_risks(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _record(state, "project-shop")
    assert main(["budget", "forget", "--project", "shop"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("forgot the budget of project-shop; the next run will not know")
    assert "count against the project's quota" in out
    assert main(["budget", "show", "--project", "shop"]) == 0
    assert "no budget state yet" in capsys.readouterr().out


def test_forget_of_an_unknown_identity_removes_nothing(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _record(state, "project-shop")
    assert main(["budget", "forget", "--project", "other"]) == 0
    assert capsys.readouterr().out == "nothing known for project-other: nothing removed\n"
    assert (state / "budgets" / "project-shop.jsonl").exists()


def test_a_damaged_learned_record_is_a_note(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (state / "budgets").mkdir(parents=True)
    line = {"learned": ["garbage"], "at": time.time(), "why": "?"}
    (state / "budgets" / "project-shop.jsonl").write_text(json.dumps(line) + "\n")
    assert main(["budget", "show", "--project", "shop"]) == 0
    out = capsys.readouterr().out
    assert "damaged and were ignored" in out and "learned: nothing" in out


def test_a_state_directory_that_is_a_fifo_is_one_sentence(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state.parent.mkdir(exist_ok=True)
    os.mkfifo(state)
    assert main(["budget", "show", "--project", "shop"]) == 2
    err = capsys.readouterr().err
    assert f"the state directory {state} is a FIFO" in err and "BULK_SOURCES_STATE_DIR" in err
    assert main(["budget", "forget", "--project", "shop"]) == 2
