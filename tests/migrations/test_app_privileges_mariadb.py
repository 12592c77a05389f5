"""Check 19 on MariaDB: after every revision the app user can still use every row, and only rows.

MariaDB's meaning of the check (`dialects/mariadb/privileges.py`): the app user `items_app` is
granted SELECT, INSERT, UPDATE and DELETE on the whole database, which covers tables created
later as default privileges do on PostgreSQL; the probe connects as that user, since MariaDB
cannot switch a connection's user, and finds the row it wrote by primary key (no `ctid`).
"""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks.app_privileges import AppPrivileges, PrivilegesOutcome
from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.servers import DatabaseServer

pytestmark = pytest.mark.mariadb_only(
    "the MariaDB app user; on PostgreSQL test_app_privileges.py proves the app role"
)


def _walk(name: str, server: DatabaseServer, scratch: URL) -> None:
    walk_history(fixture_history(name), server, [AppPrivileges()], scratch=scratch)


@pytest.mark.parametrize("name", ["mariadb_clean_index", "mariadb_online_ddl"])
def test_tables_covered_by_the_database_grant_pass(
    gate_server: DatabaseServer, scratch_database_url: URL, name: str
) -> None:
    """A new table is usable by the app at once: a whole insert-read-update-delete on each."""
    reports = walk_history(
        fixture_history(name), gate_server, [AppPrivileges()], scratch=scratch_database_url
    )
    for report in reports:
        outcome = report.observed(AppPrivileges.name, PrivilegesOutcome)
        assert outcome is not None
        assert outcome.checked, report
        assert set(report.tables) <= set(outcome.round_tripped), outcome
        assert not outcome.unprobed, outcome


def test_a_revoked_privilege_fails_with_what_the_app_lacks_and_the_fix(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    with pytest.raises(GateFailure) as raised:
        _walk("mariadb_privileges_revoked", gate_server, scratch_database_url)
    failure = raised.value
    text = str(failure)
    assert (failure.check, failure.revision) == ("app-privileges", "b2000000de1e"), text
    assert "the app role cannot use widgets" in text
    assert "widgets: lacks DELETE" in text
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON items.* TO items_app" in text
    assert "ALTER DEFAULT PRIVILEGES" not in text  # PostgreSQL's fix, not MariaDB's


def test_a_schema_changing_grant_fails(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    """The app can use the rows, and could also ALTER or DROP the table: not least privilege."""
    with pytest.raises(GateFailure) as raised:
        _walk("mariadb_privileges_too_broad", gate_server, scratch_database_url)
    failure = raised.value
    text = str(failure)
    assert (failure.check, failure.revision) == ("app-privileges", "b20000a17e2d"), text
    assert "widgets: is granted ALTER, DROP, so the app user could change the table" in text


def test_what_a_failed_run_granted_is_gone_for_the_next(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    """Grants outlive the tables they name: the next run on the same database starts clean."""
    with pytest.raises(GateFailure):
        _walk("mariadb_privileges_too_broad", gate_server, scratch_database_url)
    _walk("mariadb_clean_index", gate_server, scratch_database_url)
