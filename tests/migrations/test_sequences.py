"""Check 17: after an upgrade on rows, the next default key collides with no existing row."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks.sequences import Sequences, SequencesOutcome
from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.servers import DatabaseServer

pytestmark = pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)


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
