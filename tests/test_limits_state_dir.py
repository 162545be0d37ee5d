"""A state directory that cannot hold the budget memory: one sentence naming it and
BULK_SOURCES_STATE_DIR, exit 2, before any run folder exists; damaged or odd records in it
never crash a run nor blame an option nobody gave."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from catalog_helpers import names, row, write_catalog
from virtual_clock import run

from bulk_sources.cli.main import main
from bulk_sources.limits import state_dir as state_dir_module
from bulk_sources.limits.budget import SharedBudget
from bulk_sources.limits.state import MAX_LINE, READ_CHUNK, BudgetMemory
from bulk_sources.limits.state_dir import StateDirError, usable_budgets_dir
from bulk_sources.limits.windows import Window

KEY = "console-state-dir-test-key-0123456789"


def _refused(path: Path, what: str) -> None:
    with pytest.raises(StateDirError) as caught:
        usable_budgets_dir(path)
    text = str(caught.value)
    assert str(path) in text and what in text and "BULK_SOURCES_STATE_DIR" in text
    assert text.count(". ") == 0  # one sentence


def test_a_file_a_fifo_and_a_device_are_not_directories(tmp_path: Path) -> None:
    a_file = tmp_path / "state"
    a_file.write_text("x")
    _refused(a_file, "is a file, not a directory")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _refused(fifo, "is a FIFO, not a directory")
    _refused(Path("/dev/null"), "is a device, not a directory")
    # budgets/ inside it being a file counts the same
    (tmp_path / "s2").mkdir()
    (tmp_path / "s2" / "budgets").write_text("")
    _refused(tmp_path / "s2" / "budgets", "is a file, not a directory")


def test_a_directory_that_cannot_be_written_or_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refused(Path("/proc/self"), "cannot be written")

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    # A full disk cannot be made for a test without root mounts: the write fails as it would.
    monkeypatch.setattr(state_dir_module.os, "write", full)
    _refused(tmp_path / "full", "is on a full disk")


def test_a_fifo_where_the_log_should_be_is_refused_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "budgets"
    folder.mkdir()
    os.mkfifo(folder / "p.jsonl")
    with pytest.raises(StateDirError, match=r"holds p\.jsonl, a FIFO"):
        BudgetMemory("p", 900.0, directory=tmp_path)


@pytest.mark.parametrize("kind", ["file", "fifo"])
def test_submit_says_so_before_any_run_folder(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    if kind == "file":
        state.write_text("not a directory")
    else:
        os.mkfifo(state)
    monkeypatch.setenv("BULK_SOURCES_STATE_DIR", str(state))
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(2)])
    reports = tmp_path / "reports"
    code = main(["submit", str(catalog), "--base-url", "http://127.0.0.1:9", "--quiet",
                 "--report-dir", str(reports)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert str(state) in err and "BULK_SOURCES_STATE_DIR" in err
    assert "internal error" not in err and "Traceback" not in err
    assert not reports.exists() or not any(reports.iterdir())


def test_a_damaged_learned_record_is_ignored_with_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "budgets"
    folder.mkdir()
    lines = [{"learned": ["garbage"], "at": 1.0e12, "why": "?"}]
    (folder / "p.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))

    async def main_() -> dict[str, object]:
        with BudgetMemory("p", 900.0, directory=tmp_path) as memory:
            budget = SharedBudget([Window(100, 10.0), Window(1800, 900.0)], memory=memory)
            return budget.report()

    report = run(main_())
    assert report["in_force"] == ["100/10s", "1800/15m"]  # the ceilings
    assert report["source"] == "default"
    assert "damaged and were ignored" in str(report["note"])
    assert "rate limit" not in str(report["note"])


def test_sends_dated_in_the_future_count_as_now(tmp_path: Path) -> None:
    async def main_() -> list[float]:
        import asyncio
        import time

        now = time.time()
        folder = tmp_path / "budgets"
        folder.mkdir(exist_ok=True)
        future = [{"rid": f"x-{i}", "sent": now + 1e6} for i in range(3)]
        future += [{"rid": f"x-{i}", "done": now + 1e6, "ok": True} for i in range(3)]
        (folder / "p.jsonl").write_text("".join(json.dumps(x) + "\n" for x in future))
        with BudgetMemory("p", 900.0, directory=tmp_path) as memory:
            budget = SharedBudget([Window(100, 10.0), Window(1800, 900.0)], memory=memory)
            budget.restore()
            loop_now = asyncio.get_running_loop().time()
            return [s - loop_now for s in budget.limiter.stamps()]

    offsets = run(main_())
    assert len(offsets) == 3 and all(abs(o) < 5.0 for o in offsets)


def test_reads_are_capped_a_huge_line_is_dropped(tmp_path: Path) -> None:
    folder = tmp_path / "budgets"
    folder.mkdir()
    with (folder / "p.jsonl").open("wb") as handle:
        handle.write(b'{"rid": "a", "sent": 1.0}\n')
        pad = b"x" * (READ_CHUNK + 2 * MAX_LINE)  # across chunks
        handle.write(b'{"rid": "huge", "sent": 2.0, "pad": "' + pad + b'"}\n')
        handle.write(b'{"rid": "b", "sent": 3.0}\n')
    with BudgetMemory("p", 1e12, directory=tmp_path, clock=lambda: 10.0) as memory:
        assert sorted(memory.sends) == ["a", "b"]
