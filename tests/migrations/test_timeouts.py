"""Check 10: env.py's lock_timeout and statement_timeout cover every statement of every revision."""

from __future__ import annotations

import pytest

from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.history import History, fixture_history
from tests.migrations.gate.render import DIRECTIONS, render_revision
from tests.migrations.gate.timeouts import check_timeouts_in_offline_sql


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("revision", [script.revision for script in History().revisions()])
def test_timeouts_are_set_before_anything_else(revision: str, direction: str) -> None:
    """The first statements of each revision's SQL set both timeouts, to non-zero values."""
    sql = render_revision(History(), revision, "up" if direction == "up" else "down")
    first_begin = sql.statements.index("BEGIN;")
    settings = sql.statements[:first_begin]
    assert any(s.startswith("SET lock_timeout = '") for s in settings), sql.text
    assert any(s.startswith("SET statement_timeout = '") for s in settings), sql.text
    assert "SET lock_timeout = '0'" not in settings


def test_project_never_runs_a_statement_without_timeouts() -> None:
    check_timeouts_in_offline_sql(History())


def test_a_revision_that_disables_lock_timeout_fails() -> None:
    with pytest.raises(GateFailure) as raised:
        check_timeouts_in_offline_sql(fixture_history("timeouts_disabled"))
    text = str(raised.value)
    assert text.startswith("[timeouts] a migration statement would run without lock_timeout")
    assert "  revision: td02_no_lock_timeout (up)\n" in text
    assert (
        "line 11: `ALTER TABLE things ADD COLUMN note TEXT;` runs with lock_timeout disabled by "
        "`SET lock_timeout = 0;`"
    ) in text
    assert "alembic_version" not in text
    assert "never disable it" in text
