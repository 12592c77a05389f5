"""Check 3: the stairway, up → down → up for every revision, on a database that holds rows.

Rows go in before each of the three moves (representative values reflected from the schema at
that moment), so a downgrade that only works on empty tables, or an upgrade that trips over
what its own downgrade left behind ("type … already exists"), fails here, naming the move. The
first two moves are the step's round trip on rows (`Fact.ROUND_TRIP`: the populated-upgrade
check's, or the walk's own); this check is the third, and leaves the database at the step.
"""

from __future__ import annotations

from typing import ClassVar

from tests.migrations.gate.engine.moves import upgrade_on_rows
from tests.migrations.gate.engine.protocol import (
    Declarations,
    Fact,
    Leaves,
    StepCheckBase,
    StepContext,
)

CHECK = "stairway"
HOW_TO_FIX = (
    "drop in downgrade() everything upgrade() creates, including enum types "
    "(`sa.Enum(...).drop(op.get_bind())` or `op.execute('DROP TYPE …')`), sequences, "
    "functions and indexes; the downgrade-leaves-no-trace check shows the exact leftover"
)


class Stairway(StepCheckBase):
    """Upgrade again, on rows, after the step's round trip."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(
        needs=frozenset({Fact.ROUND_TRIP}),
        provides=frozenset({Fact.UPGRADED_ON_ROWS}),
        leaves=Leaves.STEP,
    )

    def run(self, context: StepContext) -> bool:
        """Seed rows, upgrade to the step: the walk goes on from there."""
        history, step = context.history, context.step
        context.old_release = upgrade_on_rows(
            history,
            context.url,
            step,
            context.tables_for,
            check=CHECK,
            problem=(
                f"upgrading {step.revision} again after its downgrade failed: the downgrade left "
                f"something behind that upgrade() creates ({history.name})"
            ),
            how_to_fix=HOW_TO_FIX,
        )
        return True
