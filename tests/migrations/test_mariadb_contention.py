"""MariaDB under contention (issue 10): timeouts, held locks, and rerunnable failure.

Lock-timeout and atomic-failure in MariaDB's terms: another session's open transaction that
read a table holds a shared metadata lock every ALTER waits on (`lock_wait_timeout`, which
env.py sets), and a revision that fails part-way leaves its committed statements behind, so it
must rerun to the clean schema. The PostgreSQL counterparts are `test_lock_timeout.py` and
`test_atomic_failure.py`.
"""

from __future__ import annotations

import pytest
from sqlalchemy import URL, create_engine, pool, text
from sqlalchemy.exc import OperationalError

from tests.migrations.gate.checks.atomic_failure import AtomicFailure, FailureOutcome
from tests.migrations.gate.checks.lock_timeout import LockTimeout, LockWaitOutcome
from tests.migrations.gate.checks.upgrade import RevisionTemplates
from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.dialects.base import VERSION_TABLE, LockMode
from tests.migrations.gate.engine.contention import current_version, upgrade_with, user_tables
from tests.migrations.gate.engine.fill import fill_tables
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.sessions import connect
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.engine.steps import steps
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.servers import DatabaseServer

QUANTITY_REVISION = "9a4f2e61c8d5"
GENEROUS = 10.0  # seconds: env.py turns -x lock_timeout=300ms into lock_wait_timeout = 1 s

pytestmark = pytest.mark.mariadb_only("the MariaDB meaning of lock-timeout and atomic-failure")


def _require_mariadb(url: URL) -> None:
    assert dialect_for(url).name == "mariadb", "a mariadb_only test ran elsewhere"


@pytest.mark.history
def test_quantity_upgrade_gives_up_behind_a_reader_and_leaves_the_database_as_it_was(
    project_templates: RevisionTemplates,
) -> None:
    """env.py's timeouts under contention: an open transaction has read `items`; the quantity
    revision's ALTER gives up with error 1205 within the timeout, and nothing changed."""
    project_templates.require()
    (step,) = [step for step in steps(History()) if step.revision == QUANTITY_REVISION]
    with project_templates.database_at(step.before) as url:
        _require_mariadb(url)
        with connect(url) as connection:
            fill_tables(connection, only=["items"])
        before = snapshot_of(url)
        dialect = dialect_for(url)
        with dialect.hold_locks(url, user_tables(url), LockMode.READERS, patience=30.0) as held:
            result = upgrade_with(History(), url, step.revision, lock_timeout="300ms")
        assert not held.ended_by_watchdog.is_set(), "the upgrade queued behind the reader"
        assert result.error is not None, "adding a column must wait for the metadata lock"
        assert dialect.is_lock_timeout(result.error), result.error
        assert "Lock wait timeout exceeded" in str(result.error)
        assert result.elapsed < GENEROUS
        assert current_version(url) == step.before
        assert snapshot_of(url).diff(before, before="before", after="after") == []


def test_version_writers_blocked_lets_readers_pass_and_stops_the_update(
    scratch_database_url: URL,
) -> None:
    url = scratch_database_url
    _require_mariadb(url)
    engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32))"))
            connection.execute(text(f"INSERT INTO {VERSION_TABLE} VALUES ('a')"))
            blocked = LockMode.VERSION_WRITERS_BLOCKED
            with dialect_for(url).hold_locks(url, [VERSION_TABLE], blocked, patience=30.0) as held:
                connection.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
                assert connection.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}")) == "a"
                with pytest.raises(OperationalError) as raised:
                    connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'b'"))
            assert dialect_for(url).is_lock_timeout(raised.value), raised.value
            assert not held.ended_by_watchdog.is_set()
            assert "LOCK IN SHARE MODE" in held.mode
    finally:
        engine.dispose()


def test_a_revision_without_lock_wait_timeout_queues_and_fails(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    _require_mariadb(scratch_database_url)
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("mariadb_no_lock_wait_timeout"),
            gate_server,
            [LockTimeout()],
            scratch=scratch_database_url,
            patience=2.0,
        )
    text_ = str(raised.value)
    assert text_.startswith(
        "[lock-timeout] upgrading to b2000000a17e queued behind another session holding "
        "MDL_SHARED_READ"
    ), text_
    assert "on widgets for 2s, until the gate ended that session" in text_
    assert "  revision: b2000000a17e\n" in text_
    assert "no revision may RESET it or set it to 0" in text_


def test_a_revision_that_cannot_rerun_after_its_first_statement_fails(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    _require_mariadb(scratch_database_url)
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("mariadb_not_rerunnable"),
            gate_server,
            [AtomicFailure()],
            scratch=scratch_database_url,
        )
    failure = raised.value
    assert (failure.check, failure.revision) == ("atomic-failure", "b2000000e7e2"), str(failure)
    text_ = str(failure)
    assert text_.startswith(
        "[atomic-failure] b2000000e7e2 stopped after statement 1 of 2 (ALTER TABLE widgets ADD "
        "COLUMN color VARCHAR(20)) leaves statements 1 to 1 committed"
    ), text_
    assert "+table widgets: column color varchar(20)" in text_
    assert "Duplicate column name 'color'" in text_
    assert "ADD COLUMN IF NOT EXISTS" in text_


def test_rerunnable_changes_pass_both_checks(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    """IF NOT EXISTS on each statement: stopped after statement 1, the rerun is clean; the ALTER
    gives up behind a reader."""
    _require_mariadb(scratch_database_url)
    reports = walk_history(
        fixture_history("mariadb_clean_index"),
        gate_server,
        [LockTimeout(), AtomicFailure()],
        scratch=scratch_database_url,
    )
    failures = {r.step.revision: r.observed(AtomicFailure.name, FailureOutcome) for r in reports}
    first, second = failures["a1000000c1ea"], failures["b2000000c1ea"]
    assert first is not None
    assert (first.statements, first.stopped_after) == (1, ())
    assert second is not None
    assert (second.statements, second.stopped_after) == (2, (1,))
    wait = reports[1].observed(LockTimeout.name, LockWaitOutcome)
    assert wait is not None
    assert wait.gave_up
    assert wait.elapsed < GENEROUS


def test_bulk_fill_fills_every_table_from_the_sequence_engine(scratch_database_url: URL) -> None:
    url = scratch_database_url
    _require_mariadb(url)
    fixture_history("mariadb_clean_index").upgrade(url, "head")
    with connect(url) as connection:
        report = dialect_for(url).bulk_fill(connection, 25, None)
        assert report.inserted == {"widgets": 25}, report
        assert connection.scalar(text("SELECT COUNT(DISTINCT name) FROM widgets")) == 25


def test_bulk_fill_fills_enum_and_foreign_key_columns(scratch_database_url: URL) -> None:
    """An ENUM takes its first label, a foreign key an existing parent key (parents first)."""
    url = scratch_database_url
    _require_mariadb(url)
    with connect(url) as connection:
        connection.execute(text("CREATE TABLE kinds (id INT PRIMARY KEY)"))
        connection.execute(
            text(
                "CREATE TABLE parts (id INT AUTO_INCREMENT PRIMARY KEY, "
                "colour ENUM('red', 'it''s green') NOT NULL, "
                "kind INT NOT NULL, FOREIGN KEY (kind) REFERENCES kinds (id))"
            )
        )
        report = dialect_for(url).bulk_fill(connection, 5, None)
        assert report.inserted == {"kinds": 5, "parts": 5}, report
        assert not report.skipped
        colours = connection.scalars(text("SELECT DISTINCT colour FROM parts")).all()
        assert colours == ["red"]
