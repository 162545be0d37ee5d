"""Every command and every option is in --help and in the README or docs/ (as sqlite-utils
checks its own docs): a flag nobody can find does not exist for users."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bulk_sources.cli.main import build_parser

REPO = Path(__file__).resolve().parent.parent
DOCS = "\n".join(
    p.read_text(encoding="utf-8") for p in [REPO / "README.md", *sorted(REPO.glob("docs/*.md"))]
)


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


COMMANDS = _commands()
OPTIONS = sorted(
    (name, option)
    for name, sub in COMMANDS.items()
    for action in sub._actions
    for option in action.option_strings
    if option.startswith("--") and option != "--help"
)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_and_is_documented(name: str) -> None:
    sub = COMMANDS[name]
    assert sub.description, f"{name} has no description"
    assert f"bulk-sources {name}" in DOCS, f"`bulk-sources {name}` is in no doc"


@pytest.mark.parametrize(("name", "option"), OPTIONS)
def test_every_option_has_help_and_is_documented(name: str, option: str) -> None:
    action = next(a for a in COMMANDS[name]._actions if option in a.option_strings)
    assert action.help and action.help != argparse.SUPPRESS, f"{name} {option} has no help"
    # `--[no-]retry-after` documents both forms of a BooleanOptionalAction.
    spelled = option.replace("--no-", "--[no-]") if option.startswith("--no-") else option
    assert option in DOCS or spelled in DOCS, f"{name} {option} is in no doc"
