"""Check 4: a revision's downgrade restores the whole catalog its upgrade started from."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.fixture_servers import fixtures, postgresql_only_fixture
from tests.migrations.gate.checks.no_trace import NoTrace
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
def test_correct_histories_leave_no_trace(
    gate_server: DatabaseServer, scratch_database_url: URL, name: str
) -> None:
    walk_history(named_history(name), gate_server, [NoTrace()], scratch=scratch_database_url)


@pytest.mark.parametrize(
    ("name", "revision", "expected"),
    [
        # (the catalog lines the diff must show, by server: each server's own snapshot)
        (
            "not_null_left_behind",
            "b2000000a1a1",
            {
                "postgresql": [
                    "-table widgets: column note text NULL",
                    "+table widgets: column note text NOT NULL",
                ],
                "mariadb": [
                    "-table widgets: column note text DEFAULT NULL",
                    "+table widgets: column note text NOT NULL",
                ],
            },
        ),
        (
            "check_left_behind",
            "b2000000c4c4",
            {
                "postgresql": [
                    "+table widgets: constraint ck_widgets_size_capped CHECK (size <= 1000) "
                    "[validated]"
                ],
                "mariadb": [
                    "+table widgets: table check ck_widgets_size_capped CHECK (`size` <= 1000)"
                ],
            },
        ),
        pytest.param(
            "enum_left_behind",
            "b2000000e0e0",
            {"postgresql": ["+type widget_color AS ENUM ('red', 'green', 'blue')"]},
            marks=postgresql_only_fixture("enum_left_behind"),
        ),
    ],
)
def test_leftover_shows_as_a_catalog_diff(
    gate_server: DatabaseServer,
    scratch_database_url: URL,
    name: str,
    revision: str,
    expected: dict[str, list[str]],
) -> None:
    with pytest.raises(GateFailure) as failure:
        walk_history(fixture_history(name), gate_server, [NoTrace()], scratch=scratch_database_url)
    text = str(failure.value)
    assert "[downgrade-leaves-no-trace]" in text
    assert f"revision: {revision}" in text
    assert f"--- schema at a1000000{revision[8:]} (before upgrading to {revision})" in text
    for line in expected[dialect_for(scratch_database_url).name]:
        assert line in text
    assert "add the missing reverse operations to downgrade()" in text
