"""restore_history: what a resume counts against the budget from the run's own journal
when the shared memory does not know it (another machine, a forgotten or lost state dir).

Every request the run made counts, rejected ones too (the API counts them): a row's send
answered 429 once, and each unit ID type create or delete (mutations under the same
windows). Real stand-in, real aiohttp, real journal files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_helpers import row, write_catalog
from fakeapi_fixtures import StartFakeServer
from submit_helpers import read_journal, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.errors import UsageError
from bulk_sources.fakeapi import FakeApiConfig
from bulk_sources.limits.windows import Window
from bulk_sources.run.entry import submit_catalog_async
from bulk_sources.run.record.journal import read_journal as journal_state
from bulk_sources.run.record.timeline import read_segments
from bulk_sources.run.send.history import open_budget, restore_history
from bulk_sources.run.settings import SubmitSettings

KEY = "console-history-0123456789abcdef"
# A long window beside the short ones: the history counts sends within the longest period.
LONG = Window(1000, 600.0)


async def _restored_elsewhere(
    run_dir: Path, config: SubmitSettings, state: Path, monkeypatch: pytest.MonkeyPatch
) -> int:
    """What a resume with an empty state dir would count from the journal alone."""
    monkeypatch.setenv("BULK_SOURCES_STATE_DIR", str(state))
    with open_budget(config, ApiKey(KEY)) as budget:
        return restore_history(budget, journal_state(run_dir / "journal.jsonl"), config)


async def test_a_send_answered_429_counts_once(
    fake_server_factory: StartFakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Told 40/1s, the server also has an unpublished 4/0.2s: some sends are answered 429."""
    server = await fake_server_factory(
        FakeApiConfig(keys=[KEY], windows=[Window(40, 1.0), Window(4, 0.2), LONG])
    )
    config = settings(server.url, tmp_path / "r", windows=(Window(40, 1.0), LONG), concurrency=8)
    catalog = write_catalog(tmp_path / "c.csv", [row(f"h{n:02d}") for n in range(20)])
    report = await submit_catalog_async(catalog, config, ApiKey(KEY))
    assert report.counts["created"] == 20
    summary = json.loads((report.run_dir / "summary.json").read_text(encoding="utf-8"))
    records = read_journal(report.run_dir)
    assert summary["rate_limited_429"] > 0
    assert len([r for r in records if r["event"] == "429"]) == summary["rate_limited_429"]
    restored = await _restored_elsewhere(report.run_dir, config, tmp_path / "s", monkeypatch)
    assert restored == summary["requests_sent"] == server.state.stats()["mutations"]


async def test_unit_type_creations_count_against_the_budget(
    fake_server_factory: StartFakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await fake_server_factory(FakeApiConfig(keys=[KEY], windows=[LONG]))
    rows = [row(f"u{i}", idTypeMapping=f"type{i}ID=c") for i in range(3)]
    config = settings(server.url, tmp_path / "r", windows=(LONG,), create_unit_types=True)
    report = await submit_catalog_async(
        write_catalog(tmp_path / "c.csv", rows), config, ApiKey(KEY)
    )
    assert report.counts["created"] == 3
    assert server.state.stats()["mutations"] == 6  # three types, then three sources
    # The memory that saw them knows them by the journal's own request ids: no double count.
    with open_budget(config, ApiKey(KEY)) as budget:
        seen = restore_history(budget, journal_state(report.run_dir / "journal.jsonl"), config)
    assert seen == 6
    assert await _restored_elsewhere(report.run_dir, config, tmp_path / "s", monkeypatch) == 6
    # The page's timeline draws them too, as summary.json counts them.
    summary = json.loads((report.run_dir / "summary.json").read_text(encoding="utf-8"))
    [segment] = read_segments(report.run_dir / "journal.jsonl")
    assert len(segment.times) == summary["requests_sent"] == 6


def test_a_journal_older_than_unit_type_rids_counts_each_request_line(tmp_path: Path) -> None:
    """Before they carried a rid, one `create` line per type; outcome lines are no request,
    and a hand-edited time is refused naming the line, as for a row's send."""
    path = tmp_path / "journal.jsonl"
    lines = [
        {"event": "unit_type", "t": 100.0, "name": "aID", "action": "create"},
        {"event": "unit_type", "t": 101.0, "name": "aID", "action": "created"},
        {"event": "unit_type", "t": 102.0, "name": "bID", "action": "create"},
        {"event": "unit_type", "t": 103.0, "name": "bID", "action": "delete", "rid": "u-1"},
        {"event": "unit_type", "t": 104.0, "name": "bID", "action": "deleted"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert sorted(journal_state(path).sends.values()) == [100.0, 102.0, 103.0]
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"event": "unit_type", "t": "soon", "name": "c", "action": "create"}\n')
    with pytest.raises(UsageError, match="line 6 is not as the tool wrote it"):
        journal_state(path)
