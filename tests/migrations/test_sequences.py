"""Check 17: after an upgrade on rows, the next default key collides with no existing row."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks.sequences import Sequences, SequencesOutcome
from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.servers import DatabaseServer

postgresql_fixtures = pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)


@postgresql_fixtures
@pytest.mark.parametrize(
    "name", ["sequence_restarted", "safe_changes", "correct_new_table", "newcomer_colour"]
)
def test_sequences_ahead_of_the_rows_pass(
    gate_server: DatabaseServer, scratch_database_url: URL, name: str
) -> None:
    reports = walk_history(
        fixture_history(name), gate_server, [Sequences()], scratch=scratch_database_url
    )
    for report in reports:
        outcome = report.observed(Sequences.name, SequencesOutcome)
        assert outcome is not None
        assert outcome.probed, report  # every table of these histories has an identity key
        assert not outcome.unprobed, outcome


@postgresql_fixtures
def test_a_table_recreated_with_its_ids_leaves_its_sequence_behind(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("sequence_behind"),
            gate_server,
            [Sequences()],
            scratch=scratch_database_url,
        )
    failure = raised.value
    text = str(failure)
    assert (failure.check, failure.revision) == ("sequences", "5e0000000bad"), text
    assert "the sequence of widgets.id is behind the rows" in text
    assert "the highest id is" in text
    assert "setval(pg_get_serial_sequence" in text


@pytest.mark.mariadb_only("a MariaDB SEQUENCE; on PostgreSQL sequence_behind proves the same")
def test_a_mariadb_sequence_left_behind_the_rows_fails(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    """A key defaulting to NEXTVAL(seq) is probed like AUTO_INCREMENT, and caught when behind."""
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("mariadb_sequence_behind"),
            gate_server,
            [Sequences()],
            scratch=scratch_database_url,
        )
    failure = raised.value
    text = str(failure)
    assert (failure.check, failure.revision) == ("sequences", "b2000000se02"), text
    assert "the sequence of widgets.id is behind the rows" in text
    assert "Duplicate entry" in text


@pytest.mark.mariadb_only("MariaDB's keys; on PostgreSQL the identity keys above")
@pytest.mark.parametrize(
    ("name", "stop_at"),
    [("mariadb_clean_index", None), ("mariadb_sequence_behind", "b2000000se02")],
)
def test_mariadb_keys_ahead_of_the_rows_pass(
    gate_server: DatabaseServer, scratch_database_url: URL, name: str, stop_at: str | None
) -> None:
    """AUTO_INCREMENT keys and a key defaulting to NEXTVAL(seq) are probed, not skipped."""
    reports = walk_history(
        fixture_history(name),
        gate_server,
        [Sequences()],
        scratch=scratch_database_url,
        stop_at=stop_at,  # the sequence fixture's first revision only: its second is the defect
    )
    assert reports
    for report in reports:
        outcome = report.observed(Sequences.name, SequencesOutcome)
        assert outcome is not None
        assert outcome.probed, report
        assert not outcome.unprobed, outcome
