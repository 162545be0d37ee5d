"""The package's shape, checked so a reviewer can rerun it: module names say one thing each,
every sub-package says what it owns, and no module or function outgrows a reading."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "bulk_sources"


def library_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_two_modules_share_a_name_unless_their_docstrings_pair_them() -> None:
    by_name: dict[str, list[Path]] = defaultdict(list)
    for path in library_modules():
        if path.name != "__init__.py":
            by_name[path.name].append(path)
    unpaired = []
    for paths in by_name.values():
        for path in paths:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            for other in paths:
                where = other.relative_to(PACKAGE).as_posix()
                if other != path and not (where in doc and "same idea" in doc):
                    unpaired.append(f"{path.relative_to(PACKAGE)} does not name {where}")
    assert len(by_name) > 50  # the walk found the modules
    assert unpaired == []


def test_every_sub_package_says_in_one_line_what_it_owns() -> None:
    missing = []
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue  # the top package's docstring is the public API's
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        first = doc.split("\n\n", 1)[0]
        if not first or "\n" in first:
            missing.append(init.parent.relative_to(PACKAGE).as_posix())
    assert missing == []


MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60
# An argparse table is one long list of options, read as a table, not as a walk.
ARGPARSE_TABLE_CALLS = 5


def is_argparse_table(node: ast.AST) -> bool:
    calls = [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in ("add_argument", "add_parser", "add_argument_group")
    ]
    return len(calls) >= ARGPARSE_TABLE_CALLS


def test_no_library_module_is_over_350_lines() -> None:
    over = {}
    for path in library_modules():
        where = path.relative_to(PACKAGE).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            over[where] = lines
    assert over == {}


def test_no_function_is_over_60_lines_but_argparse_tables() -> None:
    over = {}
    tables = 0
    for path in library_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines <= MAX_FUNCTION_LINES:
                continue
            if is_argparse_table(node):
                tables += 1
                continue
            over[f"{path.relative_to(PACKAGE).as_posix()}:{node.name}"] = lines
    assert tables >= 1  # the walk saw the CLI's option tables
    assert over == {}
