"""submit --tag: the tag joins every valid row's tags, as part of its body.

So the plan compares it like any other content (a source without the tag is updated with
--on-exists update), the row key covers it (resume, with the same settings, matches the
same rows), and a rollback can tell a source that lost it.
"""

from __future__ import annotations

from dataclasses import replace

from ...catalog.validation import ValidationReport, ValidRow
from ...models import row_key


def tagged_row(row: ValidRow, tag: str) -> ValidRow:
    tags = list(row.body.get("tags") or [])
    if tag in tags:
        return row
    body = {**row.body, "tags": [*tags, tag]}
    return ValidRow(row.row, row.name, body, row_key(body))


def with_tag(validation: ValidationReport, tag: str | None) -> ValidationReport:
    if not tag:
        return validation
    return replace(validation, valid=[tagged_row(row, tag) for row in validation.valid])
