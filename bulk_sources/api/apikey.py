"""The Console API key: read from the environment or a file, and never shown anywhere."""

from __future__ import annotations

import os
import select
import stat
import time
from pathlib import Path

from ..errors import ApiKeyError
from .protocol import key_fingerprint
from .redact import redact

ENV_VAR = "STATSIG_API_KEY"
MAX_KEY_FILE = 4096
# Seconds a FIFO or pipe (`--api-key-file <(pass show statsig)`) may take to deliver the key:
# a password manager may ask first, and a FIFO no one writes to must not hang the run.
KEY_WAIT = 30.0


class ApiKey:
    """Holds the key; its repr and str are masked so logs, reports and tracebacks can't leak it."""

    __slots__ = ("_value",)

    def __init__(self, value: str, *, source: str = "the API key") -> None:
        value = value.strip()
        if not value:
            raise ApiKeyError(f"{source} is empty; put a Console API key (console-...) in it")
        problem = _problem(value)
        if problem:
            # A header can't carry these; aiohttp would raise a ValueError mid-run instead.
            raise ApiKeyError(f"{source} {problem}; it should hold only the key, console-...")
        self._value = value

    def reveal(self) -> str:
        """The key itself: only for the request header."""
        return self._value

    @property
    def fingerprint(self) -> str:
        """A stable, one-way name for the key (rate-limit memory is kept per key)."""
        return key_fingerprint(self._value)

    def __repr__(self) -> str:
        return f"ApiKey(fingerprint={self.fingerprint})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _problem(value: str) -> str:
    if "\n" in value or "\r" in value:
        return "has more than one line"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "holds control characters"
    if any(ch.isspace() for ch in value):
        return "holds spaces"
    if not value.isascii():
        return "holds characters that are not plain ASCII"
    return ""


def _read_pipe(key_file: Path, wait: float) -> bytes:
    """What a FIFO or pipe holds until its writer closes it, read without blocking: a FIFO
    with no writer yet reads empty, so empty is an answer only once something came."""
    fd = os.open(key_file, os.O_RDONLY | os.O_NONBLOCK)
    try:
        data, deadline = b"", time.monotonic() + wait
        while len(data) <= MAX_KEY_FILE:
            left = deadline - time.monotonic()
            if left <= 0:
                where = redact(str(key_file), None)
                raise ApiKeyError(
                    f"nothing was written to the API key file {where} within {wait:.0f} s "
                    "(a FIFO no one writes to?); write the key to it, or use a regular file"
                )
            select.select([fd], [], [], min(left, 0.05))
            try:
                chunk = os.read(fd, MAX_KEY_FILE + 1 - len(data))
            except BlockingIOError:
                continue
            if not chunk and data:
                break
            if not chunk:
                time.sleep(min(left, 0.02))  # no writer yet: the FIFO reads as at its end
            data += chunk
        return data
    finally:
        os.close(fd)


def load_api_key(
    key_file: Path | None = None, environ: dict[str, str] | None = None, *, wait: float = KEY_WAIT
) -> ApiKey:
    """The key from `key_file` if given, else from $STATSIG_API_KEY."""
    if key_file is not None:
        try:
            if stat.S_ISFIFO(os.stat(key_file).st_mode):
                text = _read_pipe(key_file, wait).decode("utf-8")
            else:
                # Bounded: a key is ~50 characters, and /dev/zero must not eat the memory.
                with key_file.open(encoding="utf-8") as handle:
                    text = handle.read(MAX_KEY_FILE + 1)
        except OSError as exc:
            raise ApiKeyError(
                f"can't read the API key file {redact(str(key_file), None)}: {exc.strerror or exc}"
            ) from None
        except UnicodeDecodeError:
            raise ApiKeyError(
                f"the API key file {redact(str(key_file), None)} is not UTF-8 text"
            ) from None
        if len(text) > MAX_KEY_FILE:
            raise ApiKeyError(
                f"the API key file {redact(str(key_file), None)} is too large to hold only a key"
            )
        return ApiKey(text, source=f"the API key file {redact(str(key_file), None)}")
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "")
    if not value.strip():
        raise ApiKeyError(
            f"no API key: set {ENV_VAR}=console-... or pass --api-key-file FILE "
            "(a Console API key from console.statsig.com/api_keys)"
        )
    return ApiKey(value, source=f"${ENV_VAR}")
