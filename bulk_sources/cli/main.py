"""`bulk-sources` command line: parse arguments, call the library, map errors to exit codes.

Each subcommand lives in `bulk_sources/cli/<name>.py` with `register(subparsers)`; the
logic itself lives in the library modules they call.

Exit codes: see `exits.py`, the one map.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import BulkSourcesError, NothingToRetry
from ..version import __version__
from . import demo, fake_server, submit, validate
from .exits import EXIT_STOPPED, EXIT_USAGE, for_error


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse exits 2 as well; only the wording is ours, with a pointer to --help.
        self.print_usage(sys.stderr)
        print(f"bulk-sources: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bulk-sources",
        description="Create many Statsig Warehouse Native assignment sources at once.",
    )
    parser.add_argument("--version", action="version", version=f"bulk-sources {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    # Each command module imports its machinery only when it runs, so --help stays fast.
    for module in (demo, submit, validate, fake_server):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except NothingToRetry as exc:
        print(f"bulk-sources: {exc}")
        return for_error(exc)
    except BulkSourcesError as exc:
        print(f"bulk-sources: {exc}", file=sys.stderr)
        return for_error(exc)
    except KeyboardInterrupt:
        print("bulk-sources: interrupted", file=sys.stderr)
        return EXIT_STOPPED
