"""Check 13: a revision that fails part-way leaves the previous schema, or reruns cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import URL
from sqlalchemy.exc import DataError

from tests.migrations.gate.checks.atomic_failure import AtomicFailure, FailureOutcome
from tests.migrations.gate.checks.unsafe_ddl import lint_revisions
from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.engine.contention import current_version
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgresql_only(
    "PostgreSQL fixtures and its transactional DDL; MariaDB's rerunnable-failure meaning is "
    "tested in test_mariadb_contention.py"
)


def outcomes_of(
    history: History, server: PostgresServer, scratch: URL
) -> dict[str, FailureOutcome]:
    """Walk `history` with the atomic-failure check alone; what it saw at each revision."""
    reports = walk_history(history, server, [AtomicFailure()], scratch=scratch)
    outcomes = {
        report.step.revision: outcome
        for report in reports
        if (outcome := report.observed(AtomicFailure.name, FailureOutcome)) is not None
    }
    assert list(outcomes) == [report.step.revision for report in reports]
    return outcomes


def test_revision_failing_halfway_leaves_the_previous_schema(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    """Four DDL/DML statements succeed, the fifth fails: nothing of the revision remains."""
    history = fixture_history("fails_halfway")
    url = scratch_database_url
    history.upgrade(url, "fh01_things")
    before = snapshot_of(url)
    with pytest.raises(DataError, match="division by zero"):
        history.upgrade(url, "fh02_breaks_halfway")
    assert current_version(url) == "fh01_things"
    assert before.diff(snapshot_of(url), before="before", after="after") == []
    dialect_for(url).empty_schema(url)
    with pytest.raises(GateFailure) as raised:
        outcomes_of(history, postgres_server, url)
    # The check itself passes (rolled back); the walk's own upgrade to the step then fails.
    assert (raised.value.check, raised.value.revision) == ("upgrade", "fh02_breaks_halfway")
    assert "DivisionByZero: division by zero" in str(raised.value)


def test_correct_changes_fail_cleanly(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    history = fixture_history("safe_changes")
    outcomes = outcomes_of(history, postgres_server, scratch_database_url)
    # autocommit_block, written to be rerun: it reran to the schema of a clean upgrade
    assert outcomes["sc04_concurrent_index"].rerun_schema is not None
    assert all(o.rolled_back for r, o in outcomes.items() if r != "sc04_concurrent_index")


def test_autocommit_revision_that_cannot_rerun_fails(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    history = fixture_history("non_atomic_failure")
    with pytest.raises(GateFailure) as raised:
        outcomes_of(history, postgres_server, scratch_database_url)
    text = str(raised.value)
    assert text.startswith(
        "[atomic-failure] na02_not_rerunnable failed part-way, left committed changes behind, "
        "and rerunning the upgrade fails"
    )
    assert "+table things: column note text NULL" in text
    assert 'DuplicateColumn: column "note" of relation "things" already exists' in text
    assert "add_column(if_not_exists=True)" in text


def test_the_first_version_of_the_quantity_revision_is_caught(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    """Revision 9a4f2e61c8d5 as first written: this check rejects it, squawk only advises.

    squawk's prefer-robust-stmts guesses the same defect from syntax; it is advice
    (`engine/lint_policy.py`), so the one defect gives this one failure.
    """
    history = fixture_history("quantity_not_rerunnable")
    with pytest.raises(GateFailure) as raised:
        outcomes_of(history, postgres_server, scratch_database_url)
    assert 'column "quantity" of relation "items" already exists' in str(raised.value)
    (_, quantity) = lint_revisions(history)
    assert "prefer-robust-stmts" in {finding.rule for finding in quantity.advice}
    assert "prefer-robust-stmts" not in {finding.rule for finding in quantity.findings}
