"""`bulk-sources` command line: parse arguments, call the library, map errors to exit codes.

Each subcommand lives in `bulk_sources/cli/<name>.py` with `register(subparsers)`; the
logic itself lives in the library modules they call.

Exit codes: see `exits.py`, the one map.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

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


class _QuietPipe:
    """stdout that goes quiet when its reader leaves (`... | head -1`): the command carries
    on and exits with its own code, instead of a BrokenPipeError traceback."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._broken = False

    def write(self, text: str) -> int:
        if not self._broken:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._went_away()
        return len(text)

    def flush(self) -> None:
        if not self._broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._went_away()

    def _went_away(self) -> None:
        self._broken = True
        # What is still buffered would fail again at exit ("Exception ignored ... Broken
        # pipe"); send it, and anything written to fd 1 later, to /dev/null instead.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # no real file descriptor (captured output)
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    stdout = sys.stdout
    quiet = _QuietPipe(stdout)
    sys.stdout = quiet
    try:
        return _run(argv)
    finally:
        quiet.flush()  # what is still buffered, while a broken pipe can still be quiet
        sys.stdout = stdout


def _run(argv: Sequence[str] | None) -> int:
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
