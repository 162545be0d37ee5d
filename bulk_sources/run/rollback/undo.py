"""What a rollback undoes, and what each of those rows needs now. Pure, but for the files.

The rows come from the run's created.jsonl: a `created` row is deleted, an `updated` row is
restored (a full update back to its `before`), each only while the server still holds
exactly what the run wrote (`data`, compared both ways with compare.changed_fields).
Anything changed since is kept and reported; a source already gone is `gone`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ...catalog.validation import ValidRow
from ...models import ListedSource, SourceContent, row_key
from ..plan.compare import COMPARED_FIELDS, changed_fields
from ..plan.rows import Plan, PlanEntry
from ..plan.settle import Decision, settled_result
from ..record.report import atomic_text
from ..record.results import RowResult, Status
from ..record.runfiles import damaged, json_lines, whole_number
from ..record.shapes import CreatedLine
from ..send.task import Task

UNDO_FILE = "undo.jsonl"  # a rollback run's own list of what it undoes (its "catalog")

UndoAction = Literal["delete", "restore"]


@dataclass(frozen=True)
class UndoItem:
    row: int  # the row's number in the run it undoes
    name: str
    action: UndoAction
    wrote: ListedSource | None  # what the run left on the server (the API's answer)
    before: SourceContent | None = None  # an updated row's content before the run

    @property
    def key(self) -> str:
        """The rollback journal's key: one undo per name and action."""
        return row_key({"undo": self.action, "name": self.name})

    def valid_row(self) -> ValidRow:
        body = restore_body(self.name, self.before or {}, self.wrote or {})
        return ValidRow(self.row, self.name, body if self.action == "restore" else {}, self.key)


def restore_body(name: str, before: Mapping[str, Any], wrote: Mapping[str, Any]) -> dict[str, Any]:
    """The full update that puts `before` back. A text or list field the run filled and
    `before` lacks is sent empty, so the update clears it (a full update keeps what it is
    not given); other such fields (an owner, a flag) can't be expressed as empty."""
    body: dict[str, Any] = {"name": name, **before}
    for field in COMPARED_FIELDS:
        value = wrote.get(field)
        if field not in before and value:
            if isinstance(value, list):
                body[field] = []
            elif isinstance(value, str):
                body[field] = ""
    return body


def read_created(path: Path) -> list[UndoItem]:
    """The rows a run created or updated, from its created.jsonl (or a rollback's
    undo.jsonl); a line edited out of shape is refused, naming it."""
    again = (
        f"`bulk-sources resume {path.parent}` writes it again"
        if path.name != UNDO_FILE
        else "the rollback copied it from the run's created.jsonl"
    )
    fix = f"put it back as it was; {again}"
    items = []
    for n, record in json_lines(path, fix):
        status, name = record.get("status"), record.get("name")
        if status not in ("created", "updated") or not isinstance(name, str):
            continue
        before = record.get("before")
        try:
            row = whole_number(record.get("row") or n, "row")
        except ValueError as exc:
            raise damaged(path, n, str(exc), fix) from None
        items.append(
            UndoItem(
                row=row,
                name=name,
                action="delete" if status == "created" else "restore",
                # The API's answer as written (a JSON object), else nothing recorded.
                wrote=record.get("data") if isinstance(record.get("data"), dict) else None,
                before=before if isinstance(before, dict) else None,
            )
        )
    return items


def write_items(path: Path, items: Iterable[UndoItem]) -> None:
    with atomic_text(path) as handle:
        for i in items:
            line: CreatedLine = {
                "row": i.row,
                "name": i.name,
                "status": _STATUS[i.action],
                "data": i.wrote,
            }
            if i.before is not None:
                line["before"] = i.before
            handle.write(json.dumps(line) + "\n")


_STATUS = {"delete": "created", "restore": "updated"}
read_items = read_created  # undo.jsonl is written in created.jsonl's own shape


def _fields(fields: Iterable[str]) -> str:
    return ", ".join(fields)


def _tag_note(listed: ListedSource, tag: str | None) -> str:
    tags = listed.get("tags")
    if tag and not (isinstance(tags, list) and tag in tags):
        return f"; it no longer carries the tag {tag!r}"
    return ""


def judge(
    item: UndoItem, listed: ListedSource | None, *, sent: bool, tag: str | None = None
) -> Decision:
    """What `item` needs, given the source of its name as listed now (None: absent) and
    whether an earlier request of this rollback went without an answer (`sent`)."""
    if item.wrote is None:
        return Decision("kept", Status.KEPT, "what the run wrote is not recorded; left alone")
    if item.action == "restore" and item.before is None:
        why = "its content before the run is not recorded; left alone"
        return Decision("kept", Status.KEPT, why)
    if listed is None:
        return _not_listed(item)
    changed = changed_fields(item.wrote, listed)
    if not changed:
        return Decision(item.action)
    if item.action == "restore":
        back = {k: v for k, v in item.valid_row().body.items() if k != "name"}
        if not changed_fields(back, listed):
            if sent:
                why = "restored by an earlier request whose answer was lost (found by listing)"
                return Decision("settled", Status.RESTORED, why)
            return Decision("kept", Status.KEPT, "already holds its content from before the run")
    why = f"changed since the run ({_fields(changed)})" + _tag_note(listed, tag)
    return Decision("kept", Status.KEPT, why, tuple(changed))


NOT_LISTED = "not in the listing (it may lag or skip an item)"


def _not_listed(item: UndoItem) -> Decision:
    """A source the listing does not show. One listing proves nothing (it may lag behind new
    sources, or an offset listing may skip one when another is deleted), so `gone` is said
    only once a DELETE's 404 proves it: the delete is sent, and its answer settles the row."""
    if item.action == "delete":
        # Even after a DELETE whose answer was lost: sent again, its 404 settles it.
        return Decision("delete", None, f"{NOT_LISTED}: the DELETE's answer proves it gone (404)")
    # A restore can't be checked against what the server holds: left for resume's listing.
    why = f"{NOT_LISTED}, so what it holds can't be compared; resume lists again"
    return Decision("unknown", Status.UNKNOWN, why)


def make_undo_plan(
    items: list[UndoItem],
    existing: Mapping[str, ListedSource],
    *,
    finals: Mapping[str, RowResult],
    unanswered: Iterable[str] = (),
    tag: str | None = None,
) -> Plan:
    """`finals`: outcomes this rollback's journal holds, by key; `unanswered`: keys of
    requests it sent without an answer."""
    plan = Plan()
    sent = set(unanswered)
    for item in items:
        row = item.valid_row()
        previous = finals.get(item.key)
        if previous is not None:
            plan.kept.append(previous)
            plan.entries.append(PlanEntry(item.row, item.name, "done", note=previous.status.value))
            continue
        decision = judge(item, existing.get(item.name), sent=item.key in sent, tag=tag)
        plan.entries.append(
            PlanEntry(item.row, item.name, decision.action, decision.fields, decision.why)
        )
        if decision.status is not None:
            plan.decided.append(settled_result(row, decision, attempts=0))
        else:
            # Listed as the run left it, or not listed (a DELETE proves it gone).
            plan.tasks.append(Task(row, item.action, maybe_sent=item.key in sent))
    return plan
