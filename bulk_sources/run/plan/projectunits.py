"""The project's unit ID types: read during the pre-flight listing, and created when asked.

Reading is GETs, outside the mutation quota; any failure (404 on a project without the
endpoint, 403, a shape we don't know) is a warning that the types were not checked, never
a stop: the sources listing that follows says what is wrong with the key or the URL.
Creating is mutations: each request takes a slot of the run's budget and is journaled
(a `unit_type` event with its `rid`), so a resume counts it as it counts a row's send.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiolimiter import AsyncLimiter

from ...api.answers import Answer, AnswerKind
from ...api.client import ConsoleClient
from ...api.listing import PAGES_PER_SECOND
from ...api.protocol import UNIT_TYPES_PATH
from ...catalog.unitcheck import ProjectTypes, check_unit_types, creatable
from ...catalog.verdicts import ValidationReport
from ...errors import AuthRefused, RunStopped
from ...limits.budget import SharedBudget
from ..record.journal import UNIT_TYPE_EVENT, Journal
from ..settings import SubmitSettings

JOURNAL_EVENT = UNIT_TYPE_EVENT
WHAT = "the project's unit ID types"


async def list_unit_types(client: ConsoleClient, settings: SubmitSettings) -> ProjectTypes:
    pacer = AsyncLimiter(PAGES_PER_SECOND, 1)
    try:
        items = await client.list_all(
            page_limit=100,
            pace=pacer.acquire,
            max_attempts=settings.max_attempts,
            retry_base=settings.retry_base,
            retry_cap=settings.retry_cap,
            max_wait=settings.max_wait,
            path=UNIT_TYPES_PATH,
            what=WHAT,
        )
    except AuthRefused:  # e.g. a 403 on this endpoint only: the sources listing decides
        return ProjectTypes(None, f"could not list {WHAT}: the API refused the key there")
    except RunStopped as exc:  # ListingFailed: 404, a shape we don't know, a server error
        return ProjectTypes(None, str(exc))
    return ProjectTypes(tuple(str(item["name"]) for item in items))


@dataclass
class UnitStep:
    """The project's types as read, what a --create-unit-types run creates first, and the
    warning when they could not be read."""

    types: ProjectTypes
    to_create: list[str] = field(default_factory=list)

    @property
    def warning(self) -> str | None:
        return self.types.warning


async def check_against_project(
    client: ConsoleClient,
    settings: SubmitSettings,
    validation: ValidationReport,
    skip: frozenset[str] = frozenset(),
) -> UnitStep:
    """Read the types and make the rows that map a missing one invalid (mutates
    `validation`); rows whose key is in `skip` (done already) are left alone."""
    types = await list_unit_types(client, settings)
    to_create = creatable(types, validation) if settings.create_unit_types else []
    check_unit_types(validation, types, creating=to_create, skip=skip)
    return UnitStep(types, to_create)


@dataclass
class Created:
    """What creating the missing types did: created now, found present, or failed (why)."""

    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0


async def create_unit_types(
    client: ConsoleClient,
    budget: SharedBudget,
    journal: Journal,
    names: list[str],
    max_attempts: int,
) -> Created:
    """One at a time, before any row: the rows that map them need them to exist first.
    A type whose create lost its answer and then comes back "in use" counts as present,
    not created: a rollback must never delete a type it can't prove this run made."""
    out = Created()
    for name in names:
        await _create_one(client, budget, journal, name, max_attempts, out)
    return out


async def send_with_budget(
    budget: SharedBudget,
    journal: Journal,
    sent: dict[str, str],
    call: Callable[[], Awaitable[Answer]],
    max_attempts: int,
) -> tuple[Answer, int]:
    """One unit-type mutation under the run's budget: 429s wait for the budget and go again
    (no try), 5xx and lost answers are tried up to `max_attempts`. The last answer, and how
    many requests it took. Each request is journaled first (`sent`: name and action, and
    a `rid` shared with the budget memory), so a resume counts it against the windows."""
    requests = tries = 0
    while True:
        rid = f"{JOURNAL_EVENT}-{secrets.token_hex(6)}"
        slot = await budget.acquire(rid)
        journal.event(JOURNAL_EVENT, **sent, rid=rid)
        answer = await call()
        requests += 1
        kind = answer.kind
        limited = kind is AnswerKind.RATE_LIMITED
        answered = kind in (AnswerKind.OK, AnswerKind.EXISTS, AnswerKind.REJECTED)
        budget.answered(slot, "rejected" if limited else "accepted" if answered else "unknown")
        if limited:
            # Journaled like a row's 429 (the page's timeline and the journal show every
            # rejected attempt); no catalog row: row 0, the type's name as the key.
            name = f"unit type {sent.get('name', '')}"
            journal.rate_limited(rid=rid, key=name, row=0, wait=budget.resumes_in())
            continue
        tries += 1
        if answered or answer.stops_run or tries >= max_attempts:
            return answer, requests


async def _create_one(
    client: ConsoleClient,
    budget: SharedBudget,
    journal: Journal,
    name: str,
    max_attempts: int,
    out: Created,
) -> None:
    answer, requests = await send_with_budget(
        budget,
        journal,
        {"name": name, "action": "create"},
        lambda: client.create_unit_type(name, "created by bulk-sources"),
        max_attempts,
    )
    out.requests += requests
    if answer.kind is AnswerKind.OK:
        out.created.append(name)
        journal.event(JOURNAL_EVENT, name=name, action="created")
    elif answer.kind is AnswerKind.EXISTS:
        out.present.append(name)  # someone made it meanwhile: not ours to delete
    else:
        out.failed[name] = answer.message
        journal.event(JOURNAL_EVENT, name=name, action="failed", error=answer.message)


def created_by(journal: Path) -> list[str]:
    """The unit ID types a run's journal says it created, in order (unreadable lines, as a
    cut-off last line, are skipped: a type with no `created` line was not proven ours)."""
    names: dict[str, None] = {}
    try:
        lines = journal.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(event, dict)
            and event.get("event") == JOURNAL_EVENT
            and event.get("action") == "created"
            and isinstance(event.get("name"), str)
        ):
            names.setdefault(event["name"])
    return list(names)


@dataclass
class UnitReport:
    """What a run did about unit ID types, for summary.json and the text report."""

    checked: bool
    note: str | None = None
    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "note": self.note,
            "created": list(self.created),
            "found_present": list(self.present),
            "failed": dict(self.failed),
            "requests": self.requests,
        }


async def prepare_unit_types(
    client: ConsoleClient,
    budget: SharedBudget,
    journal: Journal,
    settings: SubmitSettings,
    validation: ValidationReport,
    skip: frozenset[str],
) -> UnitReport:
    """Check the open rows' unit ID types and, with --create-unit-types, create the missing
    ones; a row mapping one that could not be created becomes invalid."""
    step = await check_against_project(client, settings, validation, skip)
    if step.types.names is None:
        journal.event(JOURNAL_EVENT, action="not_checked", error=step.warning)
        return UnitReport(checked=False, note=step.warning)
    report = UnitReport(checked=True)
    if not step.to_create:
        return report
    done = await create_unit_types(client, budget, journal, step.to_create, settings.max_attempts)
    report.created, report.present, report.failed = done.created, done.present, done.failed
    report.requests = done.requests
    if done.failed:
        have = ProjectTypes((*step.types.names, *done.created, *done.present))
        check_unit_types(validation, have, skip=skip, failed=done.failed)
    return report
