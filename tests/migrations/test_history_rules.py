"""Check 1: the history rules, on the project's revisions and on fixtures that break each."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.migrations.gate.checks.history_rules import (
    HISTORY_RULES,
    check_downgrade_not_empty,
    check_history,
    check_linear,
    check_messages,
    check_no_application_imports,
    check_single_head,
    check_unique_ids,
    check_upgrade_not_empty,
)
from tests.migrations.gate.engine.edited import named_history
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder

CORRECT_HISTORIES = (
    "clean_widgets",
    "correct_new_column",
    "correct_new_table",
    "comment_formatting_edit",
)


@pytest.mark.history
@pytest.mark.parametrize("rule", HISTORY_RULES, ids=lambda rule: rule.__name__)
def test_project_history_follows_rule(
    project_history: History, rule: Callable[[History], None], gate_matrix: MatrixRecorder
) -> None:
    rule(project_history)
    gate_matrix.passed("history", [script.revision for script in project_history.revisions()])


@pytest.mark.parametrize("name", CORRECT_HISTORIES)
def test_correct_histories_follow_every_rule(name: str) -> None:
    check_history(named_history(name))


@pytest.mark.parametrize(
    ("fixture", "rule", "expected"),
    [
        (
            "multiple_heads",
            check_single_head,
            ["expected exactly one head revision, found 2", "b2000000c010", "b2000000e1e1"],
        ),
        (
            "multiple_heads",
            check_linear,
            ["branches after a1000000a0a1", "w02_color.py", "w02_weight.py", "down_revision"],
        ),
        (
            "duplicate_ids",
            check_unique_ids,
            ["revision id b2000000dddd is used by 2 files", "w02_color.py", "w03_weight.py"],
        ),
        (
            "missing_message",
            check_messages,
            ["revision b2000000e5e5 has no message", "'empty message'", "first line"],
        ),
        (
            "empty_upgrade",
            check_upgrade_not_empty,
            ["upgrade() of revision b2000000eeee is empty", "w02_nothing.py"],
        ),
        (
            "pass_downgrade",
            check_downgrade_not_empty,
            ["downgrade() of revision b2000000fa55 is empty", "reverse of upgrade()"],
        ),
        (
            "imports_app",
            check_no_application_imports,
            ["revision b2000000a9a9 imports application code (app.models)", "w02_rename_limit.py"],
        ),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_rule_fails_on_broken_history(
    fixture: str, rule: Callable[[History], None], expected: list[str]
) -> None:
    with pytest.raises(GateFailure) as failure:
        rule(fixture_history(fixture))
    text = str(failure.value)
    assert text.startswith("[history]")
    assert "how to fix:" in text
    for fragment in expected:
        assert fragment in text


def test_every_broken_history_fails_the_whole_rule_set() -> None:
    """`check_history` (what a new history meets) stops each broken fixture."""
    for name in (
        "multiple_heads",
        "duplicate_ids",
        "missing_message",
        "empty_upgrade",
        "pass_downgrade",
        "imports_app",
    ):
        with pytest.raises(GateFailure):
            check_history(fixture_history(name))
