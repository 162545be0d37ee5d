"""`bulk-sources export`: the project's assignment sources as a catalog (GETs only).

The same idea as run/export.py one layer up: this parses and renders, that one exports.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ..api.protocol import BASE_URL_ENV, DEFAULT_BASE_URL
from ..run.settings import SubmitSettings
from .options import add_key_options, base_url_from, base_url_note, key_from


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export",
        help="write every assignment source of the project as a catalog (sends no mutation)",
        description="Lists the project's assignment sources (GETs only) and writes them as a "
        "catalog submit accepts: CSV, Parquet when --output ends in .parquet, or an Excel "
        "workbook when it ends in .xlsx; CSV on stdout without --output. Use it as a "
        "backup, to copy sources to another project, or to start a catalog from what exists.",
    )
    d = SubmitSettings(base_url=DEFAULT_BASE_URL)  # defaults shown in --help, not $STATSIG_BASE_URL
    export.add_argument(
        "--output", type=Path, metavar="FILE", help="where to write (default: stdout, CSV)"
    )
    export.add_argument(
        "--base-url",
        help=f"Console API base URL (default ${BASE_URL_ENV} if set, else {DEFAULT_BASE_URL}; "
        "http only to loopback)",
    )
    add_key_options(export)
    export.add_argument(
        "--timeout", type=float, default=d.timeout, help="seconds to wait for one page"
    )
    export.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from ..run.export import catalog_rows, list_sources, write_csv, write_export

    settings = SubmitSettings(base_url=base_url_from(args), timeout=args.timeout)
    note = base_url_note(args)
    if note:
        print(note, file=sys.stderr)
    rows = catalog_rows(asyncio.run(list_sources(settings, key_from(args))))
    if args.output is None:
        write_csv(rows, sys.stdout)
        return 0
    from ..api.protocol import target_host

    write_export(rows, args.output)
    source = target_host(settings.base_url)
    print(f"exported {len(rows)} sources from {source} to {args.output}", file=sys.stderr)
    return 0
