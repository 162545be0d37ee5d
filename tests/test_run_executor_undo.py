"""The executor's answer rules for a rollback's delete and restore, on a virtual clock."""

from __future__ import annotations

from pathlib import Path

from scripted_sender import (
    NO_ANSWER,
    REJECTED,
    UNAVAILABLE,
    ScriptedSender,
    execute,
    journal_records,
    make_executor,
    ok,
    tasks,
)
from virtual_clock import run

from bulk_sources.api.client import classify
from bulk_sources.run.record.results import RowResult, Status
from bulk_sources.run.send.task import Task

NOT_FOUND = classify(404, {"message": "Not Found."}, "", None)


def test_a_delete_is_deleted_a_restore_restored_and_a_404_gone(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [ok(200, "a")], "b": [ok(200, "b")], "c": [NOT_FOUND]})

    async def scenario() -> list[RowResult]:
        executor = make_executor(sender, tmp_path)
        todo = [tasks("a", action="delete")[0], *tasks("x", "b", "c", action="restore")[1:]]
        todo[2].action = "delete"
        return await execute(executor, todo)

    results = run(scenario())
    assert [(r.name, r.status, r.attempts) for r in results] == [
        ("a", Status.DELETED, 1),
        ("b", Status.RESTORED, 1),
        ("c", Status.GONE, 1),
    ]
    assert [(c.action, c.name) for c in sender.calls] == [
        ("delete", "a"),
        ("update", "b"),
        ("delete", "c"),
    ]
    assert "name" not in sender.calls[1].body  # a restore is a full update: never a rename
    finals = journal_records(tmp_path, "final")
    assert [f["status"] for f in finals] == ["deleted", "restored", "gone"]


def test_a_404_after_a_5xx_on_a_delete_is_deleted_and_a_400_failed(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [UNAVAILABLE, NOT_FOUND], "b": [REJECTED]})

    async def scenario() -> list[RowResult]:
        executor = make_executor(sender, tmp_path)
        return await execute(executor, tasks("a", "b", action="delete"))

    a, b = run(scenario())
    assert (a.status, a.attempts) == (Status.DELETED, 2)
    assert "earlier attempt whose answer was lost" in a.error
    assert b.status is Status.FAILED


def test_a_lost_delete_answer_is_settled_by_the_hook_and_never_sent_again(
    tmp_path: Path,
) -> None:
    sender = ScriptedSender({"a": [NO_ANSWER], "b": [NO_ANSWER, ok(200, "b")]})
    asked: list[str] = []

    async def settle(task: Task) -> RowResult | None:
        asked.append(task.row.name)
        if task.row.name == "a":  # the listing no longer shows it: the delete went through
            return RowResult(task.row.row, "a", Status.DELETED, key=task.row.key)
        return None  # still there: send the delete again

    async def scenario() -> list[RowResult]:
        executor = make_executor(sender, tmp_path)
        executor.settle = settle
        return await execute(executor, tasks("a", "b", action="delete"))

    a, b = run(scenario())
    assert (a.status, b.status, b.attempts) == (Status.DELETED, Status.DELETED, 2)
    assert asked == ["a", "b"]
    assert [c.name for c in sender.calls].count("a") == 1
