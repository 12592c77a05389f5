"""The gate's checks, one module each; this package also lists the per-revision ones.

`STEP_CHECKS` is what the walk runs at every revision step of the project. Their order here is
only a tie-break: the walk orders them from their declarations (`engine/protocol.py`). A new
per-revision check is a module here with one `StepCheck` class, added to this tuple, plus its
fixture histories.

Not every check has a meaning on every server yet: `NOT_YET_ON` names, per dialect, the checks
that need a question their dialect cannot answer (it raises `NotImplementedError`), and why.
`step_checks_on(dialect)` leaves them out of the walk, and the walk's test reports them as not
run on that server (a visible note in the matrix), never as passed.
"""

from __future__ import annotations

from collections.abc import Iterable

from tests.migrations.gate.checks.app_privileges import AppPrivileges
from tests.migrations.gate.checks.atomic_failure import AtomicFailure
from tests.migrations.gate.checks.lock_holds import LockHolds
from tests.migrations.gate.checks.lock_timeout import LockTimeout
from tests.migrations.gate.checks.no_trace import NoTrace
from tests.migrations.gate.checks.populated_upgrade import PopulatedUpgrade
from tests.migrations.gate.checks.previous_release import PreviousRelease
from tests.migrations.gate.checks.sequences import Sequences
from tests.migrations.gate.checks.stairway import Stairway
from tests.migrations.gate.engine.protocol import StepCheck

STEP_CHECKS: tuple[StepCheck, ...] = (
    LockTimeout(),
    AtomicFailure(),
    PopulatedUpgrade(),
    NoTrace(),
    Stairway(),
    PreviousRelease(),
    Sequences(),
    LockHolds(),
    AppPrivileges(),
)

NOT_YET_ON: dict[str, dict[str, str]] = {}
"""Checks that do not run on a dialect yet, by dialect name, with what they miss (issue 10)."""


def not_yet_on(dialect: str) -> dict[str, str]:
    """The checks of the gate that do not run on `dialect` yet, with the reason to show."""
    return NOT_YET_ON.get(dialect, {})


def not_run_reason(dialect: str, checks: Iterable[str]) -> str:
    """The note a report shows for `checks` left out on `dialect`."""
    missing = not_yet_on(dialect)
    named = "; ".join(f"{check}: {missing[check]}" for check in checks if check in missing)
    return f"not run on {dialect} yet (issue 10): {named}"


def step_checks_on(dialect: str) -> tuple[StepCheck, ...]:
    """`STEP_CHECKS` but those that have no meaning on `dialect` yet."""
    missing = not_yet_on(dialect)
    return tuple(check for check in STEP_CHECKS if check.name not in missing)
