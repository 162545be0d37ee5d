"""Rows settled as created without the API's answer to their create (it was lost; the name
was then found by listing, or a retry was told the name is taken): what the API holds for
them comes from the listing, so created.jsonl has a line for every created row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from ...models import ListedSource
from .results import RowResult, Status

LISTED = "what the API holds comes from the listing"


def without_data(results: Iterable[RowResult]) -> list[RowResult]:
    return [r for r in results if r.status is Status.CREATED and r.data is None]


def with_listed_data(
    results: Sequence[RowResult], items: Iterable[ListedSource]
) -> list[RowResult]:
    """`results` with listing data for the created rows that lack it. Their http_status is
    cleared: no answer of ours says "created" (a duplicate answer's 400 is in the note)."""
    by_name = {str(item["name"]): item for item in items if item.get("name") is not None}
    out = []
    for r in results:
        item = by_name.get(r.name or "") if r.status is Status.CREATED and r.data is None else None
        if item is not None:
            r = replace(r, data=item, http_status=None, error=f"{r.error}; {LISTED}")
        out.append(r)
    return out
