"""BudgetMemory: the per-user state directory, one lock for appends and compaction, and two
real processes sharing one budget log without losing a line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bulk_sources.limits.state import ENV_STATE_DIR, BudgetMemory, state_dir

HOUR = 3600.0


def test_state_dir_env_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_STATE_DIR, str(tmp_path / "mine"))
    assert state_dir() == tmp_path / "mine"
    monkeypatch.delenv(ENV_STATE_DIR)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "bulk-sources"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert state_dir() == tmp_path / "home" / ".local" / "state" / "bulk-sources"


def test_the_default_directory_is_the_env_one_in_tests(tmp_path: Path) -> None:
    # conftest points BULK_SOURCES_STATE_DIR at a temporary folder for every test.
    with BudgetMemory("abc", HOUR) as memory:
        assert memory.path.parent.parent == state_dir()
        assert "bulk-sources-state" in str(memory.path)


def test_a_second_opener_never_loses_the_first_ones_later_lines(tmp_path: Path) -> None:
    """The old LimitMemory bug: B compacted in its constructor with os.replace, so A's later
    appends went to a replaced file."""
    now = time.time()
    a = BudgetMemory("key", HOUR, directory=tmp_path)
    a.record_sent("a-1", now)
    b = BudgetMemory("key", HOUR, directory=tmp_path, compact_every=1)
    b.compact()
    a.record_sent("a-2", now + 1)
    b.record_sent("b-1", now + 2)
    a.close()
    b.close()
    with BudgetMemory("key", HOUR, directory=tmp_path) as reader:
        assert sorted(reader.sends) == ["a-1", "a-2", "b-1"]


def test_each_sees_the_others_sends_as_they_happen(tmp_path: Path) -> None:
    now = 1.0e9
    with (
        BudgetMemory("p", HOUR, directory=tmp_path, clock=lambda: now) as a,
        BudgetMemory("p", HOUR, directory=tmp_path, clock=lambda: now) as b,
    ):
        a.record_sent("a-1", now)
        delta = b.sync()
        assert delta.sent == [("a-1", now)] and delta.done == []
        assert b.in_flight(now=now, timeout=30.0) == 1
        a.record_done("a-1", now + 0.5, ok=False)
        delta = b.sync()
        assert delta.done == [("a-1", now + 0.5, False)]
        assert b.in_flight(now=now, timeout=30.0) == 0
        assert b.stamps(now=now + 1) == [now + 0.5]
        assert a.sync().sent == []  # its own lines are not news to it


def test_compaction_by_another_is_not_read_as_news_twice(tmp_path: Path) -> None:
    now = 1.0e9
    with (
        BudgetMemory("p", HOUR, directory=tmp_path, clock=lambda: now) as a,
        BudgetMemory("p", HOUR, directory=tmp_path, clock=lambda: now) as b,
    ):
        a.record_sent("a-1", now)
        a.record_done("a-1", now + 1)
        assert len(b.sync().done) == 1
        a.compact()
        a.record_sent("a-2", now + 2)
        delta = b.sync()
        assert delta.done == [] and delta.sent == [("a-2", now + 2)]


def test_windows_another_run_learned_come_with_its_news_and_damaged_ones_do_not(
    tmp_path: Path,
) -> None:
    """A run reads what another run on the budget learned as it reads its sends (its own
    records are not news to it), so a burst window found by one serves both."""
    with (
        BudgetMemory("p", 900.0, directory=tmp_path) as a,
        BudgetMemory("p", 900.0, directory=tmp_path) as b,
    ):
        a.take_news()
        b.take_news()
        a.record_learned(["20/1s", "1800/15m"], "429 with 20 sent in 0.1s")
        assert a.take_news().learned is None
        assert b.sync().learned == ["20/1s", "1800/15m"]
        assert b.sync().learned is None  # read once
        with a.locked():
            a.append_locked({"learned": ["20 per second"], "at": 1.0e9, "why": "hand edit"})
        assert b.sync().learned is None
        assert b.learned_windows() == []
        assert b.damaged is not None
        a.sync()
        a.record_learned(["19/1s", "1800/15m"], "its own, later")
        a.compact()  # reads the whole log again, its own records too: none of them is news
        assert a.take_news().learned is None
        assert b.sync().learned == ["19/1s", "1800/15m"]
        b.compact()  # a replaced log, read again from the start: nothing in it is new
        assert a.sync().learned is None
    # A record there when a run opens the memory is what it starts from (within its TTL,
    # learned_windows), not news to adopt, however old.
    with BudgetMemory("p", 900.0, directory=tmp_path) as c:
        assert c.take_news().learned is None
        assert c.learned_windows() == ["19/1s", "1800/15m"]


def test_old_lines_leave_at_compaction_and_learned_windows_stay(tmp_path: Path) -> None:
    now = [1.0e9]
    with BudgetMemory("p", 900.0, directory=tmp_path, clock=lambda: now[0]) as memory:
        memory.record_sent("old", now[0])
        memory.record_done("old", now[0] + 1)
        memory.record_learned(["50/10s", "450/15m"], "429 with 450 sent")
        now[0] += 2000
        memory.record_sent("new", now[0])
        memory.compact()
        lines = [json.loads(x) for x in memory.path.read_text().splitlines()]
        assert [x.get("rid") for x in lines if "rid" in x] == ["new"]
        assert memory.learned_windows() == ["50/10s", "450/15m"]
        now[0] += 900.0 * 97  # past the TTL (96 longest windows)
        assert memory.learned_windows() == []


def test_a_restart_sees_what_an_earlier_process_sent(tmp_path: Path) -> None:
    now = [1000.0]
    first = BudgetMemory("key", 60.0, directory=tmp_path, clock=lambda: now[0])
    first.record_sent("a", 990.0)
    first.record_done("a", 991.0)
    first.record_sent("b", 995.0)  # killed before its answer
    first.record_sent("old", 900.0)
    first.record_done("old", 901.0)
    first.close()
    with first.path.open("a") as handle:
        handle.write('{"rid": "c", "se')  # torn by the kill
    later = BudgetMemory("key", 60.0, directory=tmp_path, clock=lambda: now[0])
    # "old" left the horizon; "b" has no answer: stamped now, never earlier than its arrival.
    assert later.stamps() == [991.0, 1000.0]
    # With a timeout, an answerless send is done at the latest by sent + timeout.
    now[0] = 1010.0
    assert later.stamps(timeout=5.0) == [991.0, 1000.0]
    later.compact()
    assert later.known("a") and not later.known("old")
    later.close()
    lines = [json.loads(line) for line in first.path.read_text().splitlines()]
    assert {line["rid"] for line in lines} == {"a", "b"}


def test_torn_and_foreign_lines_are_skipped(tmp_path: Path) -> None:
    with BudgetMemory("p", HOUR, directory=tmp_path) as memory:
        path = memory.path
    path.write_text('{"rid": "x", "sent": 5}\n[1, 2]\n{"rid": 3}\n{"rid": "y", "se')
    with BudgetMemory("p", HOUR, directory=tmp_path) as memory:
        assert list(memory.sends) == ["x"]


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bulk_sources.limits.state import BudgetMemory
    name, n = sys.argv[2], int(sys.argv[3])
    with BudgetMemory("shared", 3600.0, directory=Path(sys.argv[1]), compact_every=25) as m:
        for i in range(n):
            m.record_sent(f"{name}-{i}", time.time())
            m.record_done(f"{name}-{i}", time.time(), ok=True)
            if i % 40 == 0:
                m.compact()
    """
)


def test_two_processes_appending_and_compacting_at_once_lose_nothing(tmp_path: Path) -> None:
    n = 600
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), name, str(n)])
        for name in ("a", "b")
    ]
    for child in children:
        assert child.wait(timeout=120) == 0
    with BudgetMemory("shared", HOUR, directory=tmp_path) as reader:
        expected = {f"{name}-{i}" for name in ("a", "b") for i in range(n)}
        assert set(reader.sends) == expected
        assert all(e.done is not None and e.ok for e in reader.sends.values())
