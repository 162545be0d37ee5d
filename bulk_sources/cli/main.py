"""`bulk-sources` command line: parse arguments, call the library, map errors to exit codes.

Each subcommand lives in `bulk_sources/cli/<name>.py` with `register(subparsers)`; the
logic itself lives in the library modules they call. Command modules import aiohttp,
pandas and pyarrow only when they run, so `--help` and completion stay fast.

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
from . import (
    budget,
    completion,
    demo,
    export,
    fake_server,
    import_cmd,
    rollback,
    runs,
    submit,
    validate,
)
from .exits import EXIT_BUG, EXIT_STOPPED, EXIT_USAGE, for_error

ENVIRONMENT = """\
environment:
  STATSIG_API_KEY    the Console API key (or --api-key-file)
  STATSIG_BASE_URL   the API base URL when --base-url is not given (a rehearsal against
                     `bulk-sources fake-server` is set once per shell)
"""

# Every command's --help ends with examples that work as written.
EXAMPLES = {
    "submit": """\
examples:
  bulk-sources submit catalog.csv --dry-run     what would happen, how long it takes
  bulk-sources submit catalog.csv               create every valid row
  bulk-sources submit catalog.csv --json > run.json
  bulk-sources submit reports/RUN/failed.csv    the failed rows, fixed in place
  bulk-sources submit catalog.csv --tag migration-2026   findable in the console
""",
    "resume": """\
examples:
  bulk-sources resume reports/20261126T110501Z-catalog
  bulk-sources resume reports/20261126T110501Z-catalog --json
""",
    "retry": """\
examples:
  bulk-sources retry reports/20261126T110501Z-catalog
  bulk-sources retry reports/20261126T110501Z-catalog --include-invalid
  bulk-sources retry reports/20261126T110501Z-catalog --on-exists update
""",
    "rollback": """\
examples:
  bulk-sources rollback reports/20261126T110501Z-catalog --dry-run
  bulk-sources rollback reports/20261126T110501Z-catalog
  bulk-sources resume reports/20261126T120000Z-catalog-rollback-of-20261126T110501Z
""",
    "runs": """\
examples:
  bulk-sources runs                          every run under reports/, newest first
  bulk-sources runs --report-dir /tmp/reports --json
  bulk-sources runs --open                   the newest run's page in the browser
""",
    "validate": """\
examples:
  bulk-sources validate catalog.csv
  bulk-sources validate catalog.parquet --report problems.csv
""",
    "template": """\
examples:
  bulk-sources template > catalog.csv
""",
    "demo": """\
examples:
  bulk-sources demo
  bulk-sources demo my_catalog.csv --report-dir /tmp/reports
""",
    "export": """\
examples:
  bulk-sources export --output backup.csv      every source of the project, as a catalog
  bulk-sources export --output backup.parquet
  bulk-sources export > sources.csv
""",
    "import": """\
examples:
  bulk-sources import growthbook config.yml --output catalog.csv --id-map user_id=userID
  bulk-sources import growthbook page1.json page2.json --output c.xlsx --id-map user_id=userID
  bulk-sources import datadog models.json --output catalog.parquet --id-map user_id=userID
""",
    "budget": """\
examples:
  bulk-sources budget show --project shop
  bulk-sources budget show --json
  bulk-sources budget forget --project shop
""",
    "fake-server": """\
examples:
  bulk-sources fake-server --port 8080 --key console-test-key
  bulk-sources fake-server --rate-limit 100/10s --rate-limit 900/15m --error-rate 0.05
""",
    "completion": """\
examples:
  bulk-sources completion bash > ~/.local/share/bash-completion/completions/bulk-sources
  bulk-sources completion zsh > "${fpath[1]}/_bulk-sources"
""",
}


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No prefixes: `--api-key VALUE` must not pass for `--api-key-file` and get the key
        # echoed back as a file name that can't be read.
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        from ..api.redact import redact

        # argparse exits 2 as well; only the wording is ours, with a pointer to --help. Its
        # message quotes what was typed: a key pasted in the wrong place is masked.
        self.print_usage(sys.stderr)
        print(f"bulk-sources: error: {redact(message, None)} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bulk-sources",
        description="Create many Statsig Warehouse Native assignment sources at once.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bulk-sources {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    # Each command module imports its machinery only when it runs, so --help stays fast.
    for module in (
        demo,
        submit,
        validate,
        export,
        import_cmd,
        rollback,
        runs,
        budget,
        fake_server,
        completion,
    ):
        module.register(subparsers)
    for name, sub in subparsers.choices.items():
        examples = EXAMPLES.get(name, "")
        sub.epilog = examples + (
            "\n" + ENVIRONMENT if name in ("submit", "resume", "retry", "rollback") else ""
        )
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
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
    as_json = bool(getattr(args, "json", False))
    try:
        from .listing_notes import listing_notes

        with listing_notes(quiet=bool(getattr(args, "quiet", False))):
            code: int = args.func(args)
        return code
    except NothingToRetry as exc:
        # Not a failure: a sentence on stdout, no run folder, exit 0 (1 if rows need fixing).
        code = for_error(exc)
        _say(f"bulk-sources: {exc}", as_json, note=str(exc), code=code, err=False)
        return code
    except BulkSourcesError as exc:
        code = for_error(exc)
        _say(f"bulk-sources: {exc}", as_json, error=str(exc), code=code)
        return code
    except KeyboardInterrupt:
        # Only between the guarded phases (each has its own sentence): say what is safe.
        text = (
            "bulk-sources: interrupted. A run folder it made is complete up to here: "
            "`bulk-sources resume` continues it."
        )
        _say(text, as_json, error="interrupted", code=EXIT_STOPPED)
        return EXIT_STOPPED
    except Exception as exc:  # a bug: still one sentence and a defined code, no traceback
        from ..api.redact import strip_controls

        what = f"{type(exc).__name__}: {strip_controls(str(exc))[:300]}"
        text = (
            f"bulk-sources: internal error ({what}); this is a bug in bulk-sources. A run "
            "folder it made is complete up to here: `bulk-sources resume` continues it."
        )
        _say(text, as_json, error=f"internal error: {what}", code=EXIT_BUG)
        return EXIT_BUG


def _say(
    text: str,
    as_json: bool,
    *,
    code: int,
    note: str | None = None,
    error: str | None = None,
    err: bool = True,
) -> None:
    """A sentence for a person; with --json, also the one JSON document on stdout."""
    if as_json:
        from .render import message_document, print_json

        print(text, file=sys.stderr)
        print_json(message_document(note=note, error=error, code=code))
    else:
        print(text, file=sys.stderr if err else sys.stdout)
