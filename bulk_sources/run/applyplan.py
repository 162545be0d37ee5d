"""`submit --plan PLAN`: apply the plan a person reviewed, or refuse.

The catalog is validated and the project listed again, and the plan made from them is
compared, row by row, with the reviewed one: the action, the fields that differ, their
`old -> new` values and the row's content key (so an edited catalog row counts as changed
even when the action stays "create"). Any difference refuses the run before a run folder
exists, naming the rows, unless `replan`: then the fresh plan goes ahead and the rows
that changed are listed in the returned note.

The check runs just before the submit's own listing, so a change in the seconds between
the two is not caught; the submit still never overwrites a source it did not plan to
(`--on-exists` decides, as always).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import get_args

from ..api.apikey import ApiKey
from ..errors import UsageError
from .dryrun import fresh_plan
from .plan.planfile import read_plan
from .plan.rows import PlanEntry
from .record.csvsafe import neutralise
from .record.runfiles import MissingColumns
from .settings import OnExists, SubmitSettings

SHOWN = 10


class PlanChanged(UsageError):
    """The server or the catalog changed since the plan was written."""


def load_reviewed(plan_file: Path) -> list[PlanEntry]:
    try:
        return read_plan(plan_file)
    except FileNotFoundError:
        raise UsageError(f"the plan {plan_file} does not exist") from None
    except OSError as exc:
        raise UsageError(f"can't read the plan {plan_file} ({exc.strerror or exc})") from None
    except MissingColumns:
        raise UsageError(
            f"{plan_file} is not a plan written by `submit --dry-run` "
            "(columns row, name, action, fields, note expected)"
        ) from None


def _seen(entry: PlanEntry) -> tuple[object, ...]:
    return (entry.name, entry.action, entry.fields, entry.changes, entry.digest)


def _as_written(entry: PlanEntry) -> PlanEntry:
    # plan.csv neutralises names for spreadsheets; compare the fresh plan the same way.
    return replace(entry, name=neutralise(entry.name) if entry.name else None)


def _describe(row: int, was: PlanEntry | None, now: PlanEntry | None) -> str:
    if was is None:
        return f"row {row}: not in the plan, now {now.action if now else '?'}"
    if now is None:
        return f"row {row} ({was.name}): planned {was.action}, now not in the catalog"
    who = f"row {row} ({now.name})"
    if was.action != now.action:
        return f"{who}: planned {was.action}, now {now.action}"
    if was.digest != now.digest:
        return f"{who}: the catalog row changed"
    return f"{who}: the server changed ({'; '.join(now.changes) or 'now the same'})"


def plan_differences(reviewed: Sequence[PlanEntry], fresh: Sequence[PlanEntry]) -> list[str]:
    """One sentence per row whose plan is not what was reviewed, in row order."""
    was = {e.row: e for e in reviewed}
    now = {e.row: _as_written(e) for e in fresh}
    out = []
    for row in sorted(was.keys() | now.keys()):
        a, b = was.get(row), now.get(row)
        if a is None or b is None or _seen(a) != _seen(b):
            out.append(_describe(row, a, b))
    return out


def planned_on_exists(reviewed: Sequence[PlanEntry]) -> OnExists | None:
    """The `--on-exists` a plan was made with, as its actions for differing sources show
    (None: no row tells, so it does not matter)."""
    actions = {e.action for e in reviewed}
    told: list[OnExists] = [v for v in get_args(OnExists) if v in actions]
    return told[0] if len(told) == 1 else None


def as_planned(settings: SubmitSettings, reviewed: Sequence[PlanEntry]) -> SubmitSettings:
    """The settings to apply a plan with: its own `--on-exists`, whatever the command line
    says, since the plan is what was reviewed."""
    planned = planned_on_exists(reviewed)
    if planned is None or planned == settings.on_exists:
        return settings
    return settings.with_changes(on_exists=planned)


@dataclass(frozen=True)
class PlanCheck:
    """A reviewed plan that still holds: the settings to apply it with and what to say."""

    settings: SubmitSettings
    changed: list[str]  # with `replan`: the rows whose plan is today's, not the reviewed one
    note: str | None  # the settings were the plan's, not the command line's


async def check_plan_async(
    catalog: Path, settings: SubmitSettings, api_key: ApiKey, plan_file: Path, *, replan: bool
) -> PlanCheck:
    """Raises PlanChanged when rows changed since `plan_file` and not `replan`."""
    reviewed = load_reviewed(plan_file)
    planned = as_planned(settings, reviewed)
    note = None
    if planned.on_exists != settings.on_exists:
        note = (
            f"applying the plan with --on-exists {planned.on_exists}, as it was made "
            f"(not {settings.on_exists})"
        )
    *_, fresh = await fresh_plan(catalog, planned, api_key)
    changed = plan_differences(reviewed, fresh)
    if changed and not replan:
        shown = "; ".join(changed[:SHOWN])
        more = f"; and {len(changed) - SHOWN} more" if len(changed) > SHOWN else ""
        raise PlanChanged(
            f"the plan {plan_file} no longer holds for {len(changed)} row(s): {shown}{more}. "
            "Nothing was sent: review a new `--dry-run`, or pass --replan to apply today's plan"
        )
    return PlanCheck(planned, changed, note)


def check_plan(
    catalog: Path, settings: SubmitSettings, api_key: ApiKey, plan_file: Path, *, replan: bool
) -> PlanCheck:
    return asyncio.run(check_plan_async(catalog, settings, api_key, plan_file, replan=replan))
