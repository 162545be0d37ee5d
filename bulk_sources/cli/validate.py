"""`bulk-sources validate` (check a catalog row by row) and `bulk-sources template`."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CatalogError
from ..run.csvsafe import neutralise

if TYPE_CHECKING:
    from ..catalog.validation import ValidationReport

TEMPLATE_HEADER = (
    "name",
    "description",
    "sql",
    "timestampColumn",
    "experimentIDColumn",
    "groupIDColumn",
    "idTypeMapping",
    "tags",
    "isVerified",
)
TEMPLATE_ROWS = (
    (
        "exposures_checkout_v2",
        "Checkout exposures, deduplicated per user",
        "SELECT user_id, stable_id, ts, experiment_name, group_id FROM analytics.exposures",
        "ts",
        "experiment_name",
        "group_id",
        "userID=user_id;stableID=stable_id",
        "checkout;growth",
        "true",
    ),
    (
        "assignments_search_ranking",
        "",
        "SELECT company_id, assigned_at, exp_id, variant FROM warehouse.search_assignments",
        "assigned_at",
        "exp_id",
        "variant",
        '[{"statsigUnitID": "companyID", "column": "company_id"}]',
        '["search"]',
        "",
    ),
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "validate",
        help="check every row of a catalog and say what is wrong, row by row",
        description="Check every row of a catalog without sending anything. Exit 0 when "
        "every row is valid, 1 when any row is invalid, 2 when the file can't be used.",
    )
    parser.add_argument("catalog", type=Path, help="CSV or Parquet file, one row per source")
    parser.add_argument(
        "--encoding", help="text encoding of a CSV catalog (default: UTF-8, with or without BOM)"
    )
    parser.add_argument(
        "--report", type=Path, metavar="FILE", help="also write the problems found as CSV here"
    )
    parser.set_defaults(func=run)

    template = subparsers.add_parser(
        "template",
        help="print a catalog header and two example rows to start from",
        description="Print a CSV header and two example rows, one per idTypeMapping form.",
    )
    template.set_defaults(func=run_template)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary(report: ValidationReport) -> str:
    return (
        f"{_plural(report.total, 'row')}: {report.valid_count} valid, "
        f"{len(report.invalid)} invalid, {_plural(len(report.duplicates), 'duplicate')}"
    )


def write_report(report: ValidationReport, path: Path) -> None:
    from ..catalog.validation import findings

    try:
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["row", "name", "status", "field", "reason"])
            for item in findings(report):
                cells = [item.name or "", item.status, item.field, item.reason]
                writer.writerow([item.row, *(neutralise(c) for c in cells)])
    except OSError as exc:
        raise CatalogError(
            f"can't write the report {path} ({exc.strerror}); choose a writable path"
        ) from None


def run(args: argparse.Namespace) -> int:
    from ..catalog.reader import open_catalog, unknown_columns_warning
    from ..catalog.validation import findings, validate_catalog

    catalog = open_catalog(args.catalog, args.encoding)
    warning = unknown_columns_warning(catalog)
    if warning:
        print(warning, file=sys.stderr)
    report = validate_catalog(catalog)
    for item in findings(report):
        print(item)
    print(f"{catalog.path}: {summary(report)}")
    if args.report is not None:
        write_report(report, args.report)
        print(f"report written to {args.report}")
    return 1 if report.invalid else 0


def run_template(args: argparse.Namespace) -> int:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(TEMPLATE_HEADER)
    writer.writerows(TEMPLATE_ROWS)
    return 0
