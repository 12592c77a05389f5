"""Check 3: up → down → up for every revision, with rows in the tables at every move."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.fixture_servers import fixtures, postgresql_only_fixture
from tests.migrations.gate.checks.stairway import Stairway
from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.engine.edited import named_history
from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.servers import DatabaseServer


@pytest.mark.parametrize(
    # Not comment_formatting_edit: its revisions are AST-identical to the project's (edited.py
    # proves it), which test_walk.py already walks revision by revision.
    "name",
    fixtures("correct_new_column", "correct_new_table"),
)
def test_correct_histories_climb_the_stairway(
    gate_server: DatabaseServer, scratch_database_url: URL, name: str
) -> None:
    walk_history(named_history(name), gate_server, [Stairway()], scratch=scratch_database_url)


@postgresql_only_fixture("enum_left_behind")
def test_enum_left_behind_breaks_the_second_upgrade(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    with pytest.raises(GateFailure) as failure:
        walk_history(
            fixture_history("enum_left_behind"),
            gate_server,
            [Stairway()],
            scratch=scratch_database_url,
        )
    text = str(failure.value)
    assert "[stairway]" in text
    assert "revision: b2000000e0e0" in text
    assert "again after its downgrade failed" in text
    assert 'type "widget_color" already exists' in text
    assert "enum types" in text
    assert "rows inserted at a1000000e0e0: {'widgets': " in text


def test_downgrade_that_only_works_on_empty_tables_fails(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    """Rows written at the revision (a NULL name) make its downgrade fail: only rows show it."""
    with pytest.raises(GateFailure) as failure:
        walk_history(
            fixture_history("downgrade_fails_on_rows"),
            gate_server,
            [Stairway()],
            scratch=scratch_database_url,
        )
    text = str(failure.value)
    assert "downgrade b2000000d0f0 → a1000000d0f0 failed on a database holding rows" in text
    # the rows of each side, each said once, where they went in
    assert "rows inserted at a1000000d0f0: {'widgets': " in text
    assert "rows inserted at b2000000d0f0: {'widgets': " in text
    said = {
        "postgresql": 'column "name" of relation "widgets" contains null values',
        "mariadb": "Data truncated for column 'name'",  # NOT NULL refused on a NULL row
    }
    assert said[dialect_for(scratch_database_url).name] in text
