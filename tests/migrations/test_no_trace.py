"""Check 4: a revision's downgrade restores the whole catalog its upgrade started from."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.edited import named_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.history import History, fixture_history
from tests.migrations.gate.no_trace import check_no_trace, check_no_trace_step
from tests.migrations.gate.steps import Step, steps
from tests.migrations.gate.upgrade import RevisionTemplates

PROJECT_STEPS = steps(History())


@pytest.mark.parametrize("step", PROJECT_STEPS, ids=lambda step: step.revision)
def test_project_downgrade_leaves_no_trace(
    project_templates: RevisionTemplates, project_history: History, step: Step
) -> None:
    """Revision 9a4f2e61c8d5 validates its CHECK in autocommit_block(): exercised for real."""
    with project_templates.database_at(step.before, "gate_no_trace") as url:
        check_no_trace_step(project_history, url, step)


@pytest.mark.parametrize(
    "name", ["correct_new_column", "correct_new_table", "comment_formatting_edit"]
)
def test_correct_histories_leave_no_trace(scratch_database_url: URL, name: str) -> None:
    check_no_trace(named_history(name), scratch_database_url)


@pytest.mark.parametrize(
    ("name", "revision", "expected"),
    [
        (
            "not_null_left_behind",
            "b2000000a1a1",
            [
                "-table widgets: column note text NULL",
                "+table widgets: column note text NOT NULL",
            ],
        ),
        (
            "check_left_behind",
            "b2000000c4c4",
            ["+table widgets: constraint ck_widgets_size_capped CHECK (size <= 1000) [validated]"],
        ),
        (
            "enum_left_behind",
            "b2000000e0e0",
            ["+type widget_color AS ENUM ('red', 'green', 'blue')"],
        ),
    ],
)
def test_leftover_shows_as_a_catalog_diff(
    scratch_database_url: URL, name: str, revision: str, expected: list[str]
) -> None:
    with pytest.raises(GateFailure) as failure:
        check_no_trace(fixture_history(name), scratch_database_url)
    text = str(failure.value)
    assert "[downgrade-leaves-no-trace]" in text
    assert f"revision: {revision}" in text
    assert f"--- schema at a1000000{revision[8:]} (before upgrading to {revision})" in text
    for line in expected:
        assert line in text
    assert "add the missing reverse operations to downgrade()" in text
