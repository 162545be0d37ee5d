"""The small pure parts: windows, the API key, rate-limit memory, the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_sources.api.apikey import ApiKey, load_api_key
from bulk_sources.catalog.validation import ValidRow
from bulk_sources.errors import ApiKeyError, UsageError
from bulk_sources.limits.windows import (
    DEFAULT_WINDOWS,
    EARLIER_WINDOWS,
    Window,
    exact_schedule,
    parse_window,
)
from bulk_sources.models import row_key
from bulk_sources.run.compare import differing_fields
from bulk_sources.run.plan import estimate_seconds, make_plan
from bulk_sources.run.results import RowResult, Status


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("100/10s", Window(100, 10.0)),
        ("900/15m", Window(900, 900.0)),
        ("20/500ms", Window(20, 0.5)),
        ("5/1h", Window(5, 3600.0)),
        ("10/s", Window(10, 1.0)),
        (" 3 / 2.5s ", Window(3, 2.5)),
    ],
)
def test_parse_window(text: str, window: Window) -> None:
    assert parse_window(text) == window
    assert parse_window(str(window)) == window


@pytest.mark.parametrize("text", ["100", "100/10", "0/10s", "100/0s", "ten/10s", "100/10d"])
def test_parse_window_refuses_with_an_example(text: str) -> None:
    with pytest.raises(UsageError, match=r"100/10s"):
        parse_window(text)


def test_exact_schedule_matches_the_guide_table() -> None:
    times = exact_schedule(10_000, EARLIER_WINDOWS)
    assert [times[n - 1] for n in (50, 100, 500, 900, 1000, 5000, 10_000)] == [
        0,
        0,
        40,
        80,
        900,
        4540,
        9900,
    ]


def test_exact_schedule_on_the_current_page_defaults() -> None:
    """Issue 9: 1,000 rows in 90 s and 5,000 in 1,930 s under 100/10s + 1800/15m."""
    times = exact_schedule(5000, DEFAULT_WINDOWS)
    assert [times[n - 1] for n in (1000, 1800, 1801, 5000)] == [90, 170, 900, 1930]


def test_the_key_never_shows(tmp_path: Path) -> None:
    key = ApiKey("  console-secret-value-123\n")
    assert key.reveal() == "console-secret-value-123"
    for shown in (repr(key), str(key), f"{key}", repr([key])):
        assert "secret" not in shown
    assert key.fingerprint == ApiKey("console-secret-value-123").fingerprint
    assert len(key.fingerprint) == 16


def test_key_sources_and_their_messages(tmp_path: Path) -> None:
    assert load_api_key(environ={"STATSIG_API_KEY": "console-a"}).reveal() == "console-a"
    with pytest.raises(ApiKeyError, match="set STATSIG_API_KEY"):
        load_api_key(environ={})
    with pytest.raises(ApiKeyError, match="can't read the API key file"):
        load_api_key(tmp_path / "missing")
    (tmp_path / "blank").write_text("\n")
    with pytest.raises(ApiKeyError, match="empty"):
        load_api_key(tmp_path / "blank")
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    with pytest.raises(ApiKeyError, match="not UTF-8"):
        load_api_key(tmp_path / "bin")


def _valid(row: int, name: str) -> ValidRow:
    body = {"name": name, "sql": f"select {row}"}
    return ValidRow(row, name, body, row_key(body))


def test_plan_keeps_finals_reconciles_lost_sends_and_applies_on_exists() -> None:
    rows = [_valid(1, "done"), _valid(2, "lost"), _valid(3, "theirs"), _valid(4, "new")]
    rows.append(_valid(5, "same"))
    finals = {rows[0].key: RowResult(9, "done", Status.CREATED, 201, 1, "", key=rows[0].key)}
    existing = {
        "done": {"name": "done", "sql": "select 1"},
        "lost": {"name": "lost", "sql": "select 2"},
        "theirs": {"name": "theirs", "sql": "select 'theirs'", "description": ""},
        "same": {"name": "same", "sql": "select 5", "tags": [], "id": "x"},
    }
    plan = make_plan(rows, existing, "skip", finals=finals, maybe_sent={rows[1].key: "create"})
    assert [(r.row, r.status) for r in plan.kept] == [(1, Status.CREATED)]  # today's row number
    assert [(r.name, r.status) for r in plan.decided] == [
        ("lost", Status.CREATED),
        ("theirs", Status.EXISTS),
        ("same", Status.UNCHANGED),
    ]
    assert [(t.row.name, t.action) for t in plan.tasks] == [("new", "create")]
    assert [(e.name, e.action, e.fields) for e in plan.entries] == [
        ("done", "done", ()),
        ("lost", "settled", ()),
        ("theirs", "skip", ("sql",)),
        ("new", "create", ()),
        ("same", "unchanged", ()),
    ]
    update = make_plan(rows, existing, "update", finals=finals)
    # Only the row that differs is sent as an update; the one that is the same costs nothing.
    assert [(t.row.name, t.action) for t in update.tasks] == [
        ("theirs", "update"),
        ("new", "create"),
    ]
    assert update.befores == {rows[2].key: {"sql": "select 'theirs'"}}
    assert update.count("unchanged") == 2  # "lost" was not sent by this folder: unchanged
    fail = make_plan(rows[2:3], existing, "fail")
    assert fail.decided[0].status is Status.FAILED


def test_comparison_normalises_what_the_server_may_spell_differently() -> None:
    body = {
        "name": "a",
        "sql": "SELECT 1",
        "tags": ["x", "y"],
        "idTypeMapping": [
            {"statsigUnitID": "userID", "column": "u"},
            {"statsigUnitID": "stableID", "column": "s"},
        ],
        "owner": {"ownerID": "o1"},
        "isVerified": True,
        "dryRun": True,
    }
    server = {
        "name": "a",
        "sql": "SELECT 1",
        "tags": ["y", "x"],
        "idTypeMapping": [
            {"statsigUnitID": "stableID", "column": "s"},
            {"statsigUnitID": "userID", "column": "u"},
        ],
        "owner": {"ownerID": "o1", "ownerName": "Someone"},
        "isVerified": True,
        "description": "the row does not set it: not compared",
        "createdTime": 1,
    }
    assert differing_fields(body, server) == []
    assert differing_fields({**body, "isVerified": False}, server) == ["isVerified"]
    assert differing_fields({**body, "tags": ["x"]}, server) == ["tags"]
    assert differing_fields(body, {**server, "owner": {"ownerID": "o2"}}) == ["owner"]
    assert differing_fields(body, {**server, "sql": "SELECT 1 "}) == ["sql"]
    assert differing_fields({**body, "tags": []}, {**server, "tags": None}) == []
    assert differing_fields({"teamID": "t"}, {}) == ["teamID"]
    # True is not 1: a boolean field holding a number is other content.
    assert differing_fields({"isVerified": True}, {"isVerified": 1}) == ["isVerified"]


def test_estimate_counts_the_budget_already_spent() -> None:
    windows = [Window(3, 1.0), Window(5, 10.0)]
    assert estimate_seconds(0, windows) == 0.0
    assert estimate_seconds(3, windows) == 0.0
    assert estimate_seconds(6, windows) == 10.0
    # Five sent at t=0 and it is t=2: the next one waits for the long window, until t=10.
    assert estimate_seconds(1, windows, [0.0] * 5, now=2.0) == 8.0


def test_exact_schedule_with_history_after_start_stays_in_order() -> None:
    # A restored stamp can lie after `start`; found by the limiter's property test.
    history = [-17.0, -14.0, -11.0, -8.0, -5.0, -2.0, 1.0]
    assert exact_schedule(4, [Window(2, 1.0)], history, start=0.0) == [0.0, 1.0, 2.0, 2.0]
