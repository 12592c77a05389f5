"""Check 6: every step upgraded on rows hypothesis generates for the schema at that revision."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import URL

from tests.migrations.fixture_servers import fixtures, postgresql_only_fixture
from tests.migrations.gate.checks.populated_upgrade import PopulatedUpgrade
from tests.migrations.gate.checks.upgrade import check_upgrade
from tests.migrations.gate.engine.edited import named_history
from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.walk import walk_history
from tests.migrations.gate.failure import GateFailure
from tests.support.servers import DatabaseServer

SELF_TEST_EXAMPLES = 15
"""Enough for a broken fixture to fail at once and a correct one to meet varied rows."""


@pytest.mark.parametrize(
    # Not comment_formatting_edit: its revisions are AST-identical to the project's (edited.py
    # proves it), which test_walk.py already walks revision by revision.
    "name",
    fixtures("correct_new_column", "correct_new_table"),
)
def test_correct_histories_keep_generated_rows(
    gate_server: DatabaseServer, scratch_database_url: URL, name: str
) -> None:
    walk_history(
        named_history(name),
        gate_server,
        [PopulatedUpgrade()],
        examples=SELF_TEST_EXAMPLES,
        scratch=scratch_database_url,
    )


@postgresql_only_fixture("not_null_no_default")
def test_not_null_column_without_default_fails_only_with_rows(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    history = fixture_history("not_null_no_default")
    check_upgrade(history, gate_server)  # the empty database takes it
    with pytest.raises(GateFailure) as failure:
        walk_history(
            history,
            gate_server,
            [PopulatedUpgrade()],
            examples=SELF_TEST_EXAMPLES,
            scratch=scratch_database_url,
        )
    text = str(failure.value)
    assert "[populated-upgrade]" in text
    assert "revision: b2000000beef" in text
    assert "fails on a database holding rows" in text
    assert "NotNullViolation" in text
    assert 'column "weight" of relation "widgets" contains null values' in text
    assert re.search(r"rows inserted at a1000000beef: \{'widgets': [1-9]\d*\}", text)
    assert "server_default" in text


def test_truncating_upgrade_loses_rows(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    text = populated_failure("data_loss_truncate", gate_server, scratch_database_url)
    assert "revision: b2000000dead" in text
    assert "loses or changes existing data" in text
    assert "table widgets: row {'id': 1} lost (was: id=1, name=" in text
    assert "never TRUNCATE or DELETE user data" in text


def test_drop_and_readd_column_changes_values(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    text = populated_failure("data_loss_readd_column", gate_server, scratch_database_url)
    assert "revision: b2000000c0de" in text
    assert "loses or changes existing data" in text
    assert re.search(r"table widgets: row \{'id': \d+\}: size was [1-9]\d*, now 0", text)


def test_new_not_null_column_must_hold_its_default_on_old_rows(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    text = populated_failure("backfill_not_default", gate_server, scratch_database_url)
    assert "revision: b2000000bf0d" in text
    assert re.search(
        r"table widgets: row \{'id': \d+\}: new NOT NULL column weight holds \d+, "
        r"but its server default is 1",
        text,
    )


def test_undeclared_data_change_is_reported(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    text = populated_failure("undeclared_data_change", gate_server, scratch_database_url)
    assert "revision: b2000000dec0" in text
    assert re.search(r"table widgets: row \{'id': \d+\}: note was None, now ''", text)
    assert 'changes_data = {"table.column": "why"}' in text


def test_declared_data_change_passes(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    """A data fix that says what it changes, and why, is a correct change."""
    walk_history(
        fixture_history("declared_data_change"),
        gate_server,
        [PopulatedUpgrade()],
        examples=SELF_TEST_EXAMPLES,
        scratch=scratch_database_url,
    )


def test_data_change_declaration_needs_a_reason(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    text = populated_failure("weak_data_declaration", gate_server, scratch_database_url)
    assert "the `changes_data` declaration of b2000000dec2 is not valid" in text
    assert "no real reason ('ok')" in text


def populated_failure(name: str, server: DatabaseServer, scratch: URL) -> str:
    """The report of the populated check on fixture history `name`, which must fail it."""
    with pytest.raises(GateFailure) as failure:
        walk_history(
            fixture_history(name),
            server,
            [PopulatedUpgrade()],
            examples=SELF_TEST_EXAMPLES,
            scratch=scratch,
        )
    return str(failure.value)
