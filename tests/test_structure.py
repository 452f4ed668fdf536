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


def _package_graph(graph: dict) -> dict:
    """``{package: {packages it imports}}``: modules grouped by their first-level package
    (``brian_ep.engines``, ``brian_ep.baselines``...; a top-level module is its own node), the
    package root and a package's own modules left out."""
    def top(module):
        return ".".join(module.split(".")[:2])

    out: dict = {}
    for module, deps in graph.items():
        out.setdefault(top(module), set()).update(top(d) for d in deps if top(d) not in (top(module), "brian_ep"))
    return out


def test_no_package_cycle():
    """Packages depend on each other one way (``engines`` used to import ``baselines.options``
    while the baselines import ``engines.base``: a cycle that worked only by import order)."""
    cycles = _cycles(_package_graph(_graph()))
    assert cycles == [], " ; ".join(" -> ".join(c) for c in cycles)


def test_the_package_cycle_check_can_fail():
    graph = {"brian_ep.engines": {"brian_ep.baselines.options"}, "brian_ep.baselines.snn": {"brian_ep.engines.base"},
             "brian_ep.baselines.options": set(), "brian_ep.engines.base": set()}
    assert _cycles(_package_graph(graph)) == [["brian_ep.engines", "brian_ep.baselines", "brian_ep.engines"]]


#: Where an engine's name may be compared with: its registration and its own modules.
ENGINE_HOMES = ("brian_ep/engines/builtin.py", "brian_ep/engines/registry.py", "brian_ep/engines/brian.py",
                "brian_ep/engines/brian_options.py", "brian_ep/engines/numpy_batched.py", "brian_ep/engines/torch_engine/",
                "brian_ep/baselines/")


def _engine_name_comparisons(source: str, names) -> list:
    """Lines of ``source`` that compare with an engine name on a line about engines
    (``spec.run.engine == "brian2"``, ``[e for e in engine_names() if e not in ("brian2", ...)]``)."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        constants = {c.value for o in operands for c in ast.walk(o) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
        if constants & set(names) and "engine" in " ".join(lines[node.lineno - 1:node.end_lineno]):
            found.append(node.lineno)
    return found


def test_no_engine_name_comparisons_outside_the_engines():
    """What the rest of the package needs to know about an engine is asked of its registry
    entry (``computes_on``, ``one_sample_at_a_time``, ``memory``, ``steps_per_sample``,
    ``trains_by_ep``, ``compare_method``), never derived from its name."""
    from brian_ep.engines import engine_names

    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel.startswith(ENGINE_HOMES):
            continue
        offenders += [f"{rel}:{line}" for line in _engine_name_comparisons(path.read_text(), engine_names())]
    assert offenders == []


def test_the_engine_name_check_can_fail():
    names = ("brian2", "numpy")
    assert _engine_name_comparisons('if spec.run.engine == "brian2":\n    pass\n', names) == [1]
    assert _engine_name_comparisons('x = [t for t in targets if t not in ("brian2", "numpy")]\n', names) == []
    assert _engine_name_comparisons('ok = [e for e in engine_names() if e not in ("brian2", "numpy")]\n', names) == [1]
    assert _engine_name_comparisons('if target == "numpy":\n    pass\n', names) == []
