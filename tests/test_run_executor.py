"""The executor's answer table, one test per row, on a virtual clock with scripted answers.

The executor, limiter, shared pause and journal file are the real ones; only the API is
scripted (tests/scripted_sender.py), so attempt counts and send times are exact.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from scripted_sender import (
    EXISTS,
    NO_ANSWER,
    REJECTED,
    UNAVAILABLE,
    ScriptedSender,
    Step,
    auth,
    execute,
    journal_records,
    limited,
    make_executor,
    ok,
    retry_delays,
    statuses,
    tasks,
)
from virtual_clock import run

from bulk_sources.api.client import Answer, AnswerKind, classify
from bulk_sources.limits.windows import Window
from bulk_sources.run import routine
from bulk_sources.run.record.results import DONE, RETRYABLE, UNSETTLED, Status


def test_2xx_is_created_or_updated_after_one_attempt(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [ok(201, "a")], "b": [ok(200, "b")]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path)
        todo = [*tasks("a"), tasks("x", "b", action="update")[1]]
        results = await execute(executor, todo)
        assert [(r.name, r.status, r.attempts, r.http_status) for r in results] == [
            ("a", Status.CREATED, 1, 201),
            ("b", Status.UPDATED, 1, 200),
        ]
        # The answer's data, and what was sent for the fields it leaves out.
        assert results[0].data == {**todo[0].row.body, "name": "a", "id": "a"}
        assert executor.counters.requests_sent == 2

    run(scenario())
    assert [(c.action, c.sent) for c in sender.calls] == [("create", 0.0), ("update", 0.25)]
    assert "name" not in sender.calls[1].body  # a full update must not rename
    finals = journal_records(tmp_path, "final")
    assert [(f["name"], f["status"]) for f in finals] == [("a", "created"), ("b", "updated")]


@pytest.mark.parametrize("lost", [NO_ANSWER, UNAVAILABLE], ids=["no_answer", "5xx"])
def test_already_in_use_after_a_lost_answer_is_unknown_not_created(
    tmp_path: Path, lost: object
) -> None:
    """The wording proves nothing (issue 18, case 4): resume's listing settles the row."""
    sender = ScriptedSender({"a": [lost, EXISTS]})  # type: ignore[list-item]

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, on_exists="fail")
        [result] = await execute(executor, tasks("a"))
        assert (result.status, result.attempts, result.http_status) == (Status.UNKNOWN, 2, 400)
        assert "earlier attempt's answer was lost" in result.error
        assert "resume lists again" in result.error

    run(scenario())
    assert sender.sent("a") == [0.0, 0.25 + retry_delays(1)[0]]


def test_already_in_use_from_an_earlier_run_is_unknown(tmp_path: Path) -> None:
    """The plan marks a row whose create went out in an earlier run without an answer."""
    sender = ScriptedSender({"a": [EXISTS]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path)
        [task] = tasks("a")
        task.maybe_sent = True
        [result] = await execute(executor, [task])
        assert (result.status, result.attempts) == (Status.UNKNOWN, 1)

    run(scenario())


@pytest.mark.parametrize("policy", ["skip", "fail", "update"])
def test_already_in_use_for_a_name_the_listing_showed_absent_is_unknown(
    tmp_path: Path, policy: str
) -> None:
    """A create is planned only for a name the listing showed absent: "in use" contradicts
    it, so the row is neither `exists` nor updated blindly, and is never journalled final."""
    sender = ScriptedSender({"a": [EXISTS, ok(200, "a")]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, on_exists=policy)
        [result] = await execute(executor, tasks("a"))
        assert (result.status, result.attempts) == (Status.UNKNOWN, 1)
        assert executor.counters.retries == 0

    run(scenario())
    assert [(c.action, c.sent) for c in sender.calls] == [("create", 0.0)]
    assert journal_records(tmp_path, "final") == []


def test_other_4xx_fails_and_is_never_repeated(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [REJECTED]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, max_attempts=5)
        results = await execute(executor, tasks("a", "b"))
        a = results[0]
        assert (a.status, a.attempts, a.http_status) == (Status.FAILED, 1, 400)
        assert a.error == "sql: must not be empty"
        assert statuses(results) == {"a": "failed", "b": "created"}

    run(scenario())
    assert [(c.name, c.sent) for c in sender.calls] == [("a", 0.0), ("b", 0.25)]
    assert [f["status"] for f in journal_records(tmp_path, "final")] == ["failed", "created"]


@pytest.mark.parametrize("code", [401, 403])
def test_auth_refused_stops_the_run_and_the_rest_are_not_attempted(
    tmp_path: Path, code: int
) -> None:
    # b is in flight when a's 401 arrives: it gets the stop grace and its answer counts.
    sender = ScriptedSender({"a": [auth(code)], "b": [Step(ok(name="b"), latency=1.0)]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, concurrency=2)
        results = await execute(executor, tasks("a", "b", "c", "d"))
        assert executor.auth_error == f"HTTP {code}: Invalid key"
        assert executor.stop_reason == f"the API refused the key (HTTP {code}: Invalid key)"
        assert statuses(results) == {
            "a": "not_attempted",
            "b": "created",
            "c": "not_attempted",
            "d": "not_attempted",
        }
        a, _, c, _ = results
        assert (a.attempts, a.http_status) == (0, code)
        assert c.error == f"not sent: the API refused the key (HTTP {code}: Invalid key)"
        assert asyncio.get_running_loop().time() == 1.0

    run(scenario())
    assert [c.name for c in sender.calls] == ["a", "b"]
    assert [f["name"] for f in journal_records(tmp_path, "final")] == ["b"]


@pytest.mark.parametrize(
    "answer",
    [
        classify(302, None, "", None),
        Answer(AnswerKind.CERTIFICATE, None, "certificate verify failed; set SSL_CERT_FILE"),
    ],
    ids=["3xx", "certificate"],
)
def test_a_redirect_or_a_refused_certificate_stops_the_run(tmp_path: Path, answer: Answer) -> None:
    sender = ScriptedSender({"a": [answer]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, max_attempts=5)
        results = await execute(executor, tasks("a", "b"))
        assert executor.stop_reason == answer.message
        assert statuses(results) == {"a": "not_attempted", "b": "not_attempted"}
        assert results[0].attempts == 0

    run(scenario())
    assert len(sender.calls) == 1
    assert journal_records(tmp_path, "final") == []


def test_429_holds_every_worker_and_is_not_an_attempt(tmp_path: Path) -> None:
    """Nothing was accepted yet, so no window explains the 429s: the budget holds for the
    shortest window that may be refusing (told one window alone, 10 s, that is burst
    protection not seen yet: 1/900 of it, + 100 ppm), then sends one probe, then the rest.
    Holding the whole window kept a run whose first request met another run's burst
    waiting a whole quota (15 minutes)."""
    sender = ScriptedSender({"a": [limited()], "b": [limited()]})
    until = 0.25 + 10.0 / 900 * (1 + 1e-4)

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, concurrency=2, max_attempts=1)
        results = await execute(executor, tasks("a", "b"))
        assert [(r.status, r.attempts) for r in results] == [(Status.CREATED, 1)] * 2
        assert executor.counters.rate_limited == 2
        assert executor.counters.retries == 0
        assert executor.counters.requests_sent == 4
        learner = executor.budget.learner
        assert (learner.rejections, learner.fresh_rejections) == (2, 1)  # b's is an echo

    run(scenario())
    assert sender.sent("a") == [0.0, until]
    assert sender.sent("b") == [0.0, until + 0.25]  # after the probe got through


def test_each_429_is_journalled_with_its_row_and_the_wait_it_caused(tmp_path: Path) -> None:
    """The page and resume read 429s from the journal, not off the attempt numbers."""
    sender = ScriptedSender({"a": [limited()], "b": [limited("30")]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, concurrency=2, max_attempts=1)
        await execute(executor, tasks("a", "b"))

    run(scenario())
    sends = {s["rid"]: s for s in journal_records(tmp_path, "send")}
    records = journal_records(tmp_path, "429")
    assert [(r["key"], r["row"]) for r in records] == [("key-a", 2), ("key-b", 3)]
    assert [sends[r["rid"]]["key"] for r in records] == ["key-a", "key-b"]  # the 429'd sends
    assert all(sends[r["rid"]]["attempt"] == 1 for r in records)
    # a's held every worker for the shortest window that may be refusing (1/900 of the one
    # told: burst protection); b's Retry-After raised the hold to 30 s.
    assert [r["wait"] for r in records] == pytest.approx([10.001 / 900, 30.0], abs=1e-3)
    assert all(r["at"].endswith("Z") and isinstance(r["t"], float) for r in records)
    assert sender.sent("a") == pytest.approx([0.0, 30.25])


def test_429_retry_after_is_one_more_floor(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [limited("30")]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path)
        [result] = await execute(executor, tasks("a"))
        assert (result.status, result.attempts) == (Status.CREATED, 1)

    run(scenario())
    assert sender.sent("a") == [0.0, 30.25]


def test_an_absurd_retry_after_is_capped_by_the_patience(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [limited("99999999")]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, max_wait=20.0)
        [result] = await execute(executor, tasks("a"))
        assert result.status is Status.NOT_ATTEMPTED
        assert asyncio.get_running_loop().time() == 20.0  # not 99999999 s

    run(scenario())
    assert sender.sent("a") == [0.0]


def test_a_429_after_accepted_requests_waits_for_the_window_it_infers(tmp_path: Path) -> None:
    """a and b went through, c was refused in a burst shorter than the 10 s window: a burst
    window of 2 is the likeliest explanation, and c goes again as soon as it frees."""
    sender = ScriptedSender({"c": [limited()]})

    async def scenario() -> list[str]:
        executor = make_executor(sender, tmp_path, windows=(Window(5, 10.0),))
        results = await execute(executor, tasks("a", "b", "c"))
        assert statuses(results) == {"a": "created", "b": "created", "c": "created"}
        return [str(w) for w in executor.budget.learner.windows]

    assert run(scenario()) == ["2/0.3125s", "5/10s"]
    assert sender.sent("c") == [0.5, 0.5 + 0.3125 * (1 + 1e-4)]


def test_no_request_accepted_for_max_wait_stops_the_run(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [limited()] * 100, "b": [limited()] * 100})
    windows = (Window(100, 10.0), Window(1000, 60.0))

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, concurrency=2, max_wait=60.0, windows=windows)
        results = await execute(executor, tasks("a", "b"))
        assert statuses(results) == {"a": "not_attempted", "b": "not_attempted"}
        assert executor.stop_reason is not None and "someone else" in executor.stop_reason
        assert asyncio.get_running_loop().time() == 60.0

    run(scenario())
    # The shortest window, then twice it (not pounding), one probe each; the next would come
    # after 60 s. (Before, a 429's freed slot carried the other row at once: two a pause.)
    sends = sorted(sender.sent("a") + sender.sent("b"))
    assert sends == pytest.approx([0.0, 0.0, 0.25 + 10.001, 0.5 + 10.001 + 20.002])


def test_transient_answers_are_retried_with_full_jitter(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [UNAVAILABLE, NO_ANSWER, UNAVAILABLE]})
    d = retry_delays(3)
    t1 = 0.25 + d[0]
    t2 = (t1 + 0.25) + d[1]
    t3 = (t2 + 0.25) + d[2]

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, max_attempts=4)
        [result] = await execute(executor, tasks("a"))
        assert (result.status, result.attempts) == (Status.CREATED, 4)
        assert executor.counters.retries == 3
        assert executor.counters.requests_sent == 4

    run(scenario())
    assert sender.sent("a") == [0.0, t1, t2, t3]
    assert len(journal_records(tmp_path, "send")) == 4


def test_transient_to_the_last_attempt_fails_with_a_5xx(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [UNAVAILABLE] * 4})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, max_attempts=4)
        [result] = await execute(executor, tasks("a"))
        assert (result.status, result.attempts, result.http_status) == (Status.FAILED, 4, 503)
        assert result.error.startswith("gave up after 4 attempts: upstream busy")
        assert executor.counters.retries == 3

    run(scenario())
    assert len(sender.calls) == 4
    [final] = journal_records(tmp_path, "final")
    assert final["status"] == "failed"


@pytest.mark.parametrize(
    ("action", "settles"),
    [("create", "resume checks whether it was created"), ("update", "resume sends the update")],
)
def test_no_answer_to_the_last_attempt_is_unknown_and_not_journalled(
    tmp_path: Path, action: str, settles: str
) -> None:
    sender = ScriptedSender({"a": [UNAVAILABLE, NO_ANSWER]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, max_attempts=2)
        [result] = await execute(executor, tasks("a", action=action))  # type: ignore[arg-type]
        assert (result.status, result.attempts, result.http_status) == (Status.UNKNOWN, 2, None)
        assert settles in result.error
        assert executor.stop_reason is None

    run(scenario())
    assert journal_records(tmp_path, "final") == []  # resume settles it
    assert len(journal_records(tmp_path, "send")) == 2


def test_unknown_is_resumable_and_retryable_but_not_done() -> None:
    assert Status.UNKNOWN in UNSETTLED and Status.NOT_ATTEMPTED in UNSETTLED
    assert Status.UNKNOWN in RETRYABLE
    assert Status.UNKNOWN not in DONE


def test_runs_started_in_the_same_millisecond_name_their_requests_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The budget memory tells runs' sends apart by request id: two runs started together
    (their plans' listings answered in the same millisecond) had the same ids, each took
    the other's sends for its own, and neither counted them (2.4x in real time)."""
    monkeypatch.setattr(routine.time, "time", lambda: 1.7e9)
    ids = {routine.new_run_id() for _ in range(100)}  # a collision: 1 in 10^6
    assert len(ids) == 100
    assert all(i.startswith(f"{int(1.7e12):x}-") for i in ids)  # still sorted by start
