"""The contract between the walk and a per-revision check.

A per-revision check is one class in `checks/` with a name (its row in the README's check
table) and three declarations the walk reads:

- `needs`: facts that must hold when it starts (`Fact`);
- `provides` / `disturbs`: facts it establishes or breaks;
- `leaves`: where it leaves the database, at the step's `before` revision or at the step.

The walk (`walk.py`) orders the checks of a step from those declarations alone, and supplies a
fact no chosen check provides with a plain step of its own (a round trip on sample rows, a
catalog comparison). So a self-test can walk a history with the one check it tests, and a new
check is one new module with its fixtures: nothing else needs to know where it runs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar

from sqlalchemy import URL, Connection

from tests.migrations.gate.dialects.base import CatalogSnapshot, Dialect
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.steps import Step
from tests.migrations.gate.engine.working import WorkingDatabase


class Fact(enum.Enum):
    """Something true about the database at a moment of a step, that a check can rely on."""

    AT_BEFORE = "the catalog is exactly the one the step started from"
    """True when a step starts; broken by a round trip until someone compares the catalogs."""
    ROUND_TRIP = "the step was upgraded and downgraded with rows in its tables"
    """Rows were in the tables before the upgrade, and rows were written at the revision."""
    CLEAN_UPGRADE = "the catalog of a clean upgrade of the step is known"


class Leaves(enum.Enum):
    """Where a check leaves the database."""

    BEFORE = "at the step's before revision"
    STEP = "at the step's revision (only the last check of a step)"


class StepContext:
    """What one step's checks share: the database, what is known about it, what they saw."""

    def __init__(
        self,
        *,
        history: History,
        database: WorkingDatabase,
        step: Step,
        tables: tuple[str, ...],
        before: CatalogSnapshot,
        examples: int,
        patience: float,
        tables_for: Callable[[Connection], tuple[str, ...]],
    ) -> None:
        self.history = history
        self.database = database
        self.step = step
        self.tables = tables
        """The tables (existing at `before`) this step can touch: rows go only there."""
        self.before = before
        """The catalog when the step started."""
        self.examples = examples
        """How many hypothesis draws a check that generates rows should merge into one batch."""
        self.patience = patience
        """How long an upgrade may queue behind a lock before a check calls it queueing."""
        self.tables_for = tables_for
        """The tables the step can touch, asked now (after the upgrade, new ones count)."""
        self.clean_upgrade: CatalogSnapshot | None = None
        """The catalog right after a clean upgrade of the step (`Fact.CLEAN_UPGRADE`)."""
        self.observations: dict[str, object] = {}
        """What each check saw, by check name, for reports and the gate's self-tests."""

    @property
    def url(self) -> URL:
        """Where the working database is."""
        return self.database.url

    @property
    def dialect(self) -> Dialect:
        """The server's dialect."""
        return self.database.dialect

    def observed(self, check: str, kind: type[_T]) -> _T | None:
        """What `check` recorded at this step, if it ran and recorded a `kind`."""
        value = self.observations.get(check)
        return value if isinstance(value, kind) else None


_T = TypeVar("_T")


@dataclass(frozen=True)
class Declarations:
    """A check's needs and effects, as the walk reads them."""

    needs: frozenset[Fact] = field(default_factory=frozenset)
    provides: frozenset[Fact] = field(default_factory=frozenset)
    disturbs: frozenset[Fact] = field(default_factory=frozenset)
    leaves: Leaves = Leaves.BEFORE


class StepCheck(Protocol):
    """A check run at every step of the walk."""

    name: ClassVar[str]
    """Its name in failures, the matrix and the README's check table."""
    declarations: ClassVar[Declarations]

    def applies_to(self, context: StepContext) -> bool:
        """Whether it has anything to judge at this step (e.g. tables to lock)."""
        ...

    def run(self, context: StepContext) -> bool:
        """Judge the step; raise `GateFailure` on a defect.

        Returns whether the database is known to be untouched at `before` afterwards (True),
        or the walk must bring it back and verify it (False). A check that `leaves` the
        database at the step returns True once it is there.
        """
        ...
