"""`bulk-sources import growthbook|datadog FILE... --output CATALOG`: a catalog from another
platform's definitions. Reads files only; sends nothing."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .exits import EXIT_OK, EXIT_ROWS_FAILED


def register(subparsers: Any) -> None:
    cmd = subparsers.add_parser(
        "import",
        help="write a catalog from GrowthBook or Datadog definitions (sends nothing)",
        description="Reads GrowthBook's config.yml or REST data sources, or Datadog's exposure "
        "SQL models, and writes one assignment source per query as a catalog (CSV, Parquet "
        "or .xlsx by the --output suffix), with a summary of what was carried, translated "
        "and left behind. Rows a person must edit carry 'EDIT ME:' in _import_note and stay "
        "invalid until edited. Exit 1 when some row needs an edit. See docs/import.md.",
    )
    cmd.add_argument("platform", choices=("growthbook", "datadog"), help="where the files are from")
    cmd.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files to read")
    cmd.add_argument(
        "--output", type=Path, required=True, metavar="CATALOG", help="the catalog to write"
    )
    cmd.add_argument(
        "--id-map",
        action="append",
        metavar="FROM=TO,...",
        help="their id type (GrowthBook id type; Datadog subject_type_id or column) = Statsig "
        "unit ID type, e.g. user_id=userID,anonymous_id=stableID; may repeat",
    )
    cmd.add_argument("--datasource", metavar="ID", help="GrowthBook: import only this data source")
    cmd.add_argument(
        "--prefix",
        nargs="?",
        const="{datasource} ",
        metavar="TEXT",
        help="put TEXT before every name ({datasource} stands for the GrowthBook data source "
        "id); alone, adds the data source id",
    )
    cmd.add_argument(
        "--tag", help="tag every source (default imported-from-growthbook / imported-from-datadog)"
    )
    cmd.add_argument(
        "--include-archived", action="store_true", help="Datadog: import archived models too"
    )
    cmd.add_argument(
        "--dialect",
        metavar="NAME",
        help="the SQL dialect (sqlglot's name: snowflake, bigquery, ...) written in every "
        "row's _dialect cell; default: GrowthBook's data source type (Datadog names none)",
    )
    cmd.add_argument("--json", action="store_true", help="print the summary as one JSON document")
    cmd.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..importers import DATADOG_TAG, GROWTHBOOK_TAG, read_datadog, read_growthbook, write_import
    from ..importers.write import check_output

    check_output(args.output, args.files)
    if args.platform == "growthbook":
        if args.include_archived:
            raise UsageError("--include-archived is for datadog; GrowthBook has no archive")
        result = read_growthbook(
            args.files,
            args.id_map,
            datasource=args.datasource,
            prefix=args.prefix,
            tag=args.tag or GROWTHBOOK_TAG,
            dialect=args.dialect,
        )
    else:
        if args.datasource is not None:
            raise UsageError("--datasource is for growthbook; Datadog models have none")
        result = read_datadog(
            args.files,
            args.id_map,
            include_archived=args.include_archived,
            prefix=args.prefix,
            tag=args.tag or DATADOG_TAG,
            dialect=args.dialect,
        )
    write_import(result, args.output)
    if args.json:
        from .render import print_json

        print_json({**result.summary(), "output": str(args.output)})
    else:
        print(result.summary_text())
        print(f"wrote {args.output}; next: bulk-sources validate {args.output}")
    return EXIT_ROWS_FAILED if any(r.edit for r in result.rows) else EXIT_OK
