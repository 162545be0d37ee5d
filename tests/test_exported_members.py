"""The public API is exactly what docs/library.md documents (as httpx's
tests/test_exported_members.py), every name resolves, and each async twin takes its
blocking form's parameters."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import bulk_sources

LIBRARY_DOC = Path(__file__).resolve().parent.parent / "docs" / "library.md"
# The one parameter only an async form can take: a session lives in the caller's loop.
ASYNC_ONLY = {"session"}


def documented() -> set[str]:
    section = LIBRARY_DOC.read_text(encoding="utf-8").split("## The public API", 1)[1]
    section = section.split("\n## ", 1)[0]
    listed = section.split("\n- ", 1)[1]  # the list, after the paragraph about it
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", listed))


def test_all_is_exactly_the_documented_api() -> None:
    assert len(documented()) > 30  # the section was found and read
    assert sorted(bulk_sources.__all__) == sorted(documented())


def test_every_public_name_resolves_and_nothing_else_does() -> None:
    for name in bulk_sources.__all__:
        assert getattr(bulk_sources, name) is not None, name
    assert not hasattr(bulk_sources, "start_run")  # internal: not reachable from the top


def test_each_async_twin_takes_its_blocking_forms_parameters() -> None:
    twins = [n for n in bulk_sources.__all__ if n.endswith("_async")]
    assert len(twins) >= 6
    for name in twins:
        blocking = inspect.signature(getattr(bulk_sources, name.removesuffix("_async")))
        running = inspect.signature(getattr(bulk_sources, name))
        extra = [p for n, p in running.parameters.items() if n in ASYNC_ONLY]
        same = [p for n, p in running.parameters.items() if n not in ASYNC_ONLY]
        assert same == list(blocking.parameters.values()), name
        assert all(p.kind is p.KEYWORD_ONLY and p.default is None for p in extra), name
        assert running.return_annotation == blocking.return_annotation, name
