"""What an import produces, whatever the platform: catalog rows plus an account of the import.

Each row is a creation body in catalog cells (text, lists and objects as JSON, as `export`
writes them) and a note for the `_import_note` column. The account says what was carried,
translated, renamed, left behind and what a person must edit; it is the summary the CLI
prints and `--json` gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..catalog.columns import DIALECT_COLUMN
from ..catalog.importnote import EDIT_MARKER, IMPORT_NOTE_COLUMN
from ..errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

CATALOG_COLUMNS = (
    "name",
    "description",
    "sql",
    "timestampColumn",
    "experimentIDColumn",
    "groupIDColumn",
    "groupNameColumn",
    "idTypeMapping",
    "tags",
    DIALECT_COLUMN,
    IMPORT_NOTE_COLUMN,
)
_BODY_COLUMNS = CATALOG_COLUMNS[:-2]


@dataclass
class ImportedRow:
    place: str  # where it came from, as messages name it ("warehouse / user_id")
    body: dict[str, Any]
    edit: list[str] = field(default_factory=list)  # what a person must change
    info: list[str] = field(default_factory=list)  # what they should know
    dialect: str | None = None  # sqlglot's name for the SQL's dialect (the `_dialect` cell)

    @property
    def note(self) -> str:
        if self.edit:
            also = f". Also: {'; '.join(self.info)}" if self.info else ""
            return f"{EDIT_MARKER} {'; '.join(self.edit)}{also}"
        return "; ".join(self.info)


@dataclass
class ImportResult:
    platform: str
    files: list[str]
    rows: list[ImportedRow] = field(default_factory=list)
    translated: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unset_variables: list[str] = field(default_factory=list)
    dialects: dict[str, str] = field(default_factory=dict)  # data source id -> its type
    # How each row's `_dialect` was chosen, one line per data source (or for all rows).
    dialect_notes: list[str] = field(default_factory=list)

    def cells(self) -> list[list[str]]:
        return [
            [_cell(r.body.get(c)) for c in _BODY_COLUMNS] + [r.dialect or "", r.note]
            for r in self.rows
        ]

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.cells(), columns=list(CATALOG_COLUMNS), dtype=object)

    def summary(self) -> dict[str, Any]:
        edit = [{"source": r.body["name"], "from": r.place, "edit": r.edit} for r in self.rows]
        return {
            "platform": self.platform,
            "files": self.files,
            "sources": len(self.rows),
            "carried": [{"source": r.body["name"], "from": r.place} for r in self.rows],
            "translated": self.translated,
            "renamed": self.renamed,
            "to_edit": [e for e in edit if e["edit"]],
            "not_carried": self.not_carried,
            "skipped": self.skipped,
            "unset_variables": self.unset_variables,
            "dialects": self.dialects,
            "sql_dialects": sorted({r.dialect for r in self.rows if r.dialect}),
            "dialect_notes": self.dialect_notes,
        }

    def summary_text(self) -> str:
        to_edit = [r for r in self.rows if r.edit]
        lines = [
            f"imported {len(self.rows)} assignment sources from {self.platform} "
            f"({', '.join(self.files)}); {len(to_edit)} to edit before they can be sent"
        ]
        sections: list[tuple[str, Iterable[str]]] = [
            ("translated", self.translated),
            ("renamed", self.renamed),
            ("to edit (validate reports these rows invalid until then)", _edits(to_edit)),
            ("not carried (Statsig assignment sources have no such fields)", self.not_carried),
            ("skipped", self.skipped),
            ("unset environment variables (left as written)", self.unset_variables),
        ]
        for title, items in sections:
            items = list(items)
            if items:
                lines.append(f"{title}:")
                lines.extend(f"  {item}" for item in items)
        if self.dialect_notes:
            lines.append(
                f"SQL dialect (written per row in {DIALECT_COLUMN}, which validate and submit "
                "use; --dialect NAME there overrides it):"
            )
            lines.extend(f"  {note}" for note in self.dialect_notes)
        return "\n".join(lines)


def _edits(rows: Iterable[ImportedRow]) -> Iterable[str]:
    for row in rows:
        yield f"{row.body['name']} ({row.place}): {'; '.join(row.edit)}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_id_map(value: str | Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """`FROM=TO,...` (or several such texts, or a mapping) -> {their id type: Statsig unit}."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        texts = [value] if isinstance(value, str) else list(value)
        pairs = []
        for piece in (p.strip() for t in texts for p in t.split(",")):
            if not piece:
                continue
            source, sep, target = piece.partition("=")
            if not sep or not source.strip() or not target.strip():
                raise UsageError(
                    f"--id-map entry {piece!r} is not FROM=TO; write e.g. "
                    "--id-map user_id=userID,anonymous_id=stableID"
                )
            pairs.append((source.strip(), target.strip()))
    out: dict[str, str] = {}
    for source, target in pairs:
        if out.get(source, target) != target:
            raise UsageError(f"--id-map maps {source!r} twice ({out[source]!r}, {target!r})")
        out[source] = target
    return out


def unmapped_error(file: str, missing: Mapping[str, list[str]]) -> UsageError:
    """One sentence listing every id type to map, and where each is used."""
    listed = "; ".join(f"{t} (used by {', '.join(places)})" for t, places in missing.items())
    example = ",".join(f"{t}=<statsig unit ID type>" for t in missing)
    return UsageError(
        f"{file}: no --id-map entry for the id type(s) {listed}; map each to a Statsig unit "
        f"ID type, e.g. --id-map {example}"
    )
