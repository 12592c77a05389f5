"""The gate's core checks on MariaDB (issue 10): the project's history, and fixtures.

These run on whichever server `TEST_DATABASE_URL` names, through `gate_server` and the
dialect its URLs select; the walk runs `checks.step_checks_on(dialect)`, the per-revision
checks that have a meaning there. On PostgreSQL the project walk is `test_walk.py`'s (every
check), so this module is `mariadb_only` (deselected there); it reports the checks it leaves
out as not run, with why, in the matrix: never as passed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks import STEP_CHECKS, not_run_reason, not_yet_on, step_checks_on
from tests.migrations.gate.checks.lock_timeout import LockTimeout
from tests.migrations.gate.checks.no_trace import NoTrace
from tests.migrations.gate.checks.populated_upgrade import PopulatedOutcome, PopulatedUpgrade
from tests.migrations.gate.checks.upgrade import RevisionTemplates
from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.steps import BASE
from tests.migrations.gate.engine.walk import StepReport, walk_history
from tests.migrations.gate.failure import GateFailure, NotRun
from tests.migrations.gate.report.plugin import MatrixRecorder
from tests.support.servers import DatabaseServer

EXAMPLES = 10


pytestmark = pytest.mark.mariadb_only("on PostgreSQL, test_walk.py walks with every check")


def _require_mariadb(url: URL) -> str:
    name = dialect_for(url).name
    assert name == "mariadb", f"a mariadb_only test ran on {name}"
    return name


@pytest.mark.history
@pytest.mark.slow
def test_project_history_passes_the_core_checks_on_mariadb(
    gate_server: DatabaseServer,
    scratch_database_url: URL,
    project_templates: RevisionTemplates,
    gate_matrix: MatrixRecorder,
) -> None:
    dialect = _require_mariadb(scratch_database_url)
    history = History()
    checks = step_checks_on(dialect)
    revisions = [s.revision for s in history.revisions()]

    def passed(report: StepReport) -> None:
        for check in report.ran:
            gate_matrix.passed(check, [report.step.revision])

    try:
        reports = walk_history(
            history,
            gate_server,
            checks,
            scratch=scratch_database_url,
            stop_at=project_templates.broken,
            on_step=passed,
        )
    except GateFailure as failure:
        later = revisions[revisions.index(failure.revision) + 1 :] if failure.revision else []
        gate_matrix.not_run([c.name for c in checks], later)
        raise
    project_templates.require(*(c.name for c in checks))
    assert [r.step.revision for r in reports] == revisions
    for report in reports:
        populated = report.observed(PopulatedUpgrade.name, PopulatedOutcome)
        assert populated is not None
        assert not populated.unsupported, f"add a generator in rows.py: {populated.unsupported}"
        if report.tables:
            assert populated.rows > 0, report


@pytest.mark.history
def test_every_step_check_runs_on_mariadb(
    scratch_database_url: URL, project_history: History
) -> None:
    """No check is left out of the MariaDB walk; were one ever to be (a question a new server
    cannot answer yet), it would show as – with the reason, never as ✔."""
    dialect = _require_mariadb(scratch_database_url)
    missing = sorted(not_yet_on(dialect))
    if missing:
        revisions = [s.revision for s in project_history.revisions()]
        raise NotRun(missing, revisions, not_run_reason(dialect, missing))
    assert step_checks_on(dialect) == STEP_CHECKS


def test_a_downgrade_leaving_an_index_fails_on_mariadb(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    _require_mariadb(scratch_database_url)
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history("mariadb_index_left_behind"),
            gate_server,
            (NoTrace(),),
            scratch=scratch_database_url,
            examples=EXAMPLES,
        )
    failure = raised.value
    assert (failure.check, failure.revision) == (NoTrace.name, "b2000000ba1d"), str(failure)
    assert "+table widgets: index ix_widgets_name USING BTREE (name)" in str(failure)


def test_a_clean_downgrade_passes_every_core_check_on_mariadb(
    gate_server: DatabaseServer, scratch_database_url: URL
) -> None:
    dialect = _require_mariadb(scratch_database_url)
    history = fixture_history("mariadb_clean_index")
    checks = step_checks_on(dialect)
    reports = walk_history(
        history, gate_server, checks, scratch=scratch_database_url, examples=EXAMPLES
    )
    assert [r.step.revision for r in reports] == [s.revision for s in history.revisions()]
    for report in reports:
        # lock-timeout does not apply to the first step: no table exists for a reader to hold
        skipped = {LockTimeout.name} if report.step.before == BASE else set()
        assert set(report.ran) == {c.name for c in checks} - skipped, report.step
