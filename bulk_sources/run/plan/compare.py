"""Is a catalog row what the server already holds? A field-by-field comparison.

The fields compared are the creation model's own (`AssignmentSourceCreate`), so a field
added to the model is compared without a change here. The normalisation, documented in
docs/submit.md ("The plan"):

- Only the fields the row sends are compared. A field the row leaves empty is not sent,
  so an update could not change it: comparing it would plan an update that changes nothing,
  run after run. `name` identifies the source and `dryRun` is an instruction, not content.
- Empty is empty: absent, null, "", [] and {} are the same value.
- `tags` are a set: order and repeats don't matter.
- `idTypeMapping` is a set of (statsigUnitID, column) pairs: order doesn't matter.
- An object (`owner`) is compared on the keys the row gives; the server may fill in more
  (an owner's name for its ID).
- Everything else (text, booleans, numbers) is compared exactly: the catalog already trims
  text, and True is not 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...models import AssignmentSourceCreate, SourceContent

NOT_CONTENT = frozenset({"name", "dryRun"})
COMPARED_FIELDS = tuple(f for f in AssignmentSourceCreate.model_fields if f not in NOT_CONTENT)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict | tuple) and not value)


def _normal(field: str, value: Any, given: Any) -> Any:
    if _empty(value):
        return None
    if field == "tags" and isinstance(value, list):
        return frozenset(str(tag) for tag in value)
    if field == "idTypeMapping" and isinstance(value, list):
        return frozenset(
            (str(m.get("statsigUnitID")), str(m.get("column")))
            for m in value
            if isinstance(m, Mapping)
        )
    if isinstance(value, Mapping):
        keys = given.keys() if isinstance(given, Mapping) else value.keys()
        return tuple(sorted((k, _typed(value.get(k))) for k in keys if not _empty(value.get(k))))
    return _typed(value)


def _typed(value: Any) -> Any:
    # True == 1 in Python; a boolean field holding 1 is not the same content.
    return (type(value).__name__, value) if isinstance(value, bool | int | float) else value


def differing_fields(body: Mapping[str, Any], existing: Mapping[str, Any]) -> list[str]:
    """The fields (in model order) where the row's body and the server's source differ."""
    out = []
    for field in COMPARED_FIELDS:
        mine = body.get(field)
        if _empty(mine):
            continue
        if _normal(field, mine, mine) != _normal(field, existing.get(field), mine):
            out.append(field)
    return out


def content_of(source: Mapping[str, Any]) -> SourceContent:
    """The content fields of a listed source that a creation body can carry (no name)."""
    return {f: source[f] for f in COMPARED_FIELDS if f in source and not _empty(source[f])}


def changed_fields(was: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The fields where two sources differ, both ways: a field one of them leaves empty
    counts too (someone added a description since). Used by rollback, which compares what
    the server holds with what a run wrote."""
    either = set(differing_fields(was, now)) | set(differing_fields(now, was))
    return [f for f in COMPARED_FIELDS if f in either]
