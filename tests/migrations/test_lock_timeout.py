"""Check 10, online: behind a conflicting lock held elsewhere, an upgrade gives up, never queues."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks.lock_timeout import LockTimeout, LockWaitOutcome
from tests.migrations.gate.checks.upgrade import RevisionTemplates
from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.dialects.base import LockMode
from tests.migrations.gate.engine.contention import current_version, upgrade_with, user_tables
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.engine.steps import steps
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.postgres import PostgresServer

GENEROUS = 10.0  # seconds; lock_timeout is 20ms, so this only fails when nothing timed out
QUANTITY_REVISION = "9a4f2e61c8d5"

pytestmark = pytest.mark.postgresql_only(
    "PostgreSQL fixtures and lock modes; the MariaDB counterpart is test_mariadb_contention.py"
)


@pytest.mark.history
def test_upgrade_gives_up_behind_a_reader_and_leaves_the_previous_revision(
    project_templates: RevisionTemplates,
) -> None:
    """The proof, spelled out on the quantity revision: a long SELECT holds ACCESS SHARE, and
    the ALTER TABLE gives up within lock_timeout, leaving the previous revision untouched.

    Items-specific on purpose: the generic check below walks every revision; this one pins the
    exact behaviour (error, version, catalog) where the project needs an exclusive lock.
    """
    project_templates.require()
    (step,) = [step for step in steps(History()) if step.revision == QUANTITY_REVISION]
    with project_templates.database_at(step.before) as url:
        before = snapshot_of(url)
        dialect = dialect_for(url)
        with dialect.hold_locks(url, user_tables(url), LockMode.READERS, patience=30.0) as held:
            result = upgrade_with(History(), url, step.revision, lock_timeout="300ms")
        assert not held.ended_by_watchdog.is_set(), "the upgrade queued behind the reader"
        assert result.error is not None, "adding a column must need a lock readers conflict with"
        assert dialect.is_lock_timeout(result.error), result.error
        assert "canceling statement due to lock timeout" in str(result.error)
        assert result.elapsed < GENEROUS
        assert current_version(url) == step.before
        assert snapshot_of(url).diff(before, before="before", after="after") == []


def test_check_passes_on_correct_changes(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    """A concurrent index or a new table need no conflicting lock; ALTERs give up in time."""
    history = fixture_history("safe_changes")
    reports = walk_history(history, postgres_server, [LockTimeout()], scratch=scratch_database_url)
    outcomes = {
        report.step.revision: outcome
        for report in reports
        if (outcome := report.observed(LockTimeout.name, LockWaitOutcome)) is not None
    }
    assert set(outcomes) == {report.step.revision for report in reports[1:]}
    assert outcomes["sc02_nullable"].gave_up
    assert not outcomes["sc04_concurrent_index"].gave_up
    assert not outcomes["sc05_new_table"].gave_up


def test_a_revision_that_disables_lock_timeout_queues_and_fails(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    history = fixture_history("timeouts_disabled")
    with pytest.raises(GateFailure) as raised:
        walk_history(
            history, postgres_server, [LockTimeout()], scratch=scratch_database_url, patience=1.0
        )
    text = str(raised.value)
    assert text.startswith(
        "[lock-timeout] upgrading to td02_no_lock_timeout queued behind another session "
        "holding ACCESS SHARE on things for 1s, until the gate ended that session: "
        "lock_timeout=20ms never fired"
    )
    assert "  revision: td02_no_lock_timeout\n" in text
    assert "no revision may RESET it or set it to 0" in text
