"""The one rule about imported rows that a person must edit before they can be sent.

`bulk-sources import` writes a note per row in the `_import_note` report column (ignored like
every `_` column). A note that starts with `EDIT_MARKER` says the import could not carry the
row faithfully (a GrowthBook template with no Statsig equivalent, an unset `${VAR}`): such a
row is invalid, with the note as its reason, until the person edits the row and clears the
marker. A note without the marker is only information and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

IMPORT_NOTE_COLUMN = "_import_note"
EDIT_MARKER = "EDIT ME:"


def is_import_note(column: str) -> bool:
    return column.strip().lower() == IMPORT_NOTE_COLUMN


def needs_edit(note: object) -> str | None:
    """The reason a row is invalid when its note still carries the marker, else None."""
    if not isinstance(note, str) or not note.lstrip().startswith(EDIT_MARKER):
        return None
    what = note.lstrip()[len(EDIT_MARKER) :].strip()
    return (
        f"imported with something to edit by hand: {what} (edit the row, then delete "
        f"'{EDIT_MARKER}' from its {IMPORT_NOTE_COLUMN} cell)"
    )


def note_errors(notes: Sequence[object]) -> dict[int, str]:
    """Row index -> reason, for the rows of a batch whose note needs an edit."""
    return {i: reason for i, note in enumerate(notes) if (reason := needs_edit(note)) is not None}
