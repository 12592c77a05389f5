"""The walk orders a step's checks from their declarations alone (`engine/protocol.py`)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from tests.migrations.gate.checks import STEP_CHECKS
from tests.migrations.gate.checks.app_privileges import AppPrivileges
from tests.migrations.gate.checks.atomic_failure import AtomicFailure
from tests.migrations.gate.checks.lock_holds import LockHolds
from tests.migrations.gate.checks.lock_timeout import LockTimeout
from tests.migrations.gate.checks.no_trace import NoTrace
from tests.migrations.gate.checks.populated_upgrade import PopulatedUpgrade
from tests.migrations.gate.checks.previous_release import PreviousRelease
from tests.migrations.gate.checks.sequences import Sequences
from tests.migrations.gate.checks.stairway import Stairway
from tests.migrations.gate.engine.protocol import (
    Declarations,
    Fact,
    Leaves,
    PlanError,
    StepCheck,
    StepCheckBase,
    StepContext,
    plan_step,
)


def plan_of(checks: list[StepCheck] | tuple[StepCheck, ...]) -> list[str]:
    return [str(item) + ("?" if item.if_wanted else "") for item in plan_step(checks)]


def test_the_full_walk_runs_every_check_once_with_restores_between() -> None:
    assert plan_of(STEP_CHECKS) == [
        "lock-timeout",
        "restore (for lock-timeout)",
        "atomic-failure",
        "restore (for atomic-failure)",
        "populated-upgrade",
        "downgrade-leaves-no-trace",
        "stairway",
        "previous-release",
        "sequences",
        "lock-holds",
        "app-privileges",
    ]


def test_the_order_comes_from_the_declarations_not_the_listing() -> None:
    plan = plan_of(tuple(reversed(STEP_CHECKS)))
    assert plan.index("populated-upgrade") < plan.index("downgrade-leaves-no-trace")
    # The checks of the step on rows come after the stairway brought the database there.
    assert plan[-5:] == [
        "stairway",
        "app-privileges",
        "lock-holds",
        "sequences",
        "previous-release",
    ]
    # The stairway needs a round trip just before it; the lock check moved the database since.
    assert plan[-6] == "round_trip (for stairway)"
    # That round trip comes after atomic-failure, so it also reads the clean upgrade's catalog
    # the check may ask for: populated-upgrade, which ran before the check asked, cannot.
    assert not any(item.if_wanted for item in plan_step(tuple(reversed(STEP_CHECKS))))


@pytest.mark.parametrize(
    ("check", "plan"),
    [
        (Stairway(), ["round_trip (for stairway)", "stairway"]),
        (
            NoTrace(),
            [
                "round_trip (for downgrade-leaves-no-trace)",
                "downgrade-leaves-no-trace",
                "upgrade (for the next step)",
            ],
        ),
        (
            LockTimeout(),
            ["lock-timeout", "restore (for lock-timeout)", "upgrade (for the next step)"],
        ),
        (
            PopulatedUpgrade(),
            [
                "populated-upgrade",
                "restore (for populated-upgrade)",
                "upgrade (for the next step)",
            ],
        ),
        (
            # Without the stairway, the walk's own upgrade to the step is made on rows.
            PreviousRelease(),
            [
                "upgrade_on_rows (for previous-release)",
                "previous-release",
            ],
        ),
        (
            Sequences(),
            ["upgrade_on_rows (for sequences)", "sequences"],
        ),
        (
            # The locks are sampled during that upgrade on rows.
            LockHolds(),
            ["upgrade_on_rows (for lock-holds)", "lock-holds"],
        ),
        (
            AppPrivileges(),
            ["upgrade_on_rows (for app-privileges)", "app-privileges"],
        ),
        (
            # The clean upgrade a rerun is compared with is read only when a rerun happened.
            AtomicFailure(),
            [
                "atomic-failure",
                "restore (for atomic-failure)",
                "round_trip (for atomic-failure)?",
                "restore (for atomic-failure)",
                "upgrade (for the next step)",
            ],
        ),
    ],
    ids=lambda value: getattr(value, "name", ""),
)
def test_a_single_check_gets_the_walks_own_moves_for_what_it_needs(
    check: StepCheck, plan: list[str]
) -> None:
    assert plan_of([check]) == plan


class _AlsoLeavesAtStep(StepCheckBase):
    name: ClassVar[str] = "also-leaves-at-step"
    declarations: ClassVar[Declarations] = Declarations(leaves=Leaves.STEP)

    def run(self, context: StepContext) -> bool:  # noqa: ARG002 (never run: the plan fails)
        return True


def test_two_checks_that_leave_the_database_at_the_step_cannot_be_planned() -> None:
    with pytest.raises(PlanError, match="only one check may leave the database at the step"):
        plan_step([Stairway(), _AlsoLeavesAtStep()])


def test_checks_of_the_step_on_rows_share_one_upgrade_on_rows() -> None:
    assert plan_of([Sequences(), PopulatedUpgrade(), PreviousRelease()]) == [
        "populated-upgrade",
        "restore (for populated-upgrade)",
        "upgrade_on_rows (for sequences)",
        "sequences",
        "previous-release",
    ]


class _MovesAtTheStep(StepCheckBase):
    name: ClassVar[str] = "moves-at-the-step"
    declarations: ClassVar[Declarations] = Declarations(
        needs=frozenset({Fact.UPGRADED_ON_ROWS}), disturbs=frozenset({Fact.AT_BEFORE})
    )

    def run(self, context: StepContext) -> bool:  # noqa: ARG002 (never run: the plan fails)
        return True


def test_a_check_of_the_step_on_rows_must_leave_it_as_it_found_it() -> None:
    with pytest.raises(PlanError, match="must leave it as it was"):
        plan_step([Stairway(), _MovesAtTheStep()])


class _LeavesAtStepWithoutRows(StepCheckBase):
    name: ClassVar[str] = "leaves-at-step-without-rows"
    declarations: ClassVar[Declarations] = Declarations(leaves=Leaves.STEP)

    def run(self, context: StepContext) -> bool:  # noqa: ARG002 (never run: the plan fails)
        return True


def test_the_check_leaving_at_the_step_must_provide_the_rows_the_later_ones_need() -> None:
    with pytest.raises(PlanError, match="previous-release needs"):
        plan_step([_LeavesAtStepWithoutRows(), PreviousRelease()])
