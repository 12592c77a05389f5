"""The contract between the walk and a per-revision check.

A per-revision check is one class in `checks/` with a name (its column in the gate's matrix and
its row in the README's check table) and declarations the walk reads:

- `needs`: facts that must hold when it starts (`Fact`);
- `provides`: facts it establishes; `disturbs`: facts it may break;
- `leaves`: where it leaves the database, at the step's `before` revision or at the step.

The walk (`walk.py`) orders a step's checks from those declarations alone (`plan_step`), and
supplies a fact that no chosen check provides with a plain move of its own (a round trip on
sample rows, a return to `before`). So a self-test walks a history with only the check it
tests, and a new check is one new module plus its fixtures: nothing else needs to know where it
runs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar

from sqlalchemy import URL, Connection

from tests.migrations.gate.dialects.base import CatalogSnapshot, Dialect
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.moves import OldRelease
from tests.migrations.gate.engine.steps import Step
from tests.migrations.gate.engine.working import WorkingDatabase

_T = TypeVar("_T")


class Fact(enum.Enum):
    """Something true about the database at a moment of a step, that a check can rely on."""

    AT_BEFORE = "at the step's before revision, with exactly the catalog the step started from"
    """True when a step starts. A check that may leave the database elsewhere disturbs it; the
    walk then brings the database back and compares the catalogs before the next check."""
    ROUND_TRIP = "the last thing done was a round trip of the step on rows"
    """Rows were in the step's tables before the upgrade and rows were written at the revision
    before the downgrade; the database is back at `before` (its catalog not yet compared), holding
    what a downgrade did to real data. Anything that moves the database since breaks it."""
    CLEAN_UPGRADE = "the catalog right after a clean upgrade of the step is known"
    """`StepContext.clean_upgrade` holds it: the schema a rerun of a failed upgrade must match.
    Reading it costs a catalog snapshot, so a check that provides it reads it only when a check
    that ran before it in the step asked (`StepContext.wanted`); the walk's round trip always
    does."""
    UPGRADED_ON_ROWS = (
        "at the step's revision, after upgrading on rows, with the rows of before still there"
    )
    """Where the previous release meets the new schema. `StepContext.old_release` holds the
    tables as they were at `before` and one write of that release per table. A check that
    needs it runs after the database reached the step (the check that `leaves` it there, or the
    walk's own `Move.UPGRADE_ON_ROWS`), and must leave the database exactly as it found it
    (writes rolled back): it declares no `disturbs`, and the walk goes on from there."""


class Leaves(enum.Enum):
    """Where a check leaves the database."""

    BEFORE = "at the step's before revision"
    STEP = "at the step's revision: only the last check of a step may, and the walk goes on"


@dataclass(frozen=True)
class Declarations:
    """A check's needs and effects, as the walk reads them."""

    needs: frozenset[Fact] = field(default_factory=frozenset)
    provides: frozenset[Fact] = field(default_factory=frozenset)
    disturbs: frozenset[Fact] = field(default_factory=frozenset)
    leaves: Leaves = Leaves.BEFORE
    finally_needs: frozenset[Fact] = field(default_factory=frozenset)
    """Facts its `finish` needs, established by anything later in the step (a failed-and-rerun
    upgrade is compared with a clean upgrade's catalog, which the round trip reads anyway)."""


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
        """How many hypothesis draws a check that generates rows merges into one batch."""
        self.patience = patience
        """How long an upgrade may queue behind a lock before a check calls it queueing."""
        self.tables_for = tables_for
        """The tables the step can touch, asked now (after the upgrade, new ones count)."""
        self.clean_upgrade: CatalogSnapshot | None = None
        """The catalog right after a clean upgrade of the step (`Fact.CLEAN_UPGRADE`)."""
        self.old_release: OldRelease | None = None
        """The release at `before` as it met the step (`Fact.UPGRADED_ON_ROWS`)."""
        self.observations: dict[str, object] = {}
        """What each check saw, by check name, for reports and the gate's self-tests."""
        self.wanted: set[Fact] = set()
        """Facts a check's `finish` turned out to need (`finally_needs`), asked for by its
        `run`: the walk makes an owed move only when it is wanted."""

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


class StepCheck(Protocol):
    """A check run at every step of the walk."""

    name: ClassVar[str]
    """Its name in failures, the matrix and the README's check table."""
    declarations: ClassVar[Declarations]

    def applies_to(self, context: StepContext) -> bool:
        """Whether it has anything to judge at this step (e.g. tables for another session to
        lock). A check that does not apply is not run and leaves every fact as it was."""
        ...

    def run(self, context: StepContext) -> bool:
        """Judge the step; raise `GateFailure` on a defect.

        Returns whether the database is known to be at `before` with its catalog untouched
        afterwards (True), or the walk must bring it back and verify it (False). A check that
        `leaves` the database at the step returns True once it is there.
        """
        ...

    def finish(self, context: StepContext) -> None:
        """Judge what needed facts established after `run` (`finally_needs`); read-only."""
        ...


class StepCheckBase:
    """Defaults for a `StepCheck`: it applies to every step and judges nothing at the end."""

    def applies_to(self, context: StepContext) -> bool:  # noqa: ARG002 (the protocol's signature)
        """Every step."""
        return True

    def finish(self, context: StepContext) -> None:
        """Nothing left to judge."""


class Move(enum.Enum):
    """What the walk does itself between checks, to supply a fact no chosen check provides."""

    RESTORE = "bring the database back to before and compare the catalog with the step's start"
    ROUND_TRIP = "sample rows in, upgrade, sample rows at the revision, downgrade"
    UPGRADE = "upgrade to the step, where the next step starts"
    UPGRADE_ON_ROWS = "sample rows in, the old release's writes noted, upgrade to the step"


@dataclass(frozen=True)
class Planned:
    """One item of a step's plan: a check, or a move the walk makes on behalf of `for_check`.

    A move's failure is reported as `for_check`'s: the check that needed the fact, or, for a
    restore, the check that left the database elsewhere.
    """

    check: StepCheck | None = None
    move: Move | None = None
    for_check: str = ""
    if_wanted: Fact | None = None
    """Made only if a check asked for this fact at run time (`StepContext.wanted`)."""

    def __str__(self) -> str:
        if self.check is not None:
            return self.check.name
        assert self.move is not None
        return f"{self.move.name.lower()} (for {self.for_check})"


class PlanError(Exception):
    """The chosen checks' declarations cannot be satisfied in any order."""


class _Planner:
    """Builds a step's plan while tracking which facts hold and who last disturbed AT_BEFORE."""

    def __init__(self) -> None:
        self.facts = {Fact.AT_BEFORE}
        self.plan: list[Planned] = []
        self.disturbed_by = ""
        self.established: dict[Fact, int] = {}
        """Where in the plan each fact was last established (by a move or a check's provides)."""

    def move(self, move: Move, for_check: str, if_wanted: Fact | None = None) -> None:
        held = set(self.facts)
        if move is Move.RESTORE:
            for_check = self.disturbed_by or for_check
            self.facts.add(Fact.AT_BEFORE)
            self.facts.discard(Fact.ROUND_TRIP)
        elif move is Move.ROUND_TRIP:
            if Fact.AT_BEFORE not in self.facts:
                self.move(Move.RESTORE, for_check)
            self.facts.discard(Fact.AT_BEFORE)
            self.facts.update({Fact.ROUND_TRIP, Fact.CLEAN_UPGRADE})
            self.disturbed_by = for_check
        self.plan.append(Planned(move=move, for_check=for_check, if_wanted=if_wanted))
        if if_wanted is not None:
            # Made or not at run time: only what holds either way, and not at `before` any more.
            self.facts &= held
            self.facts.discard(Fact.AT_BEFORE)
        if move is Move.RESTORE:
            self.established[Fact.AT_BEFORE] = len(self.plan) - 1
        elif move is Move.ROUND_TRIP:
            self.established.update(
                dict.fromkeys((Fact.ROUND_TRIP, Fact.CLEAN_UPGRADE), len(self.plan) - 1)
            )

    def check(self, check: StepCheck) -> None:
        self.plan.append(Planned(check=check))
        if Fact.AT_BEFORE in check.declarations.disturbs:
            self.disturbed_by = check.name
        self.facts.difference_update(check.declarations.disturbs)
        self.facts.update(check.declarations.provides)
        self.established.update(dict.fromkeys(check.declarations.provides, len(self.plan) - 1))

    def supply(self, check: StepCheck) -> None:
        """Supply what `check` still needs with the walk's own moves."""
        needs = check.declarations.needs
        if needs & ({Fact.ROUND_TRIP, Fact.CLEAN_UPGRADE} - self.facts):
            self.move(Move.ROUND_TRIP, check.name)
        if Fact.AT_BEFORE in needs and Fact.AT_BEFORE not in self.facts:
            self.move(Move.RESTORE, check.name)
        if not needs <= self.facts:
            raise PlanError(f"{check.name} needs {sorted(f.name for f in needs - self.facts)}")


def _plan_the_end(planner: _Planner, last: StepCheck | None, at_step: list[StepCheck]) -> None:
    """The check that leaves the database at the step (or the walk's upgrade), then the checks
    that judge the step on rows there."""
    if last is not None:
        planner.supply(last)
        planner.check(last)
    else:
        if Fact.AT_BEFORE not in planner.facts:
            planner.move(Move.RESTORE, "the next step")
        if at_step:
            planner.plan.append(Planned(move=Move.UPGRADE_ON_ROWS, for_check=at_step[0].name))
            planner.facts = {Fact.UPGRADED_ON_ROWS}
        else:
            planner.plan.append(Planned(move=Move.UPGRADE, for_check="the next step"))
    for check in at_step:
        if not check.declarations.needs <= planner.facts:
            missing = sorted(f.name for f in check.declarations.needs - planner.facts)
            raise PlanError(f"{check.name} needs {missing} at the step")
        planner.check(check)


def plan_step(checks: Sequence[StepCheck]) -> list[Planned]:
    """The order a step runs `checks` in, with the walk's own moves between them.

    Facts start as {AT_BEFORE}. Repeatedly, the first remaining check (in the given order)
    whose needs hold runs next; its `provides` are added and its `disturbs` removed. When none
    is ready, the walk first restores AT_BEFORE (a no-op at run time if the last check left the
    database untouched), and otherwise supplies the first check's missing facts with a round
    trip of its own. The check that leaves the database at the step runs last; without one, the
    walk upgrades to the step itself. Checks that need `Fact.UPGRADED_ON_ROWS` come after that,
    in the given order; the walk's own upgrade is then made on rows (`Move.UPGRADE_ON_ROWS`)
    unless the last check provides the fact.
    """
    last = [check for check in checks if check.declarations.leaves is Leaves.STEP]
    if len(last) > 1:
        raise PlanError(f"only one check may leave the database at the step: {last}")
    at_step = [c for c in checks if Fact.UPGRADED_ON_ROWS in c.declarations.needs]
    for check in at_step:
        if check.declarations.disturbs or check.declarations.leaves is Leaves.STEP:
            raise PlanError(f"{check.name} needs the step on rows: it must leave it as it was")
    pending = [
        check
        for check in checks
        if check.declarations.leaves is Leaves.BEFORE and check not in at_step
    ]
    planner = _Planner()
    owed: dict[Fact, tuple[str, int]] = {}
    """Facts a check's `finish` needs, with the check and its place in the plan: it is owed a
    move unless something later establishes the fact. Only later: a provider reads what it
    provides once a check asked for it at run time (`StepContext.wanted`)."""
    while pending:
        ready = next((c for c in pending if c.declarations.needs <= planner.facts), None)
        if ready is None and Fact.AT_BEFORE not in planner.facts:
            planner.move(Move.RESTORE, pending[0].name)
            continue
        if ready is None:
            ready = pending[0]
            planner.supply(ready)
        pending.remove(ready)
        planner.check(ready)
        for fact in ready.declarations.finally_needs:
            owed.setdefault(fact, (ready.name, len(planner.plan) - 1))
    final = last[0].declarations.needs if last else frozenset()
    if final & ({Fact.ROUND_TRIP, Fact.CLEAN_UPGRADE} - planner.facts):
        owed.clear()  # the last check's own round trip, made below, comes after them all
    for fact, (check_name, position) in owed.items():
        if planner.established.get(fact, -1) <= position:
            planner.move(Move.ROUND_TRIP, check_name, if_wanted=fact)
    _plan_the_end(planner, last[0] if last else None, at_step)
    return planner.plan
