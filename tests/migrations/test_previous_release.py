"""Check 16: the previous release writes and reads the database at the new revision."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.fixture_servers import fixtures, postgresql_only_fixture
from tests.migrations.gate.checks.previous_release import PreviousRelease
from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.servers import DatabaseServer


@pytest.mark.parametrize(
    "name",
    [
        "prev_compatible",
        "prev_contract_declared",
        "safe_changes",
        "correct_new_table",
        "declared_data_change",
        *fixtures("newcomer_colour"),
    ],
)
def test_compatible_and_declared_changes_pass(
    gate_server: DatabaseServer, scratch_database_url: URL, name: str
) -> None:
    history = fixture_history(name)
    reports = walk_history(history, gate_server, [PreviousRelease()], scratch=scratch_database_url)
    assert [r.ran for r in reports] == [(PreviousRelease.name,)] * len(reports)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # (the server's own words for the old write it refuses, by server)
        (
            "prev_dropped_default",
            {
                "postgresql": 'null value in column "size"',
                "mariadb": "Field 'size' doesn't have a default value",
            },
        ),
        (
            "prev_required_column",
            {
                "postgresql": 'null value in column "weight"',
                "mariadb": "Field 'weight' doesn't have a default value",
            },
        ),
        pytest.param(
            "prev_renamed_column",
            {"postgresql": "column note is gone"},
            marks=postgresql_only_fixture("prev_renamed_column"),
        ),
        (
            "prev_dropped_column",
            {"postgresql": "column note is gone", "mariadb": "column note is gone"},
        ),
        (
            "prev_new_rule",
            {"postgresql": "ck_widgets_name_long", "mariadb": "ck_widgets_name_long"},
        ),
    ],
)
def test_changes_that_break_the_previous_release_fail(
    gate_server: DatabaseServer,
    scratch_database_url: URL,
    name: str,
    expected: dict[str, str],
) -> None:
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history(name),
            gate_server,
            [PreviousRelease()],
            scratch=scratch_database_url,
        )
    failure = raised.value
    text = str(failure)
    assert failure.check == "previous-release", text
    assert failure.revision is not None
    assert failure.revision.startswith("b16"), text
    assert expected[dialect_for(scratch_database_url).name] in text, text
    assert "cannot work on the database at" in text
    assert "expand/contract" in text


def test_a_stale_declaration_fails(gate_server: DatabaseServer, scratch_database_url: URL) -> None:
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("prev_stale_declaration"),
            gate_server,
            [PreviousRelease()],
            scratch=scratch_database_url,
        )
    text = str(raised.value)
    assert "excuses nothing" in text
    assert "`breaks_previous_release['widgets.color']` is stale" in text
