"""The gate's checks, one module each; this package also lists the per-revision ones.

`STEP_CHECKS` is what the walk runs at every revision step of the project. Their order here is
only a tie-break: the walk orders them from their declarations (`engine/protocol.py`). A new
per-revision check is a module here with one `StepCheck` class, added to this tuple, plus its
fixture histories.
"""

from __future__ import annotations

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
