"""`bulk-sources validate` (check a catalog row by row) and `bulk-sources template`.

The same idea as bulk_sources/validate.py one layer up: this parses and renders, that one
checks.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CatalogError
from ..run.record.csvsafe import neutralise
from .checks import add_check_options
from .options import add_key_options

if TYPE_CHECKING:
    from ..api.apikey import ApiKey
    from ..catalog.validation import Finding, ValidationReport

# The catalog machinery is imported when a command runs, so `--help` stays cheap.

MAX_ERRORS = 20
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
    parser.add_argument(
        "catalog", type=Path, help="CSV, Parquet or Excel (.xlsx) file, one row per source"
    )
    parser.add_argument(
        "--encoding", help="text encoding of a CSV catalog (default: UTF-8, with or without BOM)"
    )
    parser.add_argument(
        "--report", type=Path, metavar="FILE", help="also write the problems found as CSV here"
    )
    parser.add_argument(
        "--sheet",
        metavar="NAME",
        help="the sheet of an .xlsx workbook to read, hidden or not (default: the first "
        "visible sheet with the catalog header)",
    )
    parser.add_argument(
        "--max-errors",
        type=_count,
        default=MAX_ERRORS,
        metavar="N",
        help=f"list at most N problems one by one; past that, group them by kind with counts "
        f"and write the full list to a file (default {MAX_ERRORS})",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout instead of text"
    )
    add_check_options(parser)
    parser.add_argument(
        "--base-url",
        default=None,
        help="with a key at hand: the Console API to read the project's unit ID types from "
        "(default $STATSIG_BASE_URL if set, else https://statsigapi.net)",
    )
    add_key_options(parser)
    parser.set_defaults(func=run)

    template = subparsers.add_parser(
        "template",
        help="print a catalog header and two example rows to start from",
        description="Print a CSV header and two example rows, one per idTypeMapping form: "
        "save it as a .csv catalog, or open it in a spreadsheet and save it as .xlsx.",
    )
    template.add_argument(
        "--all", action="store_true", help="every column the API takes, not just the usual ones"
    )
    template.set_defaults(func=run_template)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give 0 or more")
    return value


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary(report: ValidationReport) -> str:
    return (
        f"{_plural(report.total, 'row')}: {report.valid_count} valid, "
        f"{len(report.invalid)} invalid, {_plural(len(report.duplicates), 'duplicate')}"
    )


def write_report(report: ValidationReport, path: Path) -> None:
    from ..catalog.problems import warning_findings
    from ..catalog.validation import findings
    from ..fileio import atomic_write

    try:
        with atomic_write(path) as f:
            writer = csv.writer(f)
            writer.writerow(["row", "name", "status", "field", "reason"])
            for problem in report.column_errors:
                writer.writerow(["header", "", "invalid", "header", neutralise(problem)])
            for item in [*findings(report), *warning_findings(report)]:
                cells = [item.name or "", item.status, item.field, item.reason]
                writer.writerow([item.row, *(neutralise(c) for c in cells)])
    except OSError as exc:
        raise CatalogError(
            f"can't write the report {path} ({exc.strerror}); choose a writable path"
        ) from None


def _grouped(items: list[Finding], limit: int) -> list[str]:
    from ..catalog.problems import EXAMPLES, group

    groups = group(items, EXAMPLES)
    shown = max(1, min(EXAMPLES, limit // max(1, len(groups))))
    lines: list[str] = []
    for g in groups:
        what = {"invalid": "rows", "duplicate": "duplicates", "warning": "warnings"}[g.status]
        field_text = "" if g.status == "duplicate" else f"{g.field}: "
        lines.append(f"{g.count} {what}: {field_text}{g.kind}")
        lines.extend(f"  {item}" for item in g.examples[:shown])
        if g.count > shown:
            lines.append(f"  ... and {g.count - shown} more")
    return lines


def run(args: argparse.Namespace) -> int:
    from ..catalog.columns import unknown_columns_text
    from ..catalog.problems import document, warning_findings
    from ..catalog.reader import open_catalog
    from ..catalog.validation import findings, validate_catalog

    catalog = open_catalog(args.catalog, args.encoding, sheet=args.sheet)
    ignored = tuple(args.ignore_column)
    key = _key_at_hand(args)
    report = validate_catalog(
        catalog, dialect=args.dialect, strict=args.strict, ignore_columns=ignored, keep_valid=True
    )
    units_note = _check_unit_types(report, args, key)
    if units_note:
        report.notes.append(units_note)  # said with the other notes (stderr, or --json)
    code = 1 if report.invalid or report.column_errors else 0
    if args.json:
        if args.report is not None:
            write_report(report, args.report)
        doc = document(report, str(catalog.path))
        doc["unit_types"] = {"checked": key is not None and units_note is None, "note": units_note}
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return code
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    warning = unknown_columns_text(catalog.column_map, ignored)
    if warning:
        print(warning, file=sys.stderr)
    for problem in report.column_errors:
        print(f"header: {problem} (submit refuses this catalog, exit 1)")
    items = [*findings(report), *warning_findings(report)]
    long = len(items) > args.max_errors
    lines = _grouped(items, args.max_errors) if long else [str(i) for i in items]
    for line in lines:
        print(line)
    print(f"{catalog.path}: {summary(report)}")
    if args.report is not None:
        write_report(report, args.report)
        what = f"the full list of {len(items)} problems" if long else "report"
        print(f"{what} written to {args.report}")
    elif long:
        # Only where asked: a file appearing in the working folder unasked surprises.
        print(f"{len(items)} problems in all; --report FILE writes the full list as CSV")
    return code


def _key_at_hand(args: argparse.Namespace) -> ApiKey | None:
    """The key, if the user gave one (a named file that can't be read is an error)."""
    import os

    from ..api.apikey import ENV_VAR, load_api_key

    if args.api_key_file is None and not os.environ.get(ENV_VAR, "").strip():
        return None
    return load_api_key(args.api_key_file)


# validate is a quick look: two tries, not a submit's patience, before "not checked".
VALIDATE_ATTEMPTS = 2
VALIDATE_TIMEOUT = 10.0


def _check_unit_types(
    report: ValidationReport, args: argparse.Namespace, key: ApiKey | None
) -> str | None:
    from ..run.dryrun import check_catalog_unit_types
    from ..run.settings import SubmitSettings
    from .options import base_url_from

    why = "no API key (set STATSIG_API_KEY or --api-key-file to check them)"
    if key is None:
        return check_catalog_unit_types(report, SubmitSettings(), None, why)
    settings = SubmitSettings(
        base_url=base_url_from(args), max_attempts=VALIDATE_ATTEMPTS, timeout=VALIDATE_TIMEOUT
    )
    return check_catalog_unit_types(report, settings, key)


TEMPLATE_ALL_ROW = {
    "isReadOnly": "false",
    "owner.ownerID": "",
    "owner.ownerType": "",
    "owner.ownerName": "",
    "owner.ownerEmail": "analytics@example.com",
    "team": "",
    "teamID": "",
    "scheduledReloadHour": "6",
    "dryRun": "",
}


def template_all_header() -> list[str]:
    """Every column the API takes, owner as its four owner.* columns."""
    from ..catalog.columns import OPTIONAL_FIELDS, REQUIRED_FIELDS

    header = [*TEMPLATE_HEADER[:6], "groupNameColumn", *TEMPLATE_HEADER[6:]]
    owner = [f"owner.{p}" for p in ("ownerID", "ownerType", "ownerName", "ownerEmail")]
    rest = [f for f in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS) if f not in header and f != "owner"]
    return [*header, *rest[:1], *owner, *rest[1:]]


def run_template(args: argparse.Namespace) -> int:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if not args.all:
        writer.writerow(TEMPLATE_HEADER)
        writer.writerows(TEMPLATE_ROWS)
        return 0
    header = template_all_header()
    writer.writerow(header)
    for row in TEMPLATE_ROWS:
        known = dict(zip(TEMPLATE_HEADER, row, strict=True))
        writer.writerow([known.get(c, TEMPLATE_ALL_ROW.get(c, "")) for c in header])
    return 0
