"""The house's floors run one way: no module imports from a layer above its own, and no modules
import each other in a circle (annotations under TYPE_CHECKING count too: they are imports a
reader follows).

The layer order is written once, in docs/ARCHITECTURE.md's ```layers block (bottom first); this
test reads it from there, so the document and the check cannot drift apart.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def layer_order(text: str) -> list[list[str]]:
    """The ```layers block: one line per layer, bottom first, `name: what it owns` with names
    separated by commas on the left of the colon."""
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    if block is None:
        raise ValueError("docs/ARCHITECTURE.md has no ```layers block")
    layers = []
    for line in block.group(1).splitlines():
        if line.strip():
            names = line.split(":", 1)[0]
            layers.append([n.strip().rstrip("/") for n in names.split(",") if n.strip()])
    return layers


def project_modules(root: Path) -> dict[str, Path]:
    """Every module of the project's packages (and app.py), by dotted name."""
    modules = {"app": root / "app.py"}
    for init in sorted(root.glob("*/__init__.py")):
        package = init.parent
        if package.name == "tests":
            continue
        for file in package.rglob("*.py"):
            name = ".".join(file.relative_to(root).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = file
    return modules


def imported_modules(name: str, file: Path, known: dict[str, Path]) -> dict[str, int]:
    """The project modules `file` imports (anywhere in it: top level, functions, TYPE_CHECKING),
    each with the first line that does."""
    found: dict[str, int] = {}
    package = name.split(".") if file.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        for target in targets:
            parts = target.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts and ".".join(parts) != name:
                found.setdefault(".".join(parts), node.lineno)
    return found


def import_graph(root: Path) -> dict[str, dict[str, int]]:
    modules = project_modules(root)
    return {name: imported_modules(name, file, modules) for name, file in modules.items()}


def upward_imports(graph: dict[str, dict[str, int]], layers: list[list[str]]) -> list[str]:
    """`module:line imports target`, for every import from a layer above the importer's own."""
    level = {package: i for i, names in enumerate(layers) for package in names}
    problems = []
    for module, targets in sorted(graph.items()):
        here = level.get(module.split(".")[0])
        for target, line in sorted(targets.items()):
            there = level.get(target.split(".")[0])
            if here is not None and there is not None and there > here:
                problems.append(f"{module}:{line} imports {target} ({layers[there]} is above {layers[here]})")
    return problems


def unplaced_packages(graph: dict[str, dict[str, int]], layers: list[list[str]]) -> set[str]:
    placed = {package for names in layers for package in names}
    return {module.split(".")[0] for module in graph} - placed


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, {}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return cycles


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    return import_graph(ROOT)


@pytest.fixture(scope="module")
def layers() -> list[list[str]]:
    return layer_order(ARCHITECTURE.read_text())


def test_no_module_imports_from_a_layer_above_its_own(graph, layers) -> None:
    assert upward_imports(graph, layers) == []


def test_every_package_has_a_layer(graph, layers) -> None:
    assert unplaced_packages(graph, layers) == set()


def test_no_modules_import_each_other_in_a_circle(graph) -> None:
    assert import_cycles(graph) == []


def test_every_package_says_what_it_owns() -> None:
    for init in sorted(ROOT.glob("*/__init__.py")):
        if init.parent.name != "tests":
            doc = ast.get_docstring(ast.parse(init.read_text()))
            assert doc and doc.strip(), f"{init.parent.name}/__init__.py has no docstring"


# The checks themselves, on a hand-built house: they must see what they are meant to see.

def _house(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "app.py").write_text("import top.run\n")
    return tmp_path


def test_the_check_finds_an_upward_import_a_lazy_one_and_a_type_only_one(tmp_path) -> None:
    root = _house(tmp_path, {
        "low/__init__.py": '"""low"""\n',
        "low/a.py": "def f():\n    from top.run import main\n",
        "low/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from top import run\n",
        "low/c.py": "from . import a\n",
        "top/__init__.py": '"""top"""\n',
        "top/run.py": "from low.a import f\nimport low.c\n",
    })
    problems = upward_imports(import_graph(root), [["low"], ["top"], ["app"]])
    assert sorted({p.split(" ")[0] for p in problems}) == ["low.a:2", "low.b:3"]
    assert "top.run" in problems[0]


def test_the_check_finds_a_cycle_and_an_unplaced_package(tmp_path) -> None:
    root = _house(tmp_path, {
        "low/__init__.py": '"""low"""\n',
        "low/a.py": "from low import b\n",
        "low/b.py": "from .c import x\n",
        "low/c.py": "from low.a import y\n",
        "top/__init__.py": '"""top"""\n',
        "top/run.py": "",
        "stray/__init__.py": "",
    })
    graph = import_graph(root)
    assert import_cycles(graph) == [["low.a", "low.b", "low.c"]]
    assert unplaced_packages(graph, [["low"], ["top"], ["app"]]) == {"stray"}


def test_the_layer_block_is_read_bottom_first() -> None:
    text = "intro\n```layers\nprocess: speaking\nsweep, report/: commands\n```\n"
    assert layer_order(text) == [["process"], ["sweep", "report"]]
    with pytest.raises(ValueError, match="no ```layers block"):
        layer_order("nothing here")


def test_the_validators_former_path_still_imports_with_a_warning() -> None:
    import importlib
    import sys

    import validation.validators as validators

    sys.modules.pop("config.validators", None)
    with pytest.warns(DeprecationWarning, match="validation.validators"):
        old = importlib.import_module("config.validators")
    assert old.number is validators.number and old.to_float is validators.to_float
    assert old.ConfigError is validators.ConfigError
