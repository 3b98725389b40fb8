"""The import-layer contract, checked from source: which package may import which, and no cycles.

Function-local imports count like top-level ones: they hide a cycle from the interpreter, not from the
design. A module importing its own package's face (`tlcore.data` from `tlcore.data.split`) is not an edge:
the face only re-exports its submodules.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

# Lower layers never import higher ones; packages on the same layer never import each other.
LAYERS: list[tuple[str, ...]] = [
    ("tlcore",),  # the root package: its version only
    ("tlcore.core",),
    ("tlcore.data", "tlcore.models"),
    ("tlcore.train",),
    ("tlcore.runs",),
    ("tlcore.experiments",),
    ("tlcore.cli",),
    ("tlcore.__main__",),
    ("components",),
    ("app_pages", "app"),
]


@dataclass(frozen=True)
class Violation:
    importer: str
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.importer} imports {self.imported}: {self.why}"


def module_names(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted name → file of every module under the given top-level packages or single files."""
    found = {}
    for top in packages:
        single = root / f"{top}.py"
        paths = [single] if single.is_file() else sorted((root / top).rglob("*.py"))
        for path in paths:
            name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imports_of(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """The project modules `path` imports anywhere in its body, resolved to module names."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else _relative(name, path, node.module, node.level)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    edges = {_known_prefix(m, known) for m in out} - {None, name}
    return {m for m in edges if not name.startswith(m + ".")}  # a package's face is not an edge


def _relative(name: str, path: Path, module: str, level: int) -> str:
    parts = name.split(".")
    keep = parts[: len(parts) - level + (1 if path.name == "__init__.py" else 0)]
    return ".".join(keep + [module])


def _known_prefix(module: str, known: dict[str, Path]) -> str | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return None


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, layer package) of the longest matching layer package."""
    best = (-1, "")
    for index, group in enumerate(LAYERS):
        for package in group:
            if (module == package or module.startswith(package + ".")) and len(package) > len(best[1]):
                best = (index, package)
    return best


def check(root: Path, packages: tuple[str, ...] = ("tlcore", "components", "app_pages", "app")) -> list[Violation]:
    known = module_names(root, packages)
    graph = {name: imports_of(path, name, known) for name, path in known.items()}
    problems = [v for name, deps in graph.items() for v in _layer_violations(name, deps)]
    return problems + [Violation(cycle[0], cycle[1], "import cycle: " + " → ".join(cycle)) for cycle in _cycles(graph)]


def _layer_violations(name: str, deps: set[str]) -> list[Violation]:
    (mine, own), out = layer_of(name), []
    for dep in sorted(deps):
        theirs, package = layer_of(dep)
        if package == own or package == "":
            continue
        if theirs > mine:
            out.append(Violation(name, dep, f"upward import ({own} may not import {package})"))
        elif theirs == mine:
            out.append(Violation(name, dep, f"sideways import ({own} and {package} are on one layer)"))
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component) + [sorted(component)[0]])

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles
