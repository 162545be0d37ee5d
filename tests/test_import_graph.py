"""The import graph reads in one direction: no cycles, and no arrow from a lower layer up.

Between units (a top-level package, or a part of run/) every import is counted, the ones
inside functions (lazy, to keep `--help` light) and under TYPE_CHECKING too: a lazy import
still couples the two. Inside one unit only the imports that run at import time are walked
for cycles: a lazy or TYPE_CHECKING import is how a package's own modules refer back
(catalog's reader and writer, the client and its listing, the limiter and its slot).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bulk_sources"

# Lowest first. A module may import its own unit and any unit of a lower layer.
LAYERS: list[set[str]] = [
    {"version", "errors", "models"},
    {"fileio"},
    {"limits"},
    {"api"},
    # catalog checks that a name can travel in the API's item path (api.names).
    {"catalog"},
    {"fakeapi"},
    {"run"},
    {"frames", "validate", "importers"},
    {"cli"},
    {"", "__main__"},
]
# Inside run/: shared vocabulary, then what is kept, sent, planned, and the routines over them.
RUN_LAYERS: list[set[str]] = [
    {"halt"},
    {"settings", "actions"},
    {"record", "validating"},
    {"send"},
    {"plan"},
    {"resources"},
    {"routine"},
    {"submission", "rollback"},
    {"dryrun", "export", "preflight"},
    {"entry", "applyplan"},
    {"demo"},
]
# The stand-in server knows the wire protocol, the models and the windows, nothing of a run.
FAKEAPI_MAY_IMPORT = {"fakeapi", "api", "limits", "models", "errors", "version", "fileio"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def eager_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """The statements that run when the module is imported (not function bodies, not
    TYPE_CHECKING blocks)."""
    found: list[ast.AST] = []
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
            found.extend(eager_nodes(statement.orelse))
            continue
        found.append(statement)
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(statement, field, None)
            if isinstance(inner, list):
                found.extend(eager_nodes([s for s in inner if isinstance(s, ast.stmt)]))
            if field == "handlers" and isinstance(inner, list):
                for handler in inner:
                    found.extend(eager_nodes(handler.body))
    return found


def imports_of(name: str, path: Path, known: set[str], eager: bool = False) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in eager_nodes(tree.body) if eager else ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            # `from . import x` imports the module x when there is one.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    # A module's own packages are loaded before it anyway: `from . import x` is not an arrow up.
    return {t for t in found if t in known and t != name and not name.startswith(f"{t}.")}


def graph(eager: bool = False) -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known, eager) for name, path in found.items()}


def unit_of(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:3] if parts[1:2] == ["run"] else parts[:2])


def unit_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for source, targets in graph().items():
        here = unit_of(source)
        edges.setdefault(here, set()).update(t for t in map(unit_of, targets) if t != here)
    return edges


def unit(name: str, depth: int) -> str:
    parts = name.split(".")[1:]
    return parts[depth] if len(parts) > depth else ""


def rank(layers: list[set[str]], part: str) -> int:
    for index, layer in enumerate(layers):
        if part in layer:
            return index
    raise AssertionError(f"{part!r} has no layer: add it to the test's layer list")


def back_arrows() -> list[str]:
    wrong = []
    for source, targets in graph().items():
        for target in targets:
            here, there = unit(source, 0), unit(target, 0)
            if here == "fakeapi" and there not in FAKEAPI_MAY_IMPORT:
                wrong.append(f"{source} -> {target}")
            if here != there:
                if rank(LAYERS, here) <= rank(LAYERS, there):
                    wrong.append(f"{source} -> {target}")
            elif here == "run" and source != "bulk_sources.run":
                inner, other = unit(source, 1), unit(target, 1)
                if inner != other and rank(RUN_LAYERS, inner) <= rank(RUN_LAYERS, other):
                    wrong.append(f"{source} -> {target}")
    return sorted(wrong)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_walk_finds_the_packages_imports() -> None:
    # Guards the walk itself: a parser that found nothing would pass the checks below.
    edges = graph()
    assert "bulk_sources.run.plan.rows" in edges["bulk_sources.run.dryrun"]
    assert "bulk_sources.api.client" in edges["bulk_sources.run.resources"]
    assert len(edges) > 80


def test_no_import_cycles_between_units() -> None:
    assert cycles(unit_graph()) == []


def test_no_import_cycles_at_import_time() -> None:
    assert cycles(graph(eager=True)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_back_arrows() -> None:
    assert back_arrows() == []


@pytest.mark.parametrize("layers", [LAYERS, RUN_LAYERS])
def test_every_unit_has_a_layer(layers: list[set[str]]) -> None:
    depth = 0 if layers is LAYERS else 1
    names = [n for n in modules() if depth == 0 or n.startswith("bulk_sources.run.")]
    for name in names:
        rank(layers, unit(name, depth))
