"""Check 2: base → head one revision at a time on an empty database."""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.fixture_servers import fixtures
from tests.migrations.gate.checks.upgrade import CHECK, RevisionTemplates, check_upgrade
from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.engine.edited import named_history
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.plugin import MatrixRecorder
from tests.support.servers import DatabaseServer


@pytest.mark.history
def test_project_upgrades_base_to_head(
    project_templates: RevisionTemplates, project_history: History, gate_matrix: MatrixRecorder
) -> None:
    gate_matrix.passed(CHECK, project_templates.reached)
    gate_matrix.not_run([CHECK], project_templates.blocked()[1:])
    project_templates.raise_failure()
    reached = set(project_templates.reached)
    assert reached == {script.revision for script in project_history.revisions()}


def test_failure_names_the_revision_and_shows_the_database_error(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    with pytest.raises(GateFailure) as failure:
        check_upgrade(fixture_history("failing_upgrade"), gate_server, scratch_database_url)
    text = str(failure.value)
    assert "[upgrade]" in text
    assert "revision: b2000000fa11" in text
    assert "from a1000000fa11 to b2000000fa11" in text
    said = {
        "postgresql": 'relation "widget" does not exist',
        "mariadb": "widget' doesn't exist",
    }
    assert said[dialect_for(scratch_database_url).name] in text
    assert "ALTER TABLE widget ADD COLUMN color" in text


@pytest.mark.parametrize(
    # not_null_no_default upgrades an empty database on both servers (it fails only on rows)
    "name",
    [*fixtures("correct_new_column", "correct_new_table"), "not_null_no_default"],
)
def test_correct_and_empty_safe_histories_upgrade(
    gate_server: DatabaseServer, scratch_database_url: URL, name: str
) -> None:
    """`not_null_no_default` passes here on purpose: only the populated check catches it."""
    check_upgrade(named_history(name), gate_server, scratch_database_url)
