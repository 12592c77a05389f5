"""Check 19: after every revision the app role can still insert, read, update and delete rows."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks.app_privileges import AppPrivileges, PrivilegesOutcome
from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgresql_only(
    "the PostgreSQL app role (SET ROLE, default privileges, row-level security); MariaDB's app "
    "user is test_app_privileges_mariadb.py's"
)


@pytest.mark.parametrize("name", ["privileges_granted", "correct_new_table", "safe_changes"])
def test_tables_covered_by_the_default_privileges_pass(
    postgres_server: PostgresServer, scratch_database_url: URL, name: str
) -> None:
    reports = walk_history(
        fixture_history(name), postgres_server, [AppPrivileges()], scratch=scratch_database_url
    )
    for report in reports:
        outcome = report.observed(AppPrivileges.name, PrivilegesOutcome)
        assert outcome is not None
        assert outcome.checked, report
        # A whole insert-read-update-delete as the app role on every table of the step.
        assert outcome.round_tripped, outcome
        assert set(report.tables) <= set(outcome.round_tripped), outcome
        assert not outcome.unprobed, outcome


def test_a_revoked_table_fails_with_what_the_app_lacks_and_the_fix(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("privileges_revoked"),
            postgres_server,
            [AppPrivileges()],
            scratch=scratch_database_url,
        )
    failure = raised.value
    text = str(failure)
    assert (failure.check, failure.revision) == ("app-privileges", "9b0000000002"), text
    assert "the app role cannot use parts" in text
    assert "parts: lacks INSERT, UPDATE, DELETE, USAGE on sequence parts_id_seq" in text
    assert "ALTER DEFAULT PRIVILEGES FOR ROLE items_owner" in text
    assert "widgets" not in text.split("how to fix", maxsplit=1)[0].split("what differs")[1]


def test_row_level_security_without_a_policy_fails(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("privileges_row_security"),
            postgres_server,
            [AppPrivileges()],
            scratch=scratch_database_url,
        )
    failure = raised.value
    text = str(failure)
    assert (failure.check, failure.revision) == ("app-privileges", "9c0000000002"), text
    assert "widgets: SELECT sees 0 of its" in text
    assert "row-level security policy" in text  # PostgreSQL's refusal of the app's INSERT
    assert "row-level security enabled and forced, no policies" in text
    assert "CREATE POLICY" in text


def test_a_table_the_app_role_owns_fails(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    """It can use the rows, and could also ALTER or DROP the table: not least privilege."""
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("privileges_other_owner"),
            postgres_server,
            [AppPrivileges()],
            scratch=scratch_database_url,
        )
    failure = raised.value
    text = str(failure)
    assert (failure.check, failure.revision) == ("app-privileges", "9d0000000002"), text
    assert "parts: is owned by items_app, so the app role could ALTER or DROP it" in text
    assert "OWNER TO items_owner" in text
