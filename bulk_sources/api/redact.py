"""Server text made safe to show or store: the one place it is cleaned.

Anything a server sends (an error message, an HTML page, a Location header, an exception's
text, a created object) may echo the key it was sent, carry terminal escape sequences, or be
megabytes long. `server_text` is for text that reaches a terminal or a report cell;
`redact_value` is for JSON that is stored as it came (created.jsonl, the listing).
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

from .protocol import masked

# The default length of server text in a message: enough for any real API message.
TEXT_LIMIT = 300

# Anything shaped like a Console key, whatever surrounds it (quotes, `key:`, JSON, HTML).
_KEY_LIKE = re.compile(r"console-[A-Za-z0-9_-]{5,}")
# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and other two-byte escapes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def redact(text: str, secret: str | None, *, key_like: bool = True) -> str:
    """`text` with every occurrence of `secret` (the exact key) masked to its first few
    characters, and with `key_like` every other token shaped like a Console key too (a
    message may quote another key; stored content is left alone but for the exact key)."""
    if secret:
        text = text.replace(secret, masked(secret))
    if not key_like:
        return text
    return _KEY_LIKE.sub(lambda m: masked(m.group(0)) if len(m.group(0)) > 12 else m.group(0), text)


def strip_controls(text: str) -> str:
    """Escape sequences and control or bidi-format characters removed, whitespace runs made
    one space: what is left cannot move the cursor, clear a screen or reorder a line."""
    text = _ESCAPES.sub("", text)
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\n\r\f\v":
            out.append(" ")
        elif category not in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(ch)
    return " ".join("".join(out).split())


def shorten(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def server_text(text: str, secret: str | None, *, limit: int = TEXT_LIMIT) -> str:
    """Text from a server made fit for a terminal or a report cell: controls stripped first
    (so escapes hidden inside the key can't dodge the redaction), the key masked, shortened."""
    return shorten(redact(strip_controls(text), secret), limit)


def looks_like_html(text: str, content_type: str | None = None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body", "<?xml"))


def summarise_html(status: int, text: str, secret: str | None) -> str:
    """`HTTP 502 (HTML error page: 502 Bad Gateway)`: a proxy's page, not copied verbatim."""
    match = _TITLE.search(text[:65536])
    title = match.group(1) if match else ""
    title = server_text(html.unescape(_TAG.sub(" ", title)), secret, limit=80)
    return f"HTTP {status} (HTML error page" + (f": {title})" if title else ")")


def redact_value(value: Any, secret: str | None) -> Any:
    """A JSON value with the exact key masked in every string, keys of objects included;
    nothing else changes, so listed content can still be compared with the catalog."""
    if isinstance(value, str):
        return redact(value, secret, key_like=False)
    if isinstance(value, list):
        return [redact_value(v, secret) for v in value]
    if isinstance(value, dict):
        return {
            redact(str(k), secret, key_like=False): redact_value(v, secret)
            for k, v in value.items()
        }
    return value
