"""One tolerant reader for the run files a person may open, edit or re-save.

results.csv may come back from a spreadsheet with a byte-order mark, its columns reordered,
a cell too many on a line, or emptied; created.jsonl and the journal may have a line edited
by hand. Every reader of a run file goes through here: what can be read is read (the BOM
dropped, columns found by name, extra cells ignored), and what can't is refused with one
sentence naming the file and the line, never a traceback.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ...errors import UsageError


class MissingColumns(UsageError):
    """The file's header lacks a column the reader needs: maybe not that file at all."""


def damaged(path: Path, line: int, why: str, fix: str) -> UsageError:
    """The sentence for a run file a person changed: which file, which line, what to do."""
    return UsageError(f"{path} line {line} is not as the tool wrote it ({why}); {fix}")


def csv_records(
    path: Path, required: Sequence[str], fix: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, cells by column name) of a CSV run file; `required` columns must be in
    its header (in any order). A BOM is dropped, cells beyond the header ignored. (Cells as
    long as a catalog's: catalog.reader lifts the csv module's field limit at import.)"""
    line = 1
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [c.strip() for c in next(reader, [])]
            if not header:
                return
            missing = [c for c in required if c not in header]
            if missing:
                why = f"no column {', '.join(missing)} in its header"
                raise MissingColumns(str(damaged(path, 1, why, fix)))
            at = {name: header.index(name) for name in header}
            for cells in reader:
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue  # a blank line a spreadsheet added
                yield line, {name: cells[i] if i < len(cells) else "" for name, i in at.items()}
    except UnicodeDecodeError as exc:
        raise damaged(path, line, f"not UTF-8: {exc.reason}", fix) from None
    except csv.Error as exc:
        raise damaged(path, line + 1, str(exc), fix) from None
    except OSError as exc:
        raise UsageError(f"can't read {path} ({exc.strerror or exc})") from None


def json_lines(path: Path, fix: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of a JSON-lines run file; blank lines are skipped, anything else
    that is not a JSON object is refused."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise damaged(path, 1, f"not UTF-8: {exc.reason}", fix) from None
    except OSError as exc:
        raise UsageError(f"can't read {path} ({exc.strerror or exc})") from None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            raise damaged(path, n, "not JSON", fix) from None
        if not isinstance(record, dict):
            raise damaged(path, n, "not a JSON object", fix) from None
        yield n, record


def whole_number(value: object, what: str) -> int:
    """An int from a run file's cell (text or JSON); ValueError says what is wrong."""
    if isinstance(value, bool):
        raise ValueError(f"{what} is {value!r}, not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"{what} is {value!r}, not a whole number")
