"""Rows the run settled that the catalog no longer holds (removed or edited since).

A resume reads the catalog as it is now, but the run record is append-only in meaning: a
row the run created, updated or found stays in results.csv, summary.json and created.jsonl
(so rollback still undoes it), and a request it sent without an answer stays `unknown`.
Such a row is numbered 0 (it is no row of today's catalog, so failed.csv and retry never
take it for another), and its message names the row it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from .journal import JournalState
from .results import RowResult, Status

GONE_ROW = 0  # the row number of a row gone from the catalog
GONE = "no longer in the catalog (row {row} when the run settled it); kept in the report"


def gone_rows(state: JournalState, present: Iterable[str]) -> list[RowResult]:
    """The journal's rows whose keys are not among `present` (today's valid rows' keys)."""
    here = set(present)
    out = []
    for key, result in state.finals.items():
        if key not in here:
            out.append(replace(result, row=GONE_ROW, error=_joined(result.error, result.row)))
    for key, send in state.unfinished.items():
        if key in here or key in state.finals:
            continue
        row = int(send.get("row", 0) or 0)
        why = "its request went without an answer, so the project may hold it"
        name = send.get("name")
        out.append(
            RowResult(
                GONE_ROW,
                name if isinstance(name, str) else None,
                Status.UNKNOWN,
                attempts=int(send.get("attempt", 1) or 1),
                error=_joined(why, row),
                key=key,
            )
        )
    return out


def _joined(error: str, row: int) -> str:
    gone = GONE.format(row=row)
    if GONE.split(" (", 1)[0] in error:  # said already (a journalled kept row)
        return error
    return f"{error}; {gone}" if error else gone


def catalog_change(results: Sequence[RowResult]) -> str | None:
    """The sentence said once when rows are gone from the catalog."""
    gone = [r for r in results if r.row == GONE_ROW and r.key]
    if not gone:
        return None
    done = sum(r.status is not Status.UNKNOWN for r in gone)
    parts = [f"{done} rows gone from it, kept in the report as done"] if done else []
    if len(gone) > done:
        parts.append(f"{len(gone) - done} gone from it with a request not settled (unknown)")
    return "the catalog changed since the run: " + "; ".join(parts)
