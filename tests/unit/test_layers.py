"""The layers import inward, and one composition root builds the application (style.md 1, 10)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module the file imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_infrastructure_neither_builds_nor_calls_the_application_nor_knows_the_web() -> None:
    """It may use the ports the application defines (the projections' types); not the application
    service, the feed's shaping of answers, or anything of the web layer."""
    forbidden = (
        "application.app",
        "application.audit",
        "application.feed",
        "application.summaries",
        "application.past_years",
        "application.inspections",
        "application.cases",
        "application.reinspections",
        "application.complaints",
        "web",
    )
    offences = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules("infrastructure")
        for module in _imports(path)
        if any(module == name or module.startswith(name + ".") for name in forbidden)
    ]
    assert offences == []


def test_the_domain_and_the_application_import_no_outer_layer() -> None:
    layers = (("domain", ("application", "infrastructure", "web")), ("application", ("infrastructure", "web")))
    for package, outer in layers:
        offences = [
            f"{path.relative_to(ROOT)} imports {module}"
            for path in _modules(package)
            for module in _imports(path)
            if any(module == name or module.startswith(name + ".") for name in outer)
        ]
        assert offences == [], package


def test_only_the_composition_root_builds_the_application() -> None:
    builders = [
        str(path.relative_to(ROOT))
        for package in ("domain", "application", "infrastructure", "web")
        for path in _modules(package)
        if any(
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "InspectorateApp"
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert builders == ["web/bootstrap.py"]
