"""A dry run: validate, list, plan, and estimate the time under the windows; send nothing.

The plan (one line per row: action and the fields that differ) goes to `plan_file` when
given, else to `plan.csv` in a new `<time>-<catalog>-dry-run` folder under the report
directory's `dry-runs/`, with its page (report.html); nothing else is written there and nothing
can be resumed from it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..api.apikey import ApiKey
from ..api.protocol import target_host
from ..catalog.problems import unknown_column_dicts, warning_dicts
from ..catalog.reader import Catalog, open_catalog
from ..catalog.unitcheck import BUILT_IN, NOT_CHECKED, ProjectTypes, mapped_types
from ..catalog.validation import ValidationReport
from ..errors import ApiKeyError, AuthRefused, UsageError
from ..models import ListedSource
from .plan.existing import by_name, list_existing
from .plan.planfile import PLAN_FILE, write_plan
from .plan.projectunits import UnitStep, check_against_project
from .plan.rows import Plan, PlanEntry, all_entries, estimate_seconds, make_plan
from .plan.tagging import with_tag
from .record.finish import static_results
from .record.folder import new_dry_run_dir
from .record.page import add_dry_run_page
from .record.results import RETRYABLE
from .record.summary import DryRun
from .resources import open_client
from .send.history import planned_budget
from .send.servercheck import CheckResult, Cost, fold, sample
from .send.servercheck import server_check as run_server_check
from .send.signals import StopRequests, raising_on_signals
from .settings import SubmitSettings
from .validating import validate_for_run

EXAMPLES_PER_ACTION = 5
SENT = ("create", "update")  # the plan's actions that cost a request


@dataclass(frozen=True)
class ServerCheck:
    """--server-check: send `sample` planned rows (None: all) with dryRun; `announce` is
    told the cost before the first request."""

    sample: int | None = None
    announce: Callable[[Cost], None] | None = None


def _write_plan(plan_file: Path, entries: list[PlanEntry]) -> None:
    try:
        write_plan(plan_file, entries)
    except OSError as exc:
        raise UsageError(
            f"can't write the plan to {plan_file} ({exc.strerror or exc}); "
            "give a writable --plan FILE or --report-dir"
        ) from None


async def dry_run_async(
    path: Path,
    settings: SubmitSettings,
    api_key: ApiKey,
    *,
    plan_file: Path | None = None,
    server_check: ServerCheck | None = None,
) -> DryRun:
    catalog, validation, plan, units, entries = await fresh_plan(path, settings, api_key)
    made_folder = plan_file is None
    problems = static_results(validation) + plan.decided
    checked = None
    if server_check is not None:
        # A row mapping a type the submit creates first would be refused now for that
        # alone: the check can't speak for it, so it is left out and counted.
        pending = set(units.to_create)
        waiting = [t for t in plan.tasks if pending & set(mapped_types(t.row.body))]
        ready = [t for t in plan.tasks if t not in waiting]
        tasks = sample(ready, server_check.sample)
        async with open_client(settings, api_key, None) as client:
            with StopRequests() as stops:
                job = asyncio.ensure_future(
                    run_server_check(client, tasks, settings, api_key, server_check.announce)
                )
                # dryRun persists nothing: stopping mid-way leaves nothing behind.
                checked = await stops.unless_stopped(job, "checking rows with the API (dryRun)")
        checked.left_out = len(waiting)
        entries, problems = fold(entries, problems, checked)
    if plan_file is None:
        label = f"{catalog.path.stem}-dry-run"
        plan_file = new_dry_run_dir(settings.report_dir, label) / PLAN_FILE
    _write_plan(plan_file, entries)
    windows, history, source = planned_budget(settings, api_key)  # after the check's sends
    requests = sum(1 for e in entries if e.action in SENT) + len(units.to_create)
    dry = DryRun(
        catalog=catalog.path,
        rows=validation.total,
        actions=dict(Counter(e.action for e in entries)),
        requests=requests,
        estimated_seconds=estimate_seconds(requests, windows, history, now=time.time()),
        windows=[str(w) for w in windows],
        budget_source=source,
        examples=_examples(entries),
        plan_file=plan_file,
        target=target_host(settings.base_url),
        unit_types_to_create=list(units.to_create),
        notes=[n for n in (units.warning, _check_note(checked)) if n],
        problems=sorted((r for r in problems if r.status in RETRYABLE), key=lambda r: r.row),
        server_check=checked.to_json() if checked is not None else None,
        warnings=warning_dicts(validation),
        unknown_columns=unknown_column_dicts(validation),
        catalog_notes=list(validation.notes),
    )
    if made_folder:  # never beside a plan file the user named
        add_dry_run_page(dry, settings.base_url)
    return dry


async def fresh_plan(
    path: Path, settings: SubmitSettings, api_key: ApiKey
) -> tuple[Catalog, ValidationReport, Plan, UnitStep, list[PlanEntry]]:
    """Validate, check the unit ID types, list and plan, as a submit would now; writes
    nothing."""
    catalog = open_catalog(Path(path), settings.encoding, sheet=settings.sheet)
    with raising_on_signals("reading the catalog"):
        validation = with_tag(validate_for_run(catalog, settings), settings.tag)
    existing: dict[str, ListedSource] = {}
    units = UnitStep(ProjectTypes(()))  # no row to check
    if validation.valid:
        async with open_client(settings, api_key, None) as client:
            with StopRequests() as stops:
                checking = asyncio.ensure_future(
                    check_against_project(client, settings, validation)
                )
                units = await stops.unless_stopped(checking, "reading unit ID types")
                listing = asyncio.ensure_future(list_existing(client, settings))
                try:
                    existing = by_name(await stops.unless_stopped(listing, "listing"))
                except AuthRefused as exc:
                    # Nothing to resume exists: a wrong key is a usage problem, exit 2.
                    raise ApiKeyError(f"{exc}; nothing was sent") from None
    plan = make_plan(validation.valid, existing, settings.on_exists)
    return catalog, validation, plan, units, all_entries(plan, validation)


def _check_note(checked: CheckResult | None) -> str | None:
    if checked is None:
        return None
    note = (
        f"server check: {checked.sampled} rows sent with dryRun ({checked.requests} requests), "
        f"{len(checked.refused)} refused (invalid above)"
    )
    if checked.unanswered:
        note += f", {len(checked.unanswered)} got no answer (their plan is unchanged)"
    if checked.left_out:
        note += (
            f"; {checked.left_out} rows not checked: they map unit ID types the submit "
            "creates first"
        )
    return note


def _examples(entries: list[PlanEntry]) -> dict[str, list[PlanEntry]]:
    out: dict[str, list[PlanEntry]] = {}
    for entry in entries:
        shown = out.setdefault(entry.action, [])
        if len(shown) < EXAMPLES_PER_ACTION:
            shown.append(entry)
    return out


def check_catalog_unit_types(
    validation: ValidationReport, settings: SubmitSettings, api_key: ApiKey | None, why: str = ""
) -> str | None:
    """`validate`'s look at the project (GETs only, nothing created): rows mapping a type
    it lacks become invalid (mutates `validation`). Returns the sentence to show when the
    types could not be checked; with no key (`why` says so) only when a row maps a type
    other than the built-ins, since those need no check."""
    if api_key is None:
        mapped = {n for row in validation.valid for n in mapped_types(row.body)} - set(BUILT_IN)
        if not mapped:
            return None
        return f"{NOT_CHECKED} ({', '.join(sorted(mapped))}): {why or 'no API key'}"
    if not validation.valid:
        return None
    return asyncio.run(_check_unit_types(validation, settings, api_key))


async def _check_unit_types(
    validation: ValidationReport, settings: SubmitSettings, api_key: ApiKey
) -> str | None:
    async with open_client(settings, api_key, None) as client:
        step = await check_against_project(client, settings, validation)
    return step.warning
