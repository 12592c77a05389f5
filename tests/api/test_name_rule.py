"""The one definition of "blank" that the API, the model's CHECK and revision 1 all share."""

from __future__ import annotations

import ast

from app.models import WHITESPACE
from tests.support.migrations import PROJECT_ROOT

FIRST_REVISION = PROJECT_ROOT / "alembic/versions/20261128_create_items_3c1d9e4a7b20.py"


def test_whitespace_is_exactly_what_python_calls_whitespace() -> None:
    everything = "".join(chr(code) for code in range(0x110000) if chr(code).isspace())
    assert everything == WHITESPACE


def test_revision_1_spells_the_same_whitespace() -> None:
    """Revisions never import app code, so the literal is copied; the copies must agree."""
    tree = ast.parse(FIRST_REVISION.read_text(encoding="utf-8"))
    literals = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(
            isinstance(target, ast.Name) and target.id == "WHITESPACE" for target in node.targets
        )
    ]
    assert literals == [WHITESPACE]
