"""`bulk-sources budget show|forget`: what the tool knows of a project's API budget.

The same idea as limits/budget.py (a run's budget), from the command line: the memory that
module keeps, read through limits/known.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .options import add_key_options, key_from


def register(subparsers: Any) -> None:
    budget = subparsers.add_parser(
        "budget",
        help="show or forget what is known of the project's API budget",
        description="The budget memory every run on a key or project shares (in the state "
        "directory, $BULK_SOURCES_STATE_DIR): the windows learned from 429s, when and why, "
        "and the requests recorded in the last 15 minutes, by run.",
    )
    actions = budget.add_subparsers(dest="action", metavar="ACTION", help="show or forget")
    actions.required = True
    show = actions.add_parser("show", help="print what is known for the key or project")
    show.add_argument("--json", action="store_true", help="one JSON document on stdout")
    forget = actions.add_parser("forget", help="clear it (says what that risks)")
    for sub in (show, forget):
        sub.add_argument(
            "--project",
            metavar="NAME",
            help="the budget shared by the project's keys (as submit --project); "
            "default: the key's own",
        )
        add_key_options(sub)
    show.set_defaults(func=run_show)
    forget.set_defaults(func=run_forget)


def _identity(args: argparse.Namespace) -> str:
    from ..limits.known import budget_identity

    if args.project:
        return budget_identity(args.project, "")
    return budget_identity(None, key_from(args).fingerprint)


def _when(at: object) -> str:
    if not isinstance(at, (int, float)):
        return "at an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def run_show(args: argparse.Namespace) -> int:
    from ..limits.known import describe
    from ..limits.state_dir import state_dir
    from .render import print_json

    identity = _identity(args)
    view = describe(identity)
    if view is None:
        text = f"no budget state yet for {identity} (in {state_dir()})"
        if args.json:
            print_json({"identity": identity, "state_file": None, "note": text})
        else:
            print(text)
        return 0
    if args.json:
        print_json(view.as_json())
        return 0
    print(f"budget {identity} ({view.path})")
    if view.note:
        print(f"  note: {view.note}")
    if view.learned:
        windows = " + ".join(view.learned["windows"])
        print(f"  learned: {windows}, {_when(view.learned['at'])} ({view.learned['why']})")
    else:
        print("  learned: nothing (runs start from their --rate-limit ceilings)")
    if not view.sends:
        print("  recorded sends in the last 15m: none")
        return 0
    print(
        f"  recorded sends in the last 15m: {view.sends} since {_when(view.since)}, "
        f"{view.rejected} of them rejected (429)"
    )
    for run, count in view.by_run.items():
        print(f"    {run}: {count}")
    return 0


def run_forget(args: argparse.Namespace) -> int:
    from ..limits.known import FORGET_RISK, forget

    identity = _identity(args)
    if not forget(identity):
        print(f"nothing known for {identity}: nothing removed")
        return 0
    print(f"forgot the budget of {identity}; {FORGET_RISK}", file=sys.stdout)
    return 0
