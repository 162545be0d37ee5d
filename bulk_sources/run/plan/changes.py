"""What an update would change, per field, as `field: old -> new`, Terraform-style.

Shown by the dry run (text, plan.csv, --json) so a reviewer sees the values, not only
the field names: a tag that an earlier run added and the catalog no longer has shows as
`tags: -migration`, which a bare "tags" never said. Sets (tags, the ID type mapping) are
shown as what leaves and what joins, because their order means nothing to the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ...models import ListedSource

SET_FIELDS = frozenset({"tags", "idTypeMapping"})


def _text(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "(empty)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _members(field: str, value: Any) -> set[str]:
    if not isinstance(value, list):
        return set()
    if field == "idTypeMapping":
        return {
            f"{m.get('statsigUnitID')}={m.get('column')}" for m in value if isinstance(m, Mapping)
        }
    return {str(v) for v in value}


def field_change(field: str, old: Any, new: Any) -> str:
    if field in SET_FIELDS:
        was, now = _members(field, old), _members(field, new)
        parts = [f"-{m}" for m in sorted(was - now)] + [f"+{m}" for m in sorted(now - was)]
        if parts:
            return f"{field}: {' '.join(parts)}"
    return f"{field}: {_text(old)} -> {_text(new)}"


def describe_changes(
    fields: Iterable[str], body: Mapping[str, Any], listed: ListedSource | None
) -> tuple[str, ...]:
    """One `field: old -> new` per differing field; `listed` is the server's source."""
    if listed is None:
        return ()
    return tuple(field_change(f, listed.get(f), body.get(f)) for f in fields)
