"""The rules of what may import what, read from the source (pure: no import is executed)."""

from __future__ import annotations

import ast
from pathlib import Path

from localdev.world import REPO_ROOT

NEVER_DEPLOYED = ("localdev", "bench", "chaos", "tests", "facetrain")


def imported_modules(source: Path) -> set[str]:
    """Every module a file imports, absolute names (a relative import inside orchestrator/ stays in it)."""
    names = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def offending(sources: list[Path], forbidden: tuple[str, ...], root: Path = REPO_ROOT) -> dict[str, set[str]]:
    found = {}
    for source in sources:
        bad = {name for name in imported_modules(source) if name.split(".")[0] in forbidden}
        if bad:
            found[str(source.relative_to(root))] = bad
    return found


def test_the_deployed_orchestrator_imports_nothing_that_is_never_deployed() -> None:
    assert offending(sorted((REPO_ROOT / "orchestrator").rglob("*.py")), NEVER_DEPLOYED) == {}


def test_the_function_app_imports_nothing_that_is_never_deployed() -> None:
    assert offending([REPO_ROOT / "function_app.py"], NEVER_DEPLOYED) == {}


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text("import json\nfrom localdev.world import LocalWorld\nfrom .sibling import x\n")
    assert imported_modules(source) == {"json", "localdev.world"}
    assert offending([source], NEVER_DEPLOYED, root=tmp_path) == {"module.py": {"localdev.world"}}


def orchestrator_imports() -> dict[str, set[str]]:
    """Each orchestrator module and the orchestrator modules it imports, those imported only for type checking
    included: a cycle among those is a knot in the design even when Python can load it."""
    graph = {}
    for source in sorted((REPO_ROOT / "orchestrator").glob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported |= {node.module} if node.module else {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("orchestrator."):
                imported.add(node.module.split(".")[1])
        graph[source.stem] = imported
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, done, path = [], set(), []

    def visit(module: str) -> None:
        if module in path:
            found.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    return found


def test_no_orchestrator_module_imports_one_that_imports_it_back() -> None:
    """ports.py named `TrainingStatus` from face_client.py, which imports `FaceApi` from ports.py: a port owns
    the types it speaks in."""
    assert cycles(orchestrator_imports()) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    assert cycles({"ports": {"face_client"}, "face_client": {"ports", "bounds"}, "bounds": set()}) != []
