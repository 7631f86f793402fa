"""The folders show the architecture: imports go one way and never in a circle.

``core`` is pure and imports only ``core``; ``engine`` imports ``core``; connectors import
``core`` and ``engine``; ``evidence`` imports ``core`` and ``engine``; only ``cli`` (the
composition root) may import everything. Every import counts, also those inside functions
or under ``TYPE_CHECKING``: a cycle hidden there is still a cycle for the reader.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "icpsync"

#: which layer each top-level part of ``icpsync`` may import.
ALLOWED = {
    "core": {"core"},
    "engine": {"core", "engine"},
    "connectors": {"core", "engine", "connectors"},
    "evidence": {"core", "engine", "evidence"},
    "cli": {"core", "engine", "connectors", "evidence", "cli"},
}


def _modules() -> dict[str, Path]:
    found = {}
    # connectors/ is linked into the package in a checkout: follow the link.
    paths = [Path(d) / f for d, _, files in os.walk(PACKAGE, followlinks=True) for f in files]
    for path in sorted(p for p in paths if p.suffix == ".py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = ["icpsync", *rel.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every icpsync module ``name`` imports, resolved to a module of the package."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` imports the submodule; ``from mod import name`` the module.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target.startswith("icpsync") and target != name:
                yield target


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def test_the_package_has_its_layers() -> None:
    assert {_layer(m) for m in MODULES} >= set(ALLOWED)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_one_way(module: str) -> None:
    layer = _layer(module)
    if layer is None:
        return
    wrong = sorted(t for t in GRAPH[module] if _layer(t) and _layer(t) not in ALLOWED[layer])
    assert not wrong, f"{module} ({layer}) imports {wrong}"


def test_no_import_cycles() -> None:
    # Tarjan's strongly connected components over the whole package.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            # A package importing its own submodules is not a cycle unless they import it back.
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


#: what the equivalence tests may import from icpsync: entry points that outlive a rewrite
#: of the internals (the generator, make_corpus.py, runs only on the release's code).
EQUIVALENCE_IMPORTS = {
    "icpsync.cli",
    "icpsync.core.model",
    "icpsync.core.normalise",
    "icpsync.core.profile",
    "icpsync.core.scoring",
    "icpsync.engine.registry",
    "icpsync.engine.settings",
    "icpsync.engine.state",
    "icpsync.engine.sync",
    "icpsync.connectors.salesforce.sandbox",
    "icpsync.connectors.hubspot.sandbox",
}


def test_the_equivalence_tests_use_only_entry_points() -> None:
    folder = ROOT / "tests" / "equivalence"
    seen = set()
    for path in sorted(folder.glob("*.py")):
        if path.name == "make_corpus.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("icpsync"):
                    assert name in EQUIVALENCE_IMPORTS, f"{path.name} imports {name}"
                    seen.add(name)
    assert {"icpsync.cli", "icpsync.core.normalise", "icpsync.core.scoring"} <= seen


def test_a_planted_cycle_is_found() -> None:
    # The checker itself can fail: a two-module loop is a component of size two.
    saved = dict(GRAPH)
    try:
        GRAPH["icpsync.core.model"] = {*GRAPH["icpsync.core.model"], "icpsync.core.profile"}
        with pytest.raises(AssertionError, match="import cycles"):
            test_no_import_cycles()
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
