"""Check 4: a downgrade leaves no trace, judged on the whole PostgreSQL catalog.

pytest-alembic's experimental version reflects tables only (enum types, sequences, CHECK
expressions and server defaults are invisible to it) and crashes on `autocommit_block()`. Here
the catalog snapshot before a revision's upgrade must equal the snapshot after its downgrade,
through real `alembic upgrade`/`downgrade` runs, so `autocommit_block()` is exercised as in
production.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import URL

from tests.migrations.gate.dialects.base import CatalogSnapshot
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.snapshots import snapshot_of
from tests.migrations.gate.engine.steps import Step, run_step, steps
from tests.migrations.gate.failure import GateFailure

CHECK = "downgrade-leaves-no-trace"
HOW_TO_FIX = (
    "lines starting with '-' are schema the downgrade did not restore, '+' lines are what it "
    "left behind; add the missing reverse operations to downgrade() (drop enum types, "
    "sequences and functions upgrade() created; restore NOT NULL/nullable, defaults, types and "
    "CHECK constraints it changed)"
)


def check_no_trace_step(history: History, url: URL, step: Step) -> None:
    """On `url` (at `step.before`): snapshot, upgrade, downgrade, snapshot, compare."""
    before = snapshot_of(url)
    for action, move in (
        (partial(history.upgrade, url, step.revision), "upgrade"),
        (partial(history.downgrade, url, step.before), "downgrade"),
    ):
        run_step(
            action,
            check=CHECK,
            problem=f"{move} of {step.revision} failed ({history.name})",
            how_to_fix="fix the error first; the upgrade and stairway checks say more",
            revision=step.revision,
        )
    require_no_trace(history, step, before, snapshot_of(url))


def require_no_trace(
    history: History, step: Step, before: CatalogSnapshot, after: CatalogSnapshot
) -> None:
    """Fail unless `after` (the catalog after the step's up and down) equals `before`."""
    difference = before.diff(
        after,
        before=f"schema at {step.before} (before upgrading to {step.revision})",
        after=f"schema after downgrading {step.revision} back to {step.before}",
    )
    if difference:
        raise GateFailure(
            check=CHECK,
            problem=(
                f"downgrade() of {step.revision} does not restore the schema of {step.before} "
                f"({history.name})"
            ),
            how_to_fix=HOW_TO_FIX,
            revision=step.revision,
            details=difference,
        )


def check_no_trace(history: History, url: URL) -> None:
    """Every step in order on one database, from `url` at base up to head."""
    for step in steps(history):
        check_no_trace_step(history, url, step)
        history.upgrade(url, step.revision)
