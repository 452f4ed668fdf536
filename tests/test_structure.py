"""The package's structure: every module imports on its own, imports form no cycle, the
lower layers do not depend on the spec, and no function grows past 80 lines."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.codegen_independent

PACKAGE = Path(__file__).resolve().parents[1] / "brian_ep"
MODULES = sorted(
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
)


def _imports(module: str, path: Path) -> set:
    """The package modules ``module`` imports (static, from its source)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if n in MODULES and n != module}
    return found


def _graph() -> dict:
    paths = {m: PACKAGE.parent / (m.replace(".", "/") + ("/__init__.py" if (PACKAGE.parent / m.replace(".", "/")).is_dir() else ".py")) for m in MODULES}
    return {m: _imports(m, p) for m, p in paths.items()}


def _importable(module: str):
    """``module`` as a test case; the torch engine's modules need torch (extra ``torch``)."""
    no_torch = module.startswith("brian_ep.engines.torch_engine.") and importlib.util.find_spec("torch") is None
    return pytest.param(module, marks=pytest.mark.skipif(no_torch, reason="the torch engine's modules need torch"))


@pytest.mark.parametrize("module", [_importable(m) for m in MODULES])
def test_every_module_imports(module):
    importlib.import_module(module)


def _cycles(graph: dict) -> list:
    """Every cycle found by a depth-first walk of ``{module: {imported modules}}``."""
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
    return cycles


def test_no_import_cycle():
    """Edges into a module's own parent packages are re-exports, not dependencies."""
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in _graph().items()}
    cycles = _cycles(graph)
    assert cycles == [], " ; ".join(" -> ".join(c) for c in cycles)


def test_the_cycle_check_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("lower", ["brian_ep.maths", "brian_ep.neurons", "brian_ep.data", "brian_ep.errors", "brian_ep.seeds"])
def test_lower_layers_do_not_import_the_spec(lower):
    graph = _graph()
    offenders = {m: sorted(d for d in deps if d == "brian_ep.spec" or d.startswith("brian_ep.spec."))
                 for m, deps in graph.items() if m == lower or m.startswith(lower + ".")}
    assert {m: d for m, d in offenders.items() if d} == {}


def test_no_function_over_80_lines():
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:
                long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert long == []
