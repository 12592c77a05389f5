"""Check 10: env.py's lock_timeout and statement_timeout cover every statement of every revision."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.migrations.gate.checks.timeouts import (
    check_timeouts_in_offline_sql,
    unprotected_statements,
)
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.render import DIRECTIONS, RevisionSql, render_revision
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder


@pytest.mark.history
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("revision", [script.revision for script in History().revisions()])
def test_timeouts_are_set_before_anything_else(
    revision: str, direction: str, gate_matrix: MatrixRecorder
) -> None:
    """The first statements of each revision's SQL set both timeouts, to non-zero values."""
    sql = render_revision(History(), revision, "up" if direction == "up" else "down")
    first_begin = sql.statements.index("BEGIN;")
    settings = sql.statements[:first_begin]
    assert any(s.startswith("SET lock_timeout = '") for s in settings), sql.text
    assert any(s.startswith("SET statement_timeout = '") for s in settings), sql.text
    assert "SET lock_timeout = '0'" not in settings
    gate_matrix.passed("timeouts", [revision])


@pytest.mark.parametrize(
    "history",
    [
        pytest.param(History(), id="project", marks=pytest.mark.history),
        pytest.param(fixture_history("safe_changes"), id="safe_changes"),
    ],
)
def test_correct_histories_never_run_a_statement_without_timeouts(history: History) -> None:
    """The project, and correct changes including CONCURRENTLY inside autocommit_block()."""
    check_timeouts_in_offline_sql(history)


def test_a_revision_that_disables_lock_timeout_fails() -> None:
    with pytest.raises(GateFailure) as raised:
        check_timeouts_in_offline_sql(fixture_history("timeouts_disabled"))
    text = str(raised.value)
    assert text.startswith("[timeouts] a migration statement would run without lock_timeout")
    assert "  revision: td02_no_lock_timeout\n" in text
    assert (
        "line 11: `ALTER TABLE things ADD COLUMN note TEXT;` runs with lock_timeout disabled by "
        "`SET lock_timeout = 0;`"
    ) in text
    assert "alembic_version" not in text
    assert "never disable it" in text


def sql_of(*statements: str) -> RevisionSql:
    return RevisionSql(
        revision="r",
        down_revision=None,
        path=Path("r.py"),
        message="",
        direction="up",
        statements=statements,
    )


SET_BOTH = ("SET lock_timeout = '5s';", "SET statement_timeout = '5min';")


@pytest.mark.parametrize(
    ("statements", "problem"),
    [
        (
            ("BEGIN;", "ALTER TABLE t ADD COLUMN c text;", "COMMIT;"),
            "runs with no lock_timeout set",
        ),
        ((*SET_BOTH, "RESET ALL;", "ALTER TABLE t ADD COLUMN c text;"), "with no lock_timeout set"),
        (
            (*SET_BOTH, "SET statement_timeout TO DEFAULT;", "ALTER TABLE t ADD COLUMN c text;"),
            "runs with statement_timeout disabled by `SET statement_timeout TO DEFAULT;`",
        ),
        (
            (*SET_BOTH, "BEGIN;", "SET LOCAL lock_timeout = '0ms';", "DROP TABLE t;", "COMMIT;"),
            "line 9: `DROP TABLE t;` runs with lock_timeout disabled by "
            "`SET LOCAL lock_timeout = '0ms';`",
        ),
    ],
)
def test_every_way_of_losing_a_timeout_is_seen(statements: tuple[str, ...], problem: str) -> None:
    assert any(problem in line for line in unprotected_statements(sql_of(*statements)))


def test_set_local_ends_with_its_transaction() -> None:
    sql = sql_of(
        *SET_BOTH,
        "BEGIN;",
        "SET LOCAL statement_timeout = '30min';",
        "ALTER TABLE t VALIDATE CONSTRAINT c;",
        "COMMIT;",
        "ALTER TABLE t ADD COLUMN c text;",
    )
    assert unprotected_statements(sql) == []
