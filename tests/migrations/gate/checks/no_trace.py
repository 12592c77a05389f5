"""Check 4: a downgrade leaves no trace, judged on the whole PostgreSQL catalog.

pytest-alembic's experimental version reflects tables only (enum types, sequences, CHECK
expressions and server defaults are invisible to it) and crashes on `autocommit_block()`. Here
the catalog snapshot before a revision's upgrade must equal the snapshot after its downgrade,
through real `alembic upgrade`/`downgrade` runs on rows, so `autocommit_block()` is exercised as
in production. The comparison itself (`moves.require_no_trace`) is also what the walk runs
whenever it returns the database to `before`, so a leftover is reported under this name
whichever check's move exposed it.
"""

from __future__ import annotations

from typing import ClassVar

from tests.migrations.gate.engine.moves import NO_TRACE, require_no_trace
from tests.migrations.gate.engine.protocol import Declarations, Fact, StepCheckBase, StepContext

CHECK = NO_TRACE


class NoTrace(StepCheckBase):
    """After the step's round trip on rows, the catalog equals the one the step started from."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(
        needs=frozenset({Fact.ROUND_TRIP}), provides=frozenset({Fact.AT_BEFORE})
    )

    def run(self, context: StepContext) -> bool:
        """Compare; the database is then known to be exactly at `before`."""
        with context.database.engine.connect() as connection:
            after = context.dialect.snapshot(connection)
            connection.commit()
        require_no_trace(context.history, context.step, context.before, after)
        return True
