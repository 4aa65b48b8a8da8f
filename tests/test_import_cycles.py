"""No import cycles between paramstat's modules: every module is parsed with ``ast``, module-level and
function-level imports of paramstat modules (absolute and relative) make the graph, and any strongly
connected component of more than one module (or a module importing itself) fails the test."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "paramstat"


def _modules(root: Path = PKG) -> dict[str, Path]:
    out = {}
    for p in root.rglob("*.py"):
        rel = p.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _resolve(name: str, mods: dict) -> str | None:
    """The longest prefix of ``name`` that is a module of the package."""
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path = PKG) -> dict[str, set[str]]:
    mods = _modules(root)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        base = mod.split(".") if is_pkg else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    pre = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                    stem = ".".join(pre + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                # `from . import x` / `from .pkg import mod`: the submodule when it is one, else the module
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in mods else stem for a in node.names]
            for t in targets:
                r = _resolve(t, mods)
                if r is not None and r != mod:
                    graph[mod].add(r)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _parents_of(mod: str) -> set[str]:
    parts = mod.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_import_cycles():
    graph = import_graph()
    # importing a submodule runs its packages' __init__ first; a package re-exporting its own
    # submodules is not a cycle, so edges from a package __init__ into its own subtree are dropped
    g = {m: {t for t in ts if m not in _parents_of(t)} for m, ts in graph.items()}
    found = cycles(g)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_cycle_detector_finds_a_planted_cycle(tmp_path):
    pkg = tmp_path / "paramstat"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("from . import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .c import g\n")
    (pkg / "sub" / "c.py").write_text("from paramstat.sub.a import x\n")
    (pkg / "d.py").write_text("from .sub import a\n")
    assert cycles(import_graph(pkg)) == [["paramstat.sub.a", "paramstat.sub.b", "paramstat.sub.c"]]
    (pkg / "sub" / "c.py").write_text("import numpy\n")
    assert cycles(import_graph(pkg)) == []


# The one-way flow of docs/ARCHITECTURE.md, by imports: a unit (root module or top-level package) may
# import units of a lower layer, or of its own layer only when it is the same unit.
LAYERS = [
    {"errors", "interrupt", "dtypes", "_callable"},
    {"atomic", "progress", "formats"},
    {"record", "stats"},                       # the tensor record; formulas (numpy/scipy only)
    {"store", "sources"},                      # HDF5 store; anything -> Checkpoint of records
    {"verdict", "compare", "init"},            # the three consumers of records, independent of each other
    {"lab"},                                   # measures inits (init) and their scans (verdict)
    {"report"},                                # tables, pages, plots of verdict / compare / lab results
    {"zoo"},                                   # many checkpoints: Dask + DuckDB over scan / compare / report
    {"commands"},
    {"cli"},
    {"__main__", "(package)"},
]


def _unit(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    rank = {u: i for i, layer in enumerate(LAYERS) for u in layer}
    bad = []
    for m, ts in sorted(graph.items()):
        um = _unit(m)
        for t in sorted(ts):
            ut = _unit(t)
            if ut == um:
                continue
            if um not in rank or ut not in rank:
                bad.append(f"{m} -> {t}: unit not placed in LAYERS")
            elif rank[ut] > rank[um] or (rank[ut] == rank[um] and ut != um):
                bad.append(f"{m} -> {t}")
    return bad


def test_imports_follow_the_one_way_flow():
    graph = import_graph()
    # `from .. import __version__` / the lazy API (`from .. import scan`) go through the package itself
    g = {m: {t for t in ts if t != "paramstat"} for m, ts in graph.items()}
    found = layer_violations(g)
    assert not found, "imports against the flow: " + "; ".join(found)


def test_layer_check_finds_a_planted_back_edge():
    g = {"paramstat.stats.fits": {"paramstat.dtypes"}, "paramstat.sources.roles": {"paramstat.stats.shapes"}}
    assert layer_violations(g) == []
    g["paramstat.stats.fits"].add("paramstat.verdict.rules")
    g["paramstat.compare.core"] = {"paramstat.init.classic"}
    assert layer_violations(g) == ["paramstat.compare.core -> paramstat.init.classic",
                                   "paramstat.stats.fits -> paramstat.verdict.rules"]
