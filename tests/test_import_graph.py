"""The package imports downward only, and nobody imports another package's private (underscore) names.

Layering (README "Layout"): the kernel (numbers, activations, network, problem, candidate, arithmetic, linalg,
roundoff, certificate, symmetries, errors) <- constructions, verifiers <- search <- finder <- catalog <- claims <-
report, cli. Every import statement of every module counts, including lazy imports inside functions. ``search``,
``find`` and ``report`` may not exist yet (or ``report`` may still be one module); the test does not require them.
Run ``python tests/test_import_graph.py [package_dir]`` to print the subpackage graph (for the notes).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx

PACKAGE = "spurious"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

KERNEL = {"rationals", "activations", "network", "problem", "candidate", "arithmetic", "linalg", "roundoff",
          "certificate", "symmetries", "errors"}
RANK = {"kernel": 0, "constructions": 1, "verifiers": 1, "search": 2, "finder": 3, "catalog": 4, "claims": 5,
        "report": 6, "cli": 7, PACKAGE: 8}  # `spurious` itself: the public facade (lazy re-exports of everything)


def unit(module: str) -> str:
    """The layer unit of a dotted module name: 'kernel', a subpackage name, or the package facade."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return ""
    if len(parts) == 1:
        return PACKAGE
    top = parts[1]
    if top == "__main__":
        return "cli"
    return "kernel" if top in KERNEL else top


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(root: Path = ROOT):
    """(importer module, imported module, imported names, line) for every import statement under ``root``."""
    for path in sorted(root.rglob("*.py")):
        mod = _module_name(path, root)
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield mod, alias.name, (), node.lineno
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = tuple(a.name for a in node.names)
                if node.module is None:  # from . import x: x may be a submodule
                    for n in names:
                        yield mod, f"{target}.{n}", (), node.lineno
                else:
                    yield mod, target, names, node.lineno


def graph(root: Path = ROOT) -> nx.DiGraph:
    """Subpackage import graph; each edge keeps its import sites."""
    g = nx.DiGraph()
    for src, dst, _, line in imports(root):
        a, b = unit(src), unit(dst)
        if not a or not b or a == b:
            continue
        g.add_edge(a, b)
        g.edges[a, b].setdefault("sites", []).append(f"{src}:{line} -> {dst}")
    return g


def upward(u: str, v: str) -> bool:
    """Does the edge u -> v (u imports v) run against the layering?"""
    if u not in RANK or v not in RANK:
        return True  # an unknown subpackage must be placed in the layering first
    return RANK[v] >= RANK[u]  # same rank: siblings (constructions <-> verifiers) do not import each other


def private_imports(root: Path = ROOT):
    """Imports of an underscore name (module or attribute) that belongs to another subpackage."""
    bad = []
    for src, dst, names, line in imports(root):
        if not dst.startswith(PACKAGE):
            continue
        if src.split(".")[:2] == dst.split(".")[:2]:  # inside one subpackage (or one kernel module)
            continue
        private_module = any(p.startswith("_") and not p.startswith("__") for p in dst.split(".")[1:])
        private_names = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if private_module or private_names:
            bad.append(f"{src}:{line} imports {dst} {', '.join(private_names)}".rstrip())
    return bad


def test_no_upward_edges():
    g = graph()
    bad = [site for u, v, data in g.edges(data=True) if upward(u, v) for site in data["sites"]]
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_no_private_imports_across_packages():
    bad = private_imports()
    assert not bad, "\n".join(bad)


def test_the_checker_sees_violations(tmp_path):
    """The walker itself: a planted upward edge and a planted private import are found."""
    pkg = tmp_path / PACKAGE
    (pkg / "constructions").mkdir(parents=True)
    (pkg / "verifiers").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "linalg.py").write_text("def f():\n    from .verifiers import verify\n")
    (pkg / "constructions" / "__init__.py").write_text("from ..verifiers.exact import _dec\n")
    (pkg / "verifiers" / "__init__.py").write_text("from .. import linalg\nfrom ..linalg import rank\n")
    g = graph(pkg)
    assert {(u, v) for u, v in g.edges if upward(u, v)} == {("kernel", "verifiers"), ("constructions", "verifiers")}
    assert not upward("verifiers", "kernel")
    assert len(private_imports(pkg)) == 1


def render(g: nx.DiGraph) -> str:
    lines = []
    for u in sorted(g, key=lambda n: (RANK.get(n, 99), n)):
        outs = sorted(g.successors(u), key=lambda n: (RANK.get(n, 99), n))
        if outs:
            marks = [f"{v}{' (UPWARD)' if upward(u, v) else ''}" for v in outs]
            lines.append(f"- {u} -> {', '.join(marks)}")
    return "\n".join(lines)


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    g = graph(root)
    print(render(g))
    print()
    for u, v, data in sorted(g.edges(data=True)):
        if upward(u, v):
            for site in data["sites"]:
                print(f"  upward: {site}")
    for site in private_imports(root):
        print(f"  private: {site}")
