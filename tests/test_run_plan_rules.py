"""The plan's pure rules: finals kept, lost sends reconciled, --on-exists, the comparison."""

from __future__ import annotations

from bulk_sources.catalog.verdicts import ValidRow
from bulk_sources.models import row_key
from bulk_sources.run.plan.compare import differing_fields
from bulk_sources.run.plan.rows import make_plan
from bulk_sources.run.record.results import RowResult, Status


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
