"""`bulk-sources validate` and `bulk-sources template` (placeholder until the catalog lands)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "validate", help="check every row of a catalog and say what is wrong, row by row"
    )
    parser.add_argument("catalog", help="CSV or Parquet file, one row per assignment source")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
