"""The Console API key: read from the environment or a file, and never shown anywhere."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ApiKeyError
from .protocol import key_fingerprint

ENV_VAR = "STATSIG_API_KEY"


class ApiKey:
    """Holds the key; its repr and str are masked so logs, reports and tracebacks can't leak it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise ApiKeyError("the API key is empty; put a Console API key (console-...) in it")
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


def load_api_key(key_file: Path | None = None, environ: dict[str, str] | None = None) -> ApiKey:
    """The key from `key_file` if given, else from $STATSIG_API_KEY."""
    if key_file is not None:
        try:
            return ApiKey(key_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ApiKeyError(
                f"can't read the API key file {key_file}: {exc.strerror or exc}"
            ) from None
        except UnicodeDecodeError:
            raise ApiKeyError(f"the API key file {key_file} is not UTF-8 text") from None
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "")
    if not value.strip():
        raise ApiKeyError(
            f"no API key: set {ENV_VAR}=console-... or pass --api-key-file FILE "
            "(a Console API key from console.statsig.com/api_keys)"
        )
    return ApiKey(value)
