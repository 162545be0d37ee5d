"""Facts of the Console API that the client and the stand-in share: paths, headers, the
loopback rule, and how a key is shown. No aiohttp here, so light callers (settings, the CLI
parser) can import it cheaply."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..errors import UsageError

API_PREFIX = "/console/v1/experiments"
SOURCES_PATH = f"{API_PREFIX}/assignment_sources"  # GET lists, POST creates
ITEM_PATH = f"{API_PREFIX}/assignment_source/{{name}}"  # POST full update, PATCH, DELETE
UNIT_TYPES_PATH = "/console/v1/unit_id_types"  # GET lists (paged), POST creates
UNIT_TYPE_ITEM_PATH = f"{UNIT_TYPES_PATH}/{{name}}"  # GET, PATCH, DELETE
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


BASE_URL_ENV = "STATSIG_BASE_URL"


def default_base_url(environ: Mapping[str, str] | None = None) -> str:
    """$STATSIG_BASE_URL, else the real API: the one place every command and the library
    read it, so a rehearsal against the stand-in never reaches production by accident."""
    env = os.environ if environ is None else environ
    return env.get(BASE_URL_ENV) or DEFAULT_BASE_URL


def check_base_url(base_url: str) -> str:
    """Refuse plain http except to loopback: the key travels in a header. Refuse secrets in
    the URL (user:password@, a query, a fragment) without repeating them: a URL is printed
    and stored in run.json, a header is not."""
    parts = urlsplit(base_url)
    if "@" in parts.netloc:
        raise UsageError(
            "the base URL holds a user name or password (user:password@host); the tool never "
            "sends credentials in a URL, so give it as https://host and the key in "
            "STATSIG_API_KEY or --api-key-file"
        )
    if parts.query or parts.fragment or "?" in base_url or "#" in base_url:
        raise UsageError(
            "the base URL has a query or fragment (?… or #…), which could hold a secret; give "
            "only scheme, host and port, like https://statsigapi.net"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--base-url {base_url!r} must look like https://statsigapi.net")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(
            f"refusing plain http to {parts.hostname}: the API key would travel unencrypted; "
            "use https (http is allowed only for loopback hosts)"
        )
    return base_url.rstrip("/")


def target_host(base_url: str) -> str:
    """The host (and port) a run sends to, as every summary names it: scheme://host[:port]."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else base_url


def key_fingerprint(key: str) -> str:
    """A stable, one-way name for a key: safe to write down, useless to an attacker."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def masked(key: str) -> str:
    """The first few characters only: enough to tell keys apart, never enough to use one."""
    return key[: min(12, len(key) // 2)] + "…"
