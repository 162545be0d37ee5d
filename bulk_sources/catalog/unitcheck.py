"""Rows whose idTypeMapping names a unit ID type the project lacks: invalid, with a did-you-mean.

The API would accept such a source (or not: the real 400 is undocumented) and it would
never join an experiment's units. `userID` and `stableID` are built into every project,
listed or not. A mapping that differs from a known type only in case or by a near miss is
never a type to create: `userId` is `userID` misspelt.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .verdicts import RowError, ValidationReport

BUILT_IN = ("userID", "stableID")
FIELD = "idTypeMapping"
NOT_CHECKED = "unit ID types not checked"


@dataclass(frozen=True)
class ProjectTypes:
    """What the project holds, or why that is not known (`names` None, `why` says)."""

    names: tuple[str, ...] | None
    why: str = ""

    @property
    def known(self) -> frozenset[str]:
        return frozenset((*BUILT_IN, *(self.names or ())))

    @property
    def warning(self) -> str | None:
        return None if self.names is not None else f"{NOT_CHECKED}: {self.why}"


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known type `name` is probably meant to be: same letters in another case, else a
    near miss (difflib's 0.8 ratio, the same bar the column hints use)."""
    choices = sorted(known)
    for choice in choices:
        if choice.lower() == name.lower():
            return choice
    near = difflib.get_close_matches(name, choices, n=1, cutoff=0.8)
    return near[0] if near else None


def mapped_types(body: Mapping[str, Any]) -> list[str]:
    mapping = body.get(FIELD)
    if not isinstance(mapping, list):
        return []
    return [
        str(m["statsigUnitID"]) for m in mapping if isinstance(m, dict) and "statsigUnitID" in m
    ]


def creatable(types: ProjectTypes, report: ValidationReport) -> list[str]:
    """The missing types valid rows map that are no near miss of a known one, in first-use
    order: what --create-unit-types creates."""
    known = types.known
    out: dict[str, None] = {}
    for row in report.valid:
        for name in mapped_types(row.body):
            if name not in known and closest(name, known) is None:
                out.setdefault(name)
    return list(out)


@dataclass
class UnitCheck:
    """The outcome of checking a report's valid rows against the project's types."""

    report: ValidationReport
    invalid_rows: list[int] = field(default_factory=list)


def check_unit_types(
    report: ValidationReport,
    types: ProjectTypes,
    *,
    creating: Iterable[str] = (),
    skip: frozenset[str] = frozenset(),
    failed: dict[str, str] | None = None,
) -> UnitCheck:
    """Move valid rows (whose key is not in `skip`, e.g. done already) that map a type the
    project lacks (and that is not in `creating`) to invalid. Mutates and returns `report`.
    `failed`: types a create was refused for, and why."""
    if types.names is None:
        return UnitCheck(report)
    known = types.known | set(creating)
    listed = ", ".join(dict.fromkeys((*BUILT_IN, *(types.names or ()))))
    kept, moved = [], []
    for row in report.valid:
        unknown = [n for n in mapped_types(row.body) if n not in known]
        if not unknown or row.key in skip:
            kept.append(row)
            continue
        moved.append(row.row)
        report.invalid[row.row] = [
            RowError(row.row, row.name, FIELD, _reason(name, known, listed, failed or {}))
            for name in unknown
        ]
        report._names[row.row] = row.name
    if moved:
        report.valid = kept
        report.valid_count -= len(moved)
        report._valid_names = None
        report.invalid = dict(sorted(report.invalid.items()))
        report.warnings = [w for w in report.warnings if w.row not in report.invalid]
    return UnitCheck(report, moved)


def _reason(name: str, known: Iterable[str], listed: str, failed: dict[str, str]) -> str:
    if name in failed:
        return f"unit ID type '{name}' is not in the project and creating it failed: {failed[name]}"
    meant = closest(name, known)
    if meant is not None:
        return (
            f"unit ID type '{name}' is not in the project (did you mean `{meant}`?); "
            f"it has: {listed}"
        )
    return (
        f"unit ID type '{name}' is not in the project, which has: {listed}; create it in "
        "Statsig, or submit with --create-unit-types"
    )
