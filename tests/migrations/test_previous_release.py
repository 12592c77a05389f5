"""Check 16: the previous release writes and reads the database at the new revision."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks.previous_release import PreviousRelease
from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgresql_only(
    "its fixture histories are PostgreSQL SQL, its expectations PostgreSQL's words"
)


@pytest.mark.parametrize(
    "name",
    [
        "prev_compatible",
        "prev_contract_declared",
        "safe_changes",
        "correct_new_table",
        "declared_data_change",
        "newcomer_colour",
    ],
)
def test_compatible_and_declared_changes_pass(
    postgres_server: PostgresServer, scratch_database_url: URL, name: str
) -> None:
    history = fixture_history(name)
    reports = walk_history(
        history, postgres_server, [PreviousRelease()], scratch=scratch_database_url
    )
    assert [r.ran for r in reports] == [(PreviousRelease.name,)] * len(reports)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("prev_dropped_default", 'null value in column "size"'),
        ("prev_required_column", 'null value in column "weight"'),
        ("prev_renamed_column", "column note is gone"),
        ("prev_dropped_column", "column note is gone"),
        ("prev_new_rule", "ck_widgets_name_long"),
    ],
)
def test_changes_that_break_the_previous_release_fail(
    postgres_server: PostgresServer, scratch_database_url: URL, name: str, expected: str
) -> None:
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history(name),
            postgres_server,
            [PreviousRelease()],
            scratch=scratch_database_url,
        )
    failure = raised.value
    text = str(failure)
    assert failure.check == "previous-release", text
    assert failure.revision is not None
    assert failure.revision.startswith("b16"), text
    assert expected in text, text
    assert "cannot work on the database at" in text
    assert "expand/contract" in text


def test_a_stale_declaration_fails(
    postgres_server: PostgresServer, scratch_database_url: URL
) -> None:
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("prev_stale_declaration"),
            postgres_server,
            [PreviousRelease()],
            scratch=scratch_database_url,
        )
    text = str(raised.value)
    assert "excuses nothing" in text
    assert "`breaks_previous_release['widgets.color']` is stale" in text
