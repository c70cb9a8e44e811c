"""serving/ (API, dashboard, reader) never imports pipeline/ (Spark, dbt, ingestion): the
readers start without a JVM, and the two packages cannot form an import cycle."""

import ast
from pathlib import Path

SERVING = Path(__file__).resolve().parents[2] / "serving"


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


def test_serving_imports_nothing_from_pipeline():
    offenders = {
        f"{path.relative_to(SERVING.parent)}: {module}"
        for path in SERVING.rglob("*.py")
        for module in _imported_modules(path)
        if module == "pipeline" or module.startswith("pipeline.")
    }
    assert not offenders, sorted(offenders)
