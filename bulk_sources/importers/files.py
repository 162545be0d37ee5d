"""Reading another platform's files: text, JSON or YAML, with one sentence per problem.

Parse errors name the file, line and column and never quote the line: a config.yml holds
credentials (substituted from the environment), and no part of one is ever repeated.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CatalogError

# GrowthBook substitutes with string-env-interpolation: `${NAME}` or `${NAME:default}`,
# names of letters, digits and `_`; an empty variable counts as unset.
_ENV = re.compile(r"\$\{([A-Za-z0-9_]+)(?::([^}]+))?\}")


@dataclass
class Loaded:
    path: Path
    document: Any
    unset: list[str] = field(default_factory=list)  # variables left as `${NAME}`


def read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CatalogError(f"{path} does not exist; check the path") from None
    except IsADirectoryError:
        raise CatalogError(f"{path} is a directory; name the file inside it") from None
    except UnicodeDecodeError:
        raise CatalogError(f"{path} is not UTF-8 text; export it again as JSON or YAML") from None
    except OSError as exc:
        raise CatalogError(f"{path} can't be read ({exc.strerror or exc})") from None


def substitute_env(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """`${VAR}` replaced as GrowthBook does; unset ones without a default stay as written."""
    unset: list[str] = []

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if environ.get(name):
            return environ[name]
        if default is not None:
            value = default.strip()
            return re.sub(r"""^(["'])(.+)\1$""", r"\2", value)
        if name not in unset:
            unset.append(name)
        return match.group(0)

    return _ENV.sub(one, text), unset


def load(path: Path, *, environ: Mapping[str, str] | None = None) -> Loaded:
    """JSON when it looks like JSON, else YAML (with `${VAR}` substituted first)."""
    text = read_text(path)
    if not text.strip():
        raise CatalogError(f"{path} is empty; export the definitions again")
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        try:
            return Loaded(path, json.loads(text))
        except json.JSONDecodeError as exc:
            raise CatalogError(
                f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                "save the API's answer as it came"
            ) from None
    import yaml  # only when a YAML file is read: --help stays light

    text, unset = substitute_env(text, os.environ if environ is None else environ)
    try:
        # libyaml's loader when the wheel has it: a 5,000-query file parses ~6x faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f"line {mark.line + 1}, column {mark.column + 1}"
        else:  # a reader error: a character YAML does not allow, at a byte position
            position = getattr(exc, "position", None)
            where = f"character {position + 1}" if isinstance(position, int) else "?"
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "no parse"
        raise CatalogError(f"{path} is not valid YAML ({where}: {problem})") from None
    return Loaded(path, document, unset)


_KINDS = {int: "a number", float: "a number", bool: "a boolean", list: "a list", dict: "an object"}


def text_field(value: object, file: Path, place: str, key: str) -> str:
    """A field that must be non-empty text, e.g. a query's SQL."""
    if not isinstance(value, str):
        kind = "missing" if value is None else f"{_KINDS.get(type(value), 'a value')}, not text"
        raise CatalogError(f"{file}: {place}: `{key}` is {kind}; it must be text")
    if not value.strip():
        raise CatalogError(f"{file}: {place}: `{key}` is empty")
    return value


def listed(value: object) -> list[Any]:
    """A list field as a list; one value as a list of it; absent or odd as empty (these are
    only counted or named in the summary, never carried)."""
    if isinstance(value, list):
        return value
    return [] if value is None or isinstance(value, dict | bool) else [value]
