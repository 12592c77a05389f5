"""The per-revision checks (`checks.STEP_CHECKS`) walked together on one database.

The project's history is judged here (one walk, no database copies); the fixture histories
prove that the walk, not only each check on its own, catches every kind of defect those checks
exist for.
"""

from __future__ import annotations

import pytest
from sqlalchemy import URL

from tests.migrations.gate.checks import STEP_CHECKS
from tests.migrations.gate.checks.app_privileges import AppPrivileges, PrivilegesOutcome
from tests.migrations.gate.checks.atomic_failure import AtomicFailure, FailureOutcome
from tests.migrations.gate.checks.lock_holds import LockHolds, LockHoldsOutcome
from tests.migrations.gate.checks.lock_timeout import LockTimeout, LockWaitOutcome
from tests.migrations.gate.checks.populated_upgrade import PopulatedOutcome, PopulatedUpgrade
from tests.migrations.gate.checks.upgrade import RevisionTemplates
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.render import render_revision
from tests.migrations.gate.engine.steps import BASE
from tests.migrations.gate.engine.walk import StepReport, walk_history
from tests.migrations.gate.failure import GateFailure
from tests.migrations.gate.report.locks import LockRow
from tests.migrations.gate.report.plugin import MatrixRecorder
from tests.support.postgres import PostgresServer

SELF_TEST_EXAMPLES = 15

pytestmark = pytest.mark.postgresql_only(
    "every step check walks here, lock-timeout, atomic-failure, lock-holds and app-privileges "
    "among them (issue 10); the MariaDB walk is test_mariadb_gate.py"
)


@pytest.mark.history
@pytest.mark.slow
def test_project_history_passes_every_step_check(
    postgres_server: PostgresServer,
    scratch_database_url: URL,
    project_templates: RevisionTemplates,
    gate_matrix: MatrixRecorder,
) -> None:
    history = History()
    names = [check.name for check in STEP_CHECKS]
    revisions = [s.revision for s in history.revisions()]

    def passed(report: StepReport) -> None:
        for check in report.ran:
            gate_matrix.passed(check, [report.step.revision])
        locks = report.observed(LockHolds.name, LockHoldsOutcome)
        if locks is not None:
            revision = report.step.revision
            rows = [LockRow(revision, h.table, h.mode, h.ms, h.note) for h in locks.holds]
            gate_matrix.lock_holds(revision, rows, budget_ms=locks.budget_ms)

    try:
        reports = walk_history(
            history,
            postgres_server,
            STEP_CHECKS,
            scratch=scratch_database_url,
            stop_at=project_templates.broken,
            on_step=passed,
        )
    except GateFailure as failure:
        later = revisions[revisions.index(failure.revision) + 1 :] if failure.revision else []
        gate_matrix.not_run(names, later)
        raise
    # Up to the revision that does not upgrade, if any; it and the rest are not run.
    project_templates.require(*names)
    assert [r.step.revision for r in reports] == revisions
    for report in reports:
        populated = report.observed(PopulatedUpgrade.name, PopulatedOutcome)
        assert populated is not None
        assert not populated.unsupported, f"add a generator in rows.py: {populated.unsupported}"
        if report.tables:  # rows were really generated, not all refused by constraints
            assert populated.rows > 0, report
        outcome = report.observed(AtomicFailure.name, FailureOutcome)
        assert outcome is not None
        assert outcome.error == "LockNotAvailable: canceling statement due to lock timeout"
        part_way = render_revision(history, report.step.revision, "up").commits_part_way
        assert outcome.rolled_back == (not part_way)
        assert (outcome.rerun_schema is not None) == part_way
        privileges = report.observed(AppPrivileges.name, PrivilegesOutcome)
        assert privileges is not None
        assert set(report.tables) <= set(privileges.round_tripped), privileges
        assert not privileges.unprobed, privileges
    lock_waits = [r.observed(LockTimeout.name, LockWaitOutcome) for r in reports]
    assert any(wait is not None and wait.gave_up for wait in lock_waits)


@pytest.mark.parametrize(
    "name",
    [
        "safe_changes",
        "correct_new_table",
        "declared_data_change",
        "prev_compatible",
        "prev_contract_declared",
        "sequence_restarted",
        "check_validated_later",
        "declared_lock_hold",
        "privileges_granted",
    ],
)
def test_correct_histories_pass_the_walk(
    postgres_server: PostgresServer, scratch_database_url: URL, name: str
) -> None:
    history = fixture_history(name)
    reports = walk_history(
        history,
        postgres_server,
        STEP_CHECKS,
        scratch=scratch_database_url,
        examples=SELF_TEST_EXAMPLES,
    )
    assert [r.step.revision for r in reports] == [s.revision for s in history.revisions()]
    every_check = {check.name for check in STEP_CHECKS}
    for report in reports:
        # Every check judged every step, but the lock check the first (no table to lock yet).
        skipped = {LockTimeout.name} if report.step.before == BASE else set()
        assert set(report.ran) == every_check - skipped, report.step


@pytest.mark.parametrize(
    ("name", "defect"),
    [
        (
            "not_null_no_default",
            (
                "populated-upgrade",
                "b2000000beef",
                'column "weight" of relation "widgets" contains null values',
            ),
        ),
        (
            "data_loss_truncate",
            ("populated-upgrade", "b2000000dead", "table widgets: row {'id': 1}"),
        ),
        (
            "downgrade_fails_on_rows",
            (
                "populated-upgrade",
                "b2000000d0f0",
                'column "name" of relation "widgets" contains null values',
            ),
        ),
        (
            "enum_left_behind",
            (
                "downgrade-leaves-no-trace",
                "b2000000e0e0",
                "+type widget_color AS ENUM ('red', 'green', 'blue')",
            ),
        ),
        (
            "pass_downgrade",
            (
                "downgrade-leaves-no-trace",
                "b2000000fa55",
                "+table widgets: column color character varying(20) NULL",
            ),
        ),
        (
            "non_atomic_failure",
            ("atomic-failure", "na02_not_rerunnable", "already exists"),
        ),
        (
            "timeouts_disabled",
            ("lock-timeout", "td02_no_lock_timeout", "never fired"),
        ),
        (
            "prev_dropped_default",
            ("previous-release", "b16000000002", 'null value in column "size"'),
        ),
        (
            "prev_required_column",
            ("previous-release", "b16010000002", 'null value in column "weight"'),
        ),
        (
            "prev_dropped_column",
            ("previous-release", "b16030000002", "column note is gone"),
        ),
        (
            "prev_new_rule",
            ("previous-release", "b16040000002", "ck_widgets_name_long"),
        ),
        (
            "sequence_behind",
            ("sequences", "5e0000000bad", "the sequence of widgets.id is behind the rows"),
        ),
        (
            "lock_held_too_long",
            ("lock-holds", "1c000000dead", "ACCESS EXCLUSIVE on widgets for"),
        ),
        (
            "privileges_revoked",
            ("app-privileges", "9b0000000002", "parts: lacks INSERT, UPDATE, DELETE"),
        ),
        (
            "privileges_other_owner",
            ("app-privileges", "9d0000000002", "parts: is owned by items_app"),
        ),
        (
            "privileges_row_security",
            ("app-privileges", "9c0000000002", "widgets: SELECT sees 0 of its"),
        ),
    ],
)
def test_the_walk_catches_each_kind_of_defect(
    postgres_server: PostgresServer,
    scratch_database_url: URL,
    name: str,
    defect: tuple[str, str, str],
) -> None:
    check, revision, expected = defect
    with pytest.raises(GateFailure) as raised:
        walk_history(
            fixture_history(name),
            postgres_server,
            STEP_CHECKS,
            scratch=scratch_database_url,
            examples=SELF_TEST_EXAMPLES,
            patience=1.0,
        )
    failure = raised.value
    assert (failure.check, failure.revision) == (check, revision), str(failure)
    assert expected in str(failure)
