"""A Sender that answers from a script, with latency on the (virtual) loop clock, and the
real executor around it: the budget (limiter and learner, no shared memory), journal file,
progress.

    sender = ScriptedSender({"a": [NO_ANSWER, EXISTS], "b": [Step(ok(), latency=3.0)]})
    executor = make_executor(sender, tmp_path, concurrency=2)
    results = run(executor.run(tasks("a", "b")))

A name with no script left is answered 201 after `latency`.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulk_sources.api.client import Answer, AnswerKind, classify
from bulk_sources.catalog.validation import ValidRow
from bulk_sources.limits.backoff import full_jitter
from bulk_sources.limits.budget import SharedBudget
from bulk_sources.limits.windows import Window
from bulk_sources.run.record.journal import Journal
from bulk_sources.run.send.executor import Executor, Task
from bulk_sources.run.send.progress import NoProgress
from bulk_sources.run.send.task import Action
from bulk_sources.run.settings import SubmitSettings

SEED = 7
LATENCY = 0.25

EXISTS = classify(400, {"message": "Name is already in use"}, "", None)
REJECTED = classify(400, {"message": "sql: must not be empty"}, "", None)
UNAVAILABLE = classify(503, {"message": "upstream busy"}, "", None)
NO_ANSWER = Answer(AnswerKind.NO_ANSWER, None, "no answer within 30.0 s")
REFUSED = Answer(AnswerKind.NOT_SENT, None, "could not connect: [Errno 111] Connect call failed")


def ok(status: int = 201, name: str = "x") -> Answer:
    return classify(status, {"message": "", "data": {"name": name, "id": name}}, "", None)


def auth(status: int = 401) -> Answer:
    return classify(status, {"message": "Invalid key"}, "", None)


def limited(retry_after: str | None = None) -> Answer:
    return classify(429, {"message": "Too many requests"}, "", retry_after)


@dataclass
class Step:
    answer: Answer | None  # None: no answer ever comes (until the executor gives up on it)
    latency: float = LATENCY
    raises: Exception | None = None
    then: Callable[[], None] | None = None  # runs when the request goes


@dataclass
class Call:
    action: str
    name: str
    body: dict[str, Any]
    sent: float
    answered: float | None = None
    probe: Any = None


class ScriptedSender:
    def __init__(
        self,
        script: dict[str, list[Step | Answer]] | None = None,
        *,
        latency: float = LATENCY,
        probe: Callable[[], Any] | None = None,
    ) -> None:
        self._script = {
            name: deque(s if isinstance(s, Step) else Step(s, latency) for s in steps)
            for name, steps in (script or {}).items()
        }
        self._latency = latency
        self._probe = probe
        self.calls: list[Call] = []

    async def create(self, body: dict[str, Any]) -> Answer:
        return await self._answer("create", str(body["name"]), body)

    async def update(self, name: str, body: dict[str, Any]) -> Answer:
        return await self._answer("update", name, body)

    async def delete(self, name: str) -> Answer:
        return await self._answer("delete", name, {})

    def sent(self, name: str) -> list[float]:
        return [c.sent for c in self.calls if c.name == name]

    async def _answer(self, action: str, name: str, body: dict[str, Any]) -> Answer:
        loop = asyncio.get_running_loop()
        call = Call(action, name, body, loop.time())
        call.probe = self._probe() if self._probe is not None else None
        self.calls.append(call)
        steps = self._script.get(name)
        step = steps.popleft() if steps else Step(ok(name=name), self._latency)
        if step.then is not None:
            step.then()
        if step.answer is None:
            await loop.create_future()  # never resolves
        await asyncio.sleep(step.latency)
        if step.raises is not None:
            raise step.raises
        call.answered = loop.time()
        assert step.answer is not None
        return step.answer


def valid_row(n: int, name: str) -> ValidRow:
    body = {"name": name, "sql": f"select * from t{n}", "idType": "userID"}
    return ValidRow(row=n, name=name, body=body, key=f"key-{name}")


def tasks(*names: str, action: Action = "create") -> list[Task]:
    return [Task(valid_row(n, name), action) for n, name in enumerate(names, start=2)]


def make_settings(**changes: Any) -> SubmitSettings:
    base: dict[str, Any] = {
        "base_url": "http://127.0.0.1:9",
        "windows": (Window(100, 10.0),),
        "concurrency": 1,
        "max_attempts": 4,
        "margin": 0.0,
        "retry_base": 1.0,
        "retry_cap": 8.0,
        "stop_grace": 10.0,
        "seed": SEED,
    }
    return SubmitSettings(**(base | changes))


def make_executor(sender: ScriptedSender, tmp_path: Path, **changes: Any) -> Executor:
    """The executor as the session builds it, on the running loop's clock."""
    settings = make_settings(**changes)
    jitter = random.Random(settings.seed)
    budget = SharedBudget(
        settings.windows,
        margin=settings.margin,
        timeout=settings.timeout,
        max_wait=settings.max_wait,
    )
    return Executor(
        client=sender,
        settings=settings,
        budget=budget,
        journal=Journal(tmp_path / "journal.jsonl"),
        progress=NoProgress(),
        run_id="t",
        rng=jitter,
    )


def journal_records(tmp_path: Path, event: str) -> list[dict[str, Any]]:
    lines = (tmp_path / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    return [r for r in records if r["event"] == event]


def statuses(results: Iterable[Any]) -> dict[str, str]:
    return {r.name: r.status.value for r in results}


async def execute(executor: Executor, todo: list[Task]) -> list[Any]:
    """executor.run, then close what the session would close."""
    try:
        return await executor.run(todo)
    finally:
        executor.journal.close()
        executor.progress.close()


def retry_delays(n: int, *, base: float = 1.0, cap: float = 8.0) -> list[float]:
    """The first n retry delays one row draws from the executor's jitter stream."""
    rng = random.Random(SEED)
    return [full_jitter(i, base=base, cap=cap, rng=rng) for i in range(n)]
