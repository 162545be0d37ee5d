"""`bulk-sources fake-server`: run the Console API stand-in until Ctrl-C or SIGTERM.

Its first two stdout lines are `url: http://HOST:PORT` and `key: KEY` (flushed), for the
processes that start it and parse them; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..limits.windows import STAND_IN_WINDOWS, Window, parse_window

if TYPE_CHECKING:  # the stand-in needs aiohttp: imported when the command runs, not for --help
    from ..fakeapi import FakeApiConfig


def _window(text: str) -> Window:
    try:
        return parse_window(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _project(text: str) -> tuple[str, list[str]]:
    name, _, keys = text.partition("=")
    listed = [k.strip() for k in keys.split(",") if k.strip()]
    if not name.strip() or not listed:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=KEY[,KEY...]")
    return name.strip(), listed


def _project_window(text: str) -> tuple[str, Window]:
    name, _, window = text.partition("=")
    if not name.strip() or not window:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=COUNT/PERIOD, like shop=50/10s")
    return name.strip(), _window(window)


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate; give a number from 0 to 1")
    return rate


def _latency(text: str) -> tuple[float, float]:
    """`LO,HI` or `MS` in milliseconds -> seconds."""
    parts = text.split(",")
    try:
        lo, hi = (float(parts[0]), float(parts[-1])) if len(parts) <= 2 else (-1.0, -1.0)
    except ValueError:
        lo = hi = -1.0
    if lo < 0 or hi < lo:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a latency range; write LO,HI in milliseconds, like 20,400"
        )
    return lo / 1000.0, hi / 1000.0


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "fake-server",
        help="run a local stand-in for the Console API's assignment-source endpoints",
        description=(
            "Serve the assignment-source endpoints locally, as strict as the real API, with "
            "both rate-limit windows and optional faults. Prints 'url: ...' and 'key: ...' "
            "first; GET /__stats shows what it saw. Stop with Ctrl-C."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default loopback: 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    parser.add_argument(
        "--key",
        action="append",
        dest="keys",
        metavar="KEY",
        help="accept this Console key (repeatable; default: one generated console-fake-... key)",
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        dest="windows",
        type=_window,
        metavar="COUNT/PERIOD",
        help="a mutation window per project, shared by its keys, repeatable "
        f"(default: {' '.join(str(w) for w in STAND_IN_WINDOWS)}: the current page's quota "
        "and, as its burst protection, the earlier pages' 10 s window)",
    )
    parser.add_argument(
        "--project",
        action="append",
        dest="projects",
        type=_project,
        default=[],
        metavar="NAME=KEY[,KEY...]",
        help="these keys share project NAME's windows (repeatable; keys not named share one)",
    )
    parser.add_argument(
        "--project-rate-limit",
        action="append",
        dest="project_windows",
        type=_project_window,
        default=[],
        metavar="NAME=COUNT/PERIOD",
        help="project NAME has this window instead of the --rate-limit ones (repeatable)",
    )
    parser.add_argument(
        "--burst",
        type=_window,
        metavar="COUNT/PERIOD",
        help="burst protection: one more window every project has (default: none)",
    )
    parser.add_argument(
        "--retry-after",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="send Retry-After (whole seconds) with 429; the real API documents none "
        "(default: off)",
    )
    parser.add_argument(
        "--count-rejected",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let a 429'd attempt occupy the windows too, as the current page says "
        "(default: on; --no-count-rejected for the earlier behaviour)",
    )
    parser.add_argument(
        "--unit-type",
        action="append",
        dest="unit_types",
        default=[],
        metavar="NAME",
        help="every project also has unit ID type NAME (repeatable; userID and stableID always)",
    )
    parser.add_argument(
        "--strict-unit-types",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refuse a source that maps a unit ID type its project lacks, 400 with an errors "
        "list (default: on)",
    )
    faults = parser.add_argument_group("faults (rates from 0 to 1, per mutation)")
    faults.add_argument("--error-rate", type=_rate, default=0.0, help="answer 500")
    faults.add_argument(
        "--reset-rate", type=_rate, default=0.0, help="drop the connection, doing nothing"
    )
    faults.add_argument(
        "--create-then-drop-rate",
        type=_rate,
        default=0.0,
        help="do the mutation, then drop the connection instead of answering",
    )
    faults.add_argument(
        "--stall-rate",
        type=_rate,
        default=0.0,
        help="hold the request --stall-seconds, then do it anyway",
    )
    faults.add_argument(
        "--stall-seconds", type=float, default=30.0, help="length of a stall (default 30)"
    )
    faults.add_argument(
        "--latency",
        type=_latency,
        default=(0.0, 0.0),
        metavar="LO,HI",
        help="inbound delay per mutation, uniform between LO and HI milliseconds (e.g. 20,400)",
    )
    faults.add_argument(
        "--answer-latency",
        type=_latency,
        default=(0.0, 0.0),
        metavar="LO,HI",
        help="delay between counting a mutation and its answer leaving, uniform between LO "
        "and HI milliseconds (reorders the answers)",
    )
    faults.add_argument("--seed", type=int, help="seed of the fault pattern (repeatable runs)")
    odd = parser.add_argument_group("listing and answers that misbehave")
    odd.add_argument(
        "--listing-endless",
        action="store_true",
        help="the listing never ends: no totalItems, new sources and a next page forever",
    )
    odd.add_argument(
        "--listing-lag",
        type=float,
        default=0.0,
        metavar="S",
        help="sources younger than S seconds are not listed yet (a lagging index)",
    )
    odd.add_argument(
        "--listing-hide",
        action="append",
        default=[],
        metavar="NAME",
        help="never list source NAME though it exists (an offset listing skipping it); repeatable",
    )
    odd.add_argument(
        "--create-answer",
        choices=["full", "empty", "text", "name"],
        default="full",
        help="what a 201 to a create carries: the source (default), no body, text, or data "
        "holding only the name",
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="keep the sources and the recent rate-limit log in FILE across restarts",
    )
    parser.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> FakeApiConfig:
    from ..fakeapi import FakeApiConfig, FaultConfig, ListingFaults, generate_key

    if args.stall_seconds < 0:
        raise UsageError("--stall-seconds must be 0 or more")
    if not args.listing_lag >= 0:  # NaN too
        raise UsageError("--listing-lag must be a number of seconds, 0 or more")
    projects: dict[str, list[str]] = {}
    for name, keys in args.projects:
        projects.setdefault(name, []).extend(keys)
    project_windows: dict[str, list[Window]] = {}
    for name, window in args.project_windows:
        project_windows.setdefault(name, []).append(window)
    named = [key for keys in projects.values() for key in keys]
    return FakeApiConfig(
        keys=args.keys or named or [generate_key()],
        windows=args.windows or list(STAND_IN_WINDOWS),
        retry_after=args.retry_after,
        count_rejected=args.count_rejected,
        projects=projects,
        project_windows=project_windows,
        burst=args.burst,
        faults=FaultConfig(
            error_rate=args.error_rate,
            reset_rate=args.reset_rate,
            create_then_drop_rate=args.create_then_drop_rate,
            stall_rate=args.stall_rate,
            stall_seconds=args.stall_seconds,
            latency=args.latency,
            answer_latency=args.answer_latency,
            seed=args.seed,
        ),
        listing=ListingFaults(
            endless=args.listing_endless,
            lag=args.listing_lag,
            hidden=frozenset(args.listing_hide),
            create_answer=args.create_answer,
        ),
        state_file=args.state,
        unit_types=list(args.unit_types),
        strict_unit_types=args.strict_unit_types,
    )


async def serve(config: FakeApiConfig, host: str, port: int) -> None:
    from ..api.protocol import is_loopback
    from ..fakeapi import FakeApiServer

    try:
        server = FakeApiServer(config, host=host, port=port)
    except ValueError as exc:  # an unreadable state file
        raise UsageError(str(exc)) from None
    try:
        await server.start()
    except OSError as exc:
        raise UsageError(f"can't listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        # Handlers go in before the url line: whoever reads it may signal at once.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
                loop.add_signal_handler(sig, stop.set)
        print(f"url: {server.url}", flush=True)
        print(f"key: {server.key}", flush=True)
        windows = ", ".join(str(w) for w in config.windows_of(""))
        print(
            f"fake Console API at {server.url} (limits per project: {windows}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        if not is_loopback(host):
            print(
                f"warning: listening on {host}, not loopback: anyone who reaches it can use it",
                file=sys.stderr,
                flush=True,
            )
        await stop.wait()
    finally:
        await server.stop()


def run(args: argparse.Namespace) -> int:
    try:
        config = build_config(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # Ctrl-C is how this command is meant to end, so it is a clean exit, not an interruption.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, args.host, args.port))
    return 0
