"""Source names from other platforms' query names: safe to put in a URL path, and unique.

Statsig documents no pattern or length for assignment-source names. Imported names keep
letters, digits, spaces and `_-.:()`; anything else (a `/` would split the update URL's path
segment behind some proxies, control characters hide in the console) becomes `_`. Names are
unique without regard to case: whether Statsig compares them so is undocumented, and two
names that differ only by case confuse people anyway.
"""

from __future__ import annotations

import re

MAX_NAME = 100
_UNSAFE = re.compile(r"[^\w .:()\-]+")
_SPACES = re.compile(r"\s+")


def safe_name(text: str) -> str:
    name = _SPACES.sub(" ", _UNSAFE.sub("_", text)).strip(" _")
    return name[:MAX_NAME].rstrip() or "imported"


class Names:
    """Hands out unique names; says what it changed and why."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def take(self, wanted: str) -> tuple[str, str | None]:
        """(the name, or None when it is `wanted` unchanged / the reason it was changed)."""
        base = safe_name(wanted)
        name, n = base, 1
        while name.casefold() in self._taken:
            n += 1
            suffix = f" ({n})"
            name = base[: MAX_NAME - len(suffix)].rstrip() + suffix
        self._taken.add(name.casefold())
        if name == wanted:
            return name, None
        if base != wanted and name == base:
            return name, f"name {wanted!r} -> {name!r} (characters made safe)"
        if base != wanted:
            return name, f"name {wanted!r} -> {name!r} (made safe, then unique)"
        return name, f"name {wanted!r} -> {name!r} (another source already has it)"
