"""Which names a URL path can carry exactly.

A source is updated and deleted at `.../assignment_source/{name}`, so a name is only usable
when that path reaches it and nothing else: `.` and `..` are dot segments that every URL
library and proxy resolves away (the DELETE for `..` reaches `/console/v1/experiments/`),
and a name longer than a request line can carry is refused before the server sees it.
Checked on the catalog (an invalid row), never by the stand-in: the real API takes them.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from .protocol import ITEM_PATH

# Servers and proxies commonly refuse a request line over 8 KiB (nginx, AWS ALB, Apache);
# the path is most of it, so the encoded path stays under that with room for the rest.
URL_PATH_LIMIT = 8000
_PREFIX = len(ITEM_PATH.format(name=""))
_PLAIN = re.compile(r"[A-Za-z0-9_\-. ]{1,256}")


def name_problem(name: str) -> str | None:
    """Why `name` can't be addressed by its update/DELETE path, or None when it can."""
    name = name.strip()
    if name in (".", ".."):
        where = "the folder above" if name == ".." else "the list itself"
        return (
            f"`{name}` is a dot segment: the URL path {ITEM_PATH.format(name=name)} is resolved "
            f"to {where} by every HTTP library, so the source could never be updated or deleted; "
            "rename it"
        )
    if _PLAIN.fullmatch(name):
        return None
    for char in name:
        if unicodedata.category(char) == "Cs":
            return (
                f"holds a lone surrogate (U+{ord(char):04X}), which has no UTF-8 form, so no "
                "URL path can carry it; fix the file's encoding"
            )
    encoded = len(quote(name, safe=""))
    if _PREFIX + encoded > URL_PATH_LIMIT:
        return (
            f"is {encoded} characters once encoded for the URL; the update/DELETE path can "
            f"carry at most {URL_PATH_LIMIT - _PREFIX} (a request line over "
            f"{URL_PATH_LIMIT} is refused by common servers); shorten it"
        )
    return None


# What the API takes in a name but people and tools trip on: white space of any kind, and
# characters that print as nothing (zero-width, bidirectional marks, a BOM).
_ODD = re.compile(r"[\s\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def name_warning(name: str) -> str | None:
    """Why `name`, valid, will trouble someone (None: it won't)."""
    found = _ODD.search(name)
    if found is None:
        return None
    char = found.group(0)
    if char.isspace():
        what = "a space" if char == " " else f"white space (U+{ord(char):04X})"
        why = "every script, URL and Terraform resource that names it must quote it"
    else:
        what = f"an invisible character (U+{ord(char):04X}, {unicodedata.name(char, 'unnamed')})"
        why = "it looks the same as the name without it, yet is another source"
    return f"holds {what}: the source is created under exactly this name, and {why}; use _ or -"
