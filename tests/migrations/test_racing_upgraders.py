"""Check 12: concurrent `alembic upgrade head` processes apply the history exactly once."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks.racing_upgraders import CHECK, check_racing_upgraders
from tests.migrations.gate.checks.upgrade import RevisionTemplates
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder


@pytest.mark.history
def test_two_upgraders_apply_the_project_once(
    scratch_database_url: URL, project_templates: RevisionTemplates, gate_matrix: MatrixRecorder
) -> None:
    project_templates.require(CHECK)
    history = History()
    race = check_racing_upgraders(history, scratch_database_url)
    assert [upgrader.returncode for upgrader in race.upgraders] == [0, 0]
    applied = sorted((upgrader.applied() for upgrader in race.upgraders), key=len)
    assert applied == [[], [script.revision for script in history.revisions()]]
    head = history.revisions()[-1].revision
    with project_templates.database_at(head) as clean:
        assert (
            snapshot_of(scratch_database_url).diff(
                snapshot_of(clean), before="raced", after="clean upgrade"
            )
            == []
        )
    gate_matrix.passed(CHECK, [script.revision for script in history.revisions()])


@pytest.mark.postgresql_only("its fixture takes PostgreSQL's advisory lock")
def test_second_upgrader_waits_on_the_advisory_lock_through_autocommit_block(
    scratch_database_url: URL,
) -> None:
    """The first upgrader pauses inside autocommit_block(), after its COMMIT, until the second
    is queued on a lock: that lock must be env.py's advisory lock, still held."""
    race = check_racing_upgraders(fixture_history("rendezvous_upgrade"), scratch_database_url)
    assert race.waited_while(lambda query: "gate:rendezvous-in-autocommit-block" in query)
    applied = sorted((upgrader.applied() for upgrader in race.upgraders), key=len)
    assert applied == [[], ["ru01_things", "ru02_concurrent_index"]]


@pytest.mark.postgresql_only("its fixture releases PostgreSQL's advisory lock")
def test_upgraders_without_the_advisory_lock_clash(scratch_database_url: URL) -> None:
    with pytest.raises(GateFailure) as raised:
        check_racing_upgraders(fixture_history("releases_advisory_lock"), scratch_database_url)
    text = str(raised.value)
    assert text.startswith(
        "[racing-upgraders] 2 concurrent `alembic upgrade head` runs did not apply the history "
        "exactly once (tests/migrations/fixtures/releases_advisory_lock)"
    )
    assert "exited 1, applied: nothing" in text
    said = text.partition("said:")[2]
    assert "alembic_version" in said
    assert "a session-level advisory lock" in text
