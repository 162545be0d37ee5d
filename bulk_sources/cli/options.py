"""Options shared by submit, resume, retry and demo, and how their outcome is printed."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..api.apikey import ApiKey, load_api_key
from ..api.protocol import BASE_URL_ENV, DEFAULT_BASE_URL, check_base_url, default_base_url
from ..errors import UsageError
from ..limits.windows import DEFAULT_WINDOWS, Window, parse_duration, parse_window
from ..run.halt import parse_halt_after
from ..run.settings import (
    SubmitSettings,
    count_at_least_one,
    seconds_above_zero,
    seconds_at_least_zero,
)
from .checks import add_check_options


def _window(text: str) -> Window:
    try:
        return parse_window(text)
    except UsageError as exc:  # argparse reports ArgumentTypeError as a usage error, exit 2
        raise argparse.ArgumentTypeError(str(exc)) from None


def _checked(
    convert: Callable[[str], Any], rule: Callable[[object], str | None]
) -> Callable[[str], Any]:
    """An argparse `type=`: the value converted, then held to the same rule SubmitSettings
    applies, so a bad value is exit 2 before any run folder exists."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            kind = "a whole number" if convert is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        problem = rule(value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


class _NoKeyOnCommandLine(argparse.Action):
    """`--api-key VALUE`: refused without repeating VALUE (it is in shell history already)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        parser.error(
            "there is no --api-key: a key on the command line ends up in shell history and "
            "in `ps` (the value given is not repeated here); export STATSIG_API_KEY or use "
            "--api-key-file FILE"
        )


def add_key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-key-file",
        type=Path,
        metavar="FILE",
        help="read the Console API key from FILE (default: $STATSIG_API_KEY; "
        "there is deliberately no --api-key, which would end up in shell history)",
    )
    parser.add_argument(
        "--api-key",
        nargs="?",
        action=_NoKeyOnCommandLine,
        metavar="VALUE",
        help="refused, without repeating VALUE: use $STATSIG_API_KEY or --api-key-file",
    )


def add_force_other_key(parser: argparse.ArgumentParser) -> None:
    from ..run.record.identity import FORCE_HELP

    parser.add_argument("--force-other-key", action="store_true", help=FORCE_HELP)


def add_submit_options(parser: argparse.ArgumentParser) -> None:
    d = SubmitSettings(base_url=DEFAULT_BASE_URL)  # defaults shown in --help, not $STATSIG_BASE_URL
    parser.add_argument(
        "--base-url",
        default=None,
        help=f"Console API base URL (default ${BASE_URL_ENV} if set, else {DEFAULT_BASE_URL}; "
        "http only to loopback)",
    )
    add_key_options(parser)
    parser.add_argument(
        "--rate-limit",
        action="append",
        type=_window,
        metavar="COUNT/PERIOD",
        help="a ceiling on the project's budget, repeatable; periods in ms, s, m, h (default: "
        f"{' and '.join(str(w) for w in DEFAULT_WINDOWS)}, the current page's quota; its "
        "burst protection is learned; a project on the earlier quota: --rate-limit 100/10s "
        "--rate-limit 900/15m). The tool learns lower limits and burst windows from 429s",
    )
    parser.add_argument(
        "--concurrency",
        type=_checked(int, count_at_least_one),
        default=d.concurrency,
        help=f"rows in progress at once (default {d.concurrency}); the rate limit is separate",
    )
    parser.add_argument(
        "--max-attempts",
        type=_checked(int, count_at_least_one),
        default=d.max_attempts,
        help=f"tries per row for 5xx, timeouts and resets (default {d.max_attempts}; "
        "429s don't count)",
    )
    parser.add_argument(
        "--timeout",
        type=_checked(float, seconds_above_zero),
        default=d.timeout,
        help=f"seconds to wait for one answer (default {d.timeout:g})",
    )
    parser.add_argument(
        "--on-exists",
        choices=["skip", "update", "fail"],
        default=d.on_exists,
        help="what to do with a row whose name already exists: skip it (report 'exists'), "
        "update it with a full update, or report it failed (default skip)",
    )
    parser.add_argument(
        "--respect-review-settings",
        action="store_true",
        help="send x-respect-review-settings so the project's review rules apply",
    )
    parser.add_argument(
        "--margin",
        type=_checked(float, seconds_at_least_zero),
        default=d.margin,
        help="seconds added to every window beyond the 100 ppm drift pad each window always "
        f"has (default {d.margin:g})",
    )
    parser.add_argument(
        "--max-wait",
        type=_duration,
        default=d.max_wait,
        metavar="DURATION",
        help="stop (exit 3, resume later) after this long with no request accepted: the "
        "project's budget is being used by someone else (default 1h; e.g. 30m, 2h)",
    )
    parser.add_argument(
        "--project",
        metavar="NAME",
        help="share the rate budget of project NAME with every run that names it, whatever "
        "the key (the API's quota is per project; default: one budget per key)",
    )
    parser.add_argument(
        "--spacing",
        type=_checked(float, seconds_above_zero),
        default=None,
        metavar="SECONDS",
        help="at least this gap between requests (default: none; a window's budget goes at once)",
    )
    parser.add_argument(
        "--encoding", help="text encoding of a CSV catalog (default UTF-8, a BOM is fine)"
    )
    parser.add_argument(
        "--sheet",
        metavar="NAME",
        help="the sheet of an .xlsx catalog, hidden or not (default: the first visible sheet "
        "with the catalog header)",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=d.report_dir,
        help=f"where run folders go (default {d.report_dir}/)",
    )
    parser.add_argument(
        "--halt-after",
        type=_halt_after,
        default=None,
        metavar="N|PCT%",
        help="stop the run (exit 3, resumable) once N rows failed for good, or PCT%% of the "
        "rows settled so far (at least 10 settled), like GNU parallel's --halt soon,fail=; "
        "requests in flight still answer (default: never)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_check_options(parser)


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _halt_after(text: str) -> str:
    try:
        parse_halt_after(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--halt-after ")) from None
    return text.strip()


def settings_from(args: argparse.Namespace, **overrides: Any) -> SubmitSettings:
    values: dict[str, Any] = {
        "base_url": base_url_from(args),
        "windows": tuple(args.rate_limit) if args.rate_limit else DEFAULT_WINDOWS,
        "concurrency": args.concurrency,
        "max_attempts": args.max_attempts,
        "timeout": args.timeout,
        "on_exists": args.on_exists,
        "respect_review_settings": args.respect_review_settings,
        "margin": args.margin,
        "max_wait": args.max_wait,
        "project": args.project,
        "spacing": args.spacing,
        "encoding": args.encoding,
        "sheet": args.sheet,
        "report_dir": args.report_dir,
        "dialect": getattr(args, "dialect", None),
        "strict": getattr(args, "strict", False),
        "ignore_columns": tuple(getattr(args, "ignore_column", None) or ()),
        "halt_after": getattr(args, "halt_after", None),
    }
    if getattr(args, "tag", None) is not None:
        values["tag"] = args.tag
    if getattr(args, "create_unit_types", False):
        values["create_unit_types"] = True
    values.update(overrides)
    return SubmitSettings(**values)


def base_url_from(args: argparse.Namespace, environ: dict[str, str] | None = None) -> str:
    """--base-url, else $STATSIG_BASE_URL, else the real API: a rehearsal against the
    stand-in is set once per shell instead of on every command."""
    return str(args.base_url or default_base_url(environ))


def base_url_note(args: argparse.Namespace) -> str | None:
    """A line for stderr when the URL came from the environment, so it is never a surprise."""
    if args.base_url is None and os.environ.get(BASE_URL_ENV):
        # Checked before it is shown: a URL holding a password is refused, never printed.
        return f"base URL {check_base_url(os.environ[BASE_URL_ENV])} (from ${BASE_URL_ENV})"
    return None


def key_from(args: argparse.Namespace) -> ApiKey:
    return load_api_key(args.api_key_file)
