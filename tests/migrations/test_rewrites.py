"""Check 9: no revision rewrites a table holding rows (new relfilenode) unless it declares it."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks.table_rewrite import CHECK, check_rewrites, observe_rewrites
from tests.migrations.gate.checks.upgrade import RevisionTemplates
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder

pytestmark = pytest.mark.postgresql_only(
    "rewrites are seen through relfilenodes; InnoDB table ids are not wired in yet (issue 10)"
)


@pytest.mark.history
def test_project_revisions_rewrite_nothing_and_ran_on_rows(
    scratch_database_url: URL, project_templates: RevisionTemplates, gate_matrix: MatrixRecorder
) -> None:
    project_templates.require(CHECK)
    steps = check_rewrites(History(), scratch_database_url)
    assert [step.script.revision for step in steps] == [s.revision for s in History().revisions()]
    for step in steps:  # every table a revision can touch held rows when it ran
        assert set(step.filled.inserted) == set(step.in_play), step.filled
        assert all(rows > 0 for rows in step.filled.inserted.values()), step.filled
        assert not step.filled.skipped, step.filled.skipped
    assert any(step.in_play for step in steps)  # the quantity revision ran on rows
    gate_matrix.passed(CHECK, [step.script.revision for step in steps])


def test_correct_changes_rewrite_nothing(scratch_database_url: URL) -> None:
    """Nullable column, constant default, concurrent index, new table: no existing file changes."""
    steps = check_rewrites(fixture_history("safe_changes"), scratch_database_url)
    assert all(not step.tables and not step.indexes for step in steps)


def test_rewrites_are_seen_in_relfilenode(scratch_database_url: URL) -> None:
    steps = {
        step.script.revision: step
        for step in observe_rewrites(fixture_history("table_rewrite"), scratch_database_url)
    }
    assert set(steps["tr02_widen"].tables) == {"things"}
    assert steps["tr02_widen"].rows == {"things": 50}
    assert "pk_things" in steps["tr02_widen"].indexes
    assert set(steps["tr03_volatile"].tables) == {"things"}
    assert set(steps["tr04_declared"].tables) == {"things"}
    assert not steps["tr05_stale"].tables


def test_undeclared_rewrites_and_bad_declarations_fail(scratch_database_url: URL) -> None:
    with pytest.raises(GateFailure) as raised:
        check_rewrites(fixture_history("table_rewrite"), scratch_database_url)
    failure = raised.value
    text = str(failure)
    assert failure.check == "table-rewrite"
    assert failure.revisions == ("tr02_widen", "tr03_volatile", "tr05_stale", "tr06_no_reason")
    assert "revision tr02_widen (tests/migrations/fixtures/table_rewrite/tr02_widen.py):" in text
    assert "table things rewritten (50 rows copied, relfilenode " in text
    assert "indexes rebuilt with it: " in text
    assert "table things rewritten (100 rows copied" in text  # tr03: volatile default
    assert "`rewrites_tables['things']` declares a rewrite that did not happen" in text
    assert "`rewrites_tables['things']` has no real reason ('ok')" in text
    assert "tr04_declared" not in text  # declared with a reason: accepted
    assert 'rewrites_tables = {"things": "why a rewrite of things is acceptable"}' in text
    assert "backfill it in batches" in text
