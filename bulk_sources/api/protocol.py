"""Facts of the Console API that the client and the stand-in share: paths, headers, the
loopback rule, and how a key is shown. No aiohttp here, so light callers (settings, the CLI
parser) can import it cheaply."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
from urllib.parse import urlsplit

from ..errors import UsageError

API_PREFIX = "/console/v1/experiments"
SOURCES_PATH = f"{API_PREFIX}/assignment_sources"  # GET lists, POST creates
ITEM_PATH = f"{API_PREFIX}/assignment_source/{{name}}"  # POST full update, PATCH, DELETE
KEY_HEADER = "STATSIG-API-KEY"
VERSION_HEADER = "STATSIG-API-VERSION"
API_VERSION = "20240601"
REVIEW_HEADER = "x-respect-review-settings"
DEFAULT_BASE_URL = "https://statsigapi.net"
MUTATIONS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    return False


def check_base_url(base_url: str) -> str:
    """Refuse plain http except to loopback: the key travels in a header."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--base-url {base_url!r} must look like https://statsigapi.net")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(
            f"refusing plain http to {parts.hostname}: the API key would travel unencrypted; "
            "use https (http is allowed only for loopback hosts)"
        )
    return base_url.rstrip("/")


def key_fingerprint(key: str) -> str:
    """A stable, one-way name for a key: safe to write down, useless to an attacker."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def masked(key: str) -> str:
    """The first few characters only: enough to tell keys apart, never enough to use one."""
    return key[: min(12, len(key) // 2)] + "…"
