"""Options about what validation checks, shared by `validate` and the commands that submit."""

from __future__ import annotations

import argparse


def _dialect(text: str) -> str:
    # sqlglot is imported only when the option is given, never for `--help`.
    from ..catalog.sql.parse import check_dialect

    try:
        return check_dialect(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_check_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dialect",
        type=_dialect,
        metavar="NAME",
        help="the SQL dialect of the catalog's queries (snowflake, bigquery, databricks, "
        "redshift, athena, trino, postgres, ...): names are compared as it folds them; "
        "default: a dialect-neutral check that reports only what every dialect rejects",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="make every warning an error: a warned row is invalid (not sent) and a column "
        "that is not a field stops a submit",
    )
    parser.add_argument(
        "--ignore-column",
        action="append",
        default=[],
        metavar="NAME",
        help="column NAME is meant to be left out: no warning, and a name that is almost a "
        "field (e.g. groupNameColum) no longer stops a submit; may repeat",
    )
