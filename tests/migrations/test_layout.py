"""The gate's layers, as its folders promise: checks over an engine over a dialect.

Read with `ast` (nothing is imported): a check never imports another check, the engine never
imports a check, and a dialect imports neither. A check that needs another's work declares it
(`engine/protocol.py`) instead of calling it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GATE = Path(__file__).parent / "gate"
PACKAGE = "tests.migrations.gate"


def _gate_imports(path: Path) -> set[str]:
    """The gate modules `path` imports, as dotted names below the gate package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            found.add(node.module.removeprefix(PACKAGE + "."))
        elif isinstance(node, ast.Import):
            found |= {
                alias.name.removeprefix(PACKAGE + ".")
                for alias in node.names
                if alias.name.startswith(PACKAGE)
            }
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((GATE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("checks"), ids=lambda path: path.name)
def test_a_check_imports_no_other_check(path: Path) -> None:
    if path.name == "__init__.py":
        return  # the registry lists them
    others = {name for name in _gate_imports(path) if name.startswith("checks")}
    assert not others, f"{path.name} imports {others}: declare what it needs instead"


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("engine", ("checks", "commands", "report")),
        ("dialects", ("checks", "engine", "commands", "report")),
    ],
)
def test_lower_layers_never_import_higher_ones(folder: str, forbidden: tuple[str, ...]) -> None:
    offenders = {
        f"{path.relative_to(GATE)} imports {name}"
        for path in _modules(folder)
        for name in _gate_imports(path)
        if name.split(".")[0] in forbidden
    }
    assert not offenders


def test_the_layout_rule_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The parser above must see both spellings, or the layout tests could never fail."""
    module = tmp_path / "module.py"
    module.write_text(
        f"from {PACKAGE}.checks.stairway import Stairway\nimport {PACKAGE}.engine.walk\n",
        encoding="utf-8",
    )
    assert _gate_imports(module) == {"checks.stairway", "engine.walk"}
