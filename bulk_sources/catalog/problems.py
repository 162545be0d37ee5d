"""A validation report grouped by kind of problem, and as one JSON-ready document.

A kind is the field plus the reason with what is particular to a row taken out (quoted
values, numbers, the name of a conflicting duplicate), so 10,000 rows with the same mistake
are one group with a count and its first rows, not 10,000 lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from .validation import Finding, ValidationReport, findings

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_MEANT = re.compile(r"(did you mean )`[^`]*`")
_NUMBER = re.compile(r"\d+")
_CONFLICT = re.compile(r"^name .* appears in rows .* with different content")
EXAMPLES = 5


def kind_of(item: Finding) -> str:
    if item.status == "duplicate":
        return "duplicate of an earlier row (same content), not sent"
    reason = item.reason
    conflict = _CONFLICT.match(reason)
    if conflict is not None:
        return "name used by several rows with different content" + reason[conflict.end() :]
    return _NUMBER.sub("N", _MEANT.sub(r"\1…", _QUOTED.sub("…", reason)))


@dataclass
class ProblemGroup:
    status: str  # "invalid", "duplicate" or "warning"
    field: str
    kind: str
    count: int = 0
    examples: list[Finding] = dc_field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "field": self.field,
            "kind": self.kind,
            "count": self.count,
            "rows": [f.row for f in self.examples],
        }


def warning_findings(report: ValidationReport) -> list[Finding]:
    return [Finding(w.row, w.name, "warning", w.field, w.reason) for w in report.warnings]


def warning_dicts(report: ValidationReport) -> list[dict[str, Any]]:
    """The warnings as every report writes them (validate --json, a dry run, summary.json)."""
    return [finding_dict(f) for f in warning_findings(report)]


def unknown_column_dicts(report: ValidationReport) -> list[dict[str, Any]]:
    return [
        {"column": c, "did_you_mean": report.column_hints.get(c)} for c in report.unknown_columns
    ]


def group(items: Iterable[Finding], examples: int = EXAMPLES) -> list[ProblemGroup]:
    """Groups, largest first (ties in order of their first row), each with its first rows."""
    groups: dict[tuple[str, str, str], ProblemGroup] = {}
    for item in items:
        key = (item.status, item.field, kind_of(item))
        found = groups.get(key)
        if found is None:
            found = groups[key] = ProblemGroup(*key)
        found.count += 1
        if len(found.examples) < examples:
            found.examples.append(item)
    return sorted(groups.values(), key=lambda g: -g.count)


def finding_dict(item: Finding) -> dict[str, Any]:
    return {
        "row": item.row,
        "name": item.name,
        "status": item.status,
        "field": item.field,
        "reason": item.reason,
    }


def document(report: ValidationReport, label: str, examples: int = EXAMPLES) -> dict[str, Any]:
    """Everything `validate` says, as one JSON-ready dict (shape in docs/catalog.md)."""
    problems = list(findings(report))
    warnings = warning_findings(report)
    return {
        "catalog": label,
        "rows": report.total,
        "valid": report.valid_count,
        "invalid": len(report.invalid),
        "duplicates": len(report.duplicates),
        "warnings": len(warnings),
        "unknown_columns": unknown_column_dicts(report),
        "column_errors": list(report.column_errors),
        "notes": list(report.notes),
        "groups": [g.as_dict() for g in group([*problems, *warnings], examples)],
        "problems": [finding_dict(f) for f in [*problems, *warnings]],
    }
