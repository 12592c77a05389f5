"""Check 6: upgrades of populated databases, with rows hypothesis invents for each revision.

For every step, the schema *at the step's starting revision* is reflected from the database
(types, lengths, nullability, CHECK bounds, foreign keys), hypothesis generates rows for it,
they are inserted, and the step is upgraded. Invariants:

- no row is lost, and every value that existed keeps its value (compared by primary key);
- a new NOT NULL column with a constant server default holds that default on the old rows;
- after the downgrade, the original rows come back exactly.

Each step makes one round trip on many hypothesis draws merged into one batch
(`generated_plan`): it is the migrations, not the rows, that cost. The batch starts from a reset
`WorkingDatabase` (tables emptied; the catalog compared unless the walk vouched for it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, NoReturn

from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis.control import currently_in_test_context
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.dialects.base import CatalogSnapshot
from tests.migrations.gate.engine.declarations import valid_entries
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.moves import seed_samples
from tests.migrations.gate.engine.protocol import Declarations, Fact, StepCheckBase, StepContext
from tests.migrations.gate.engine.relevance import TablesFor
from tests.migrations.gate.engine.rows import (
    GeneratedRow,
    Row,
    RowsPlan,
    SchemaSpec,
    describe_row,
    insert_rows,
    read_rows,
    reflect_schema,
    rows_strategy,
    same_value,
)
from tests.migrations.gate.engine.steps import Step, database_error_lines, run_step
from tests.migrations.gate.engine.working import WorkingDatabase
from tests.migrations.gate.failure import GateFailure

CHECK = "populated-upgrade"
DECLARATION = "changes_data"
MAX_REPORTED = 12
_FUNCTION_CALL = re.compile(r"[A-Za-z_][\w.]*\s*\(")

Contents = Mapping[str, Sequence[Row]]


def _key(row: Row, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row.get(column) for column in columns)


def _constant_defaults(
    connection: Connection, before: SchemaSpec, after: SchemaSpec
) -> dict[tuple[str, str], Any]:
    """Values of constant server defaults of NOT NULL columns the step added to old tables.

    Defaults that call a function (`now()`, `gen_random_uuid()`) differ by design between
    the upgrade and now, so only constants (`0`, `'new'::text`, `false`) are compared.
    """
    values = {}
    for spec in after.tables:
        old = before.table(spec.name)
        if old is None:
            continue
        for column in spec.table.columns:
            default = column.server_default
            if column.name in old.table.columns or column.nullable or default is None:
                continue
            expression = str(getattr(getattr(default, "arg", None), "text", ""))
            if expression and not _FUNCTION_CALL.search(expression):
                values[(spec.name, str(column.name))] = connection.scalar(
                    text(f"SELECT {expression}")
                )
    return values


def compare_contents(
    before: SchemaSpec,
    original: Contents,
    after: SchemaSpec,
    current: Contents,
    *,
    defaults: Mapping[tuple[str, str], Any] | None = None,
    exact: bool = False,
    allowed: Collection[str] = (),
    added: Mapping[str, int] | None = None,
) -> list[str]:
    """What happened to the `original` rows, one line per problem (empty: nothing wrong).

    `exact` (after a downgrade) also reports rows that appeared, beyond the `added` rows a
    table was given in between. `allowed` names what the revision declares it changes on
    purpose (`changes_data`): "table" or "table.column".
    """
    problems: list[str] = []
    for spec in before.tables:
        rows = original.get(spec.name, [])
        now = after.table(spec.name)
        if spec.name in allowed:
            continue
        if now is None:
            if rows:
                problems.append(f"table {spec.name}: dropped, with its {len(rows)} rows")
            continue

        def checked(column: str, table: str = spec.name) -> bool:
            return f"{table}.{column}" not in allowed

        problems.extend(
            f"table {spec.name}: column {column.name} dropped with its values"
            for column in spec.table.columns
            if column.name not in now.table.columns and rows and checked(str(column.name))
        )
        shared = [str(c.name) for c in spec.table.columns if c.name in now.table.columns]
        key = [column for column in spec.key_columns if column in shared] or shared
        remaining = {_key(row, key): row for row in current.get(spec.name, [])}
        for row in rows:
            found = remaining.pop(_key(row, key), None)
            label = f"table {spec.name}: row {dict(zip(key, _key(row, key), strict=True))}"
            if found is None:
                problems.append(f"{label} lost (was: {describe_row(row)})")
                continue
            problems.extend(
                f"{label}: {column} was {row[column]!r}, now {found[column]!r}"
                for column in shared
                if checked(column) and not same_value(row[column], found[column])
            )
            problems.extend(
                f"{label}: new NOT NULL column {column} holds {found[column]!r}, but its server "
                f"default is {value!r}"
                for (table, column), value in (defaults or {}).items()
                if table == spec.name
                and checked(column)
                and not same_value(found.get(column), value)
            )
        appeared = len(remaining) - (added or {}).get(spec.name, 0)
        if exact and appeared > 0:
            problems.append(f"table {spec.name}: {appeared} rows appeared")
    return problems


def declared_changes(history: History, step: Step) -> dict[str, str]:
    """The revision's `changes_data = {"table.column" or "table": "reason"}` declaration.

    A data migration that rewrites values on purpose (trimming names, splitting a column)
    says so next to its code, with a reason a reviewer can judge; the populated check then
    accepts changes there, and only there.
    """
    return valid_entries(
        history.script().get_revision(step.revision),
        DECLARATION,
        check=CHECK,
        shape='{"table.column": "why changing these values is intended"}',
    )


def _report(problems: list[str]) -> list[str]:
    shown = problems[:MAX_REPORTED]
    hidden = len(problems) - len(shown)
    return shown + ([f"… and {hidden} more"] if hidden else [])


def _upgrade_fails(step: Step, history: History, context: list[str]) -> dict[str, Any]:
    return {
        "check": CHECK,
        "problem": (
            f"upgrade {step.before} → {step.revision} fails on a database holding rows "
            f"({history.name})"
        ),
        "how_to_fix": (
            "production has rows: a new NOT NULL column needs a server_default (or add it "
            "nullable, backfill in batches, then enforce NOT NULL through a CHECK ... NOT VALID "
            "that you VALIDATE); a new constraint must hold for existing rows, so clean the data "
            "in an earlier step"
        ),
        "revision": step.revision,
        "context": context,
    }


def _data_changed(
    step: Step, history: History, problems: list[str], context: list[str]
) -> NoReturn:
    raise GateFailure(
        check=CHECK,
        problem=(
            f"upgrade {step.before} → {step.revision} loses or changes existing data "
            f"({history.name})"
        ),
        how_to_fix=(
            "an upgrade must keep every row and value: rename instead of drop-and-add, convert "
            "types with USING, never TRUNCATE or DELETE user data, and fill new columns from "
            "their server default; if data must go, split the change (stop writing it, release, "
            "then drop in a later, reviewed revision); a data migration that changes values on "
            f'purpose declares them: {DECLARATION} = {{"table.column": "why"}}'
        ),
        revision=step.revision,
        details=_report(problems) + context,
    )


def _not_restored(
    step: Step, history: History, problems: list[str], context: list[str]
) -> NoReturn:
    raise GateFailure(
        check=CHECK,
        problem=(
            f"after downgrading {step.revision} back to {step.before}, the original rows do not "
            f"come back exactly ({history.name})"
        ),
        how_to_fix=(
            "downgrade() must restore every value the upgrade touched: keep old columns until a "
            "later revision, and convert values back (USING) when reverting a type"
        ),
        revision=step.revision,
        details=_report(problems) + context,
    )


AtRevision = Callable[[Connection, SchemaSpec], Mapping[str, int]]
"""Work done between the upgrade and the downgrade (the walk writes rows at the revision); it
returns how many rows it added to each table."""


class StepRunner:
    """Runs examples of one step on one `WorkingDatabase`.

    The schema after the upgrade, and the constant defaults of new columns, are read on the
    first example and reused: the migration decides them, not the rows. `tables_after` says
    which tables to read after the upgrade (default: the database's `tables`, or all).
    `read_catalog`: also snapshot the catalog right after the upgrade (`upgraded`), for a
    check that compares a rerun with it; a snapshot is a dozen catalog queries, so only then.
    """

    def __init__(
        self,
        database: WorkingDatabase,
        step: Step,
        *,
        tables_after: TablesFor | None = None,
        read_catalog: bool = False,
    ) -> None:
        self.database = database
        self.step = step
        self.tables_after = tables_after
        self.read_catalog = read_catalog
        with database.engine.connect() as connection:
            self.schema = reflect_schema(connection, only=database.tables)
            connection.commit()
        self.after: SchemaSpec | None = None
        self.upgraded: CatalogSnapshot | None = None
        """The catalog right after the step's upgrade (read on the first example)."""
        self.defaults: dict[tuple[str, str], Any] = {}
        self.allowed = declared_changes(database.history, step)
        self.rows = 0
        """How many rows the examples inserted in all (for the walk's report)."""

    def run(self, plan: RowsPlan, *, at_revision: AtRevision | None = None) -> None:
        """One example: insert `plan` at `step.before`, upgrade, check, downgrade, check.

        `at_revision` runs after the upgrade's check, before the downgrade.
        """
        database, step, schema = self.database, self.step, self.schema
        history = database.history
        database.reset()
        with database.engine.connect() as connection:
            counts = insert_rows(connection, schema, plan)
            self.rows += sum(counts.values())
            original = read_rows(connection, schema)
            connection.commit()
            sample = [describe_row(row) for rows in original.values() for row in rows[:3]]
            if currently_in_test_context():
                note(f"rows inserted: {counts}")
            context = [
                f"rows inserted at {step.before}: {counts}",
                *(f"  e.g. {s}" for s in sample),
            ]
            run_step(
                partial(database.migrate, connection, "upgrade", step.revision),
                **_upgrade_fails(step, history, context),
            )
            if self.after is None:
                wanted = database.tables
                if self.tables_after is not None:
                    wanted = self.tables_after(connection)
                self.after = reflect_schema(connection, only=wanted)
                if self.read_catalog:
                    self.upgraded = database.dialect.snapshot(connection)
                self.defaults = _constant_defaults(connection, schema, self.after)
            current = read_rows(connection, self.after)
            connection.commit()
            problems = compare_contents(
                schema,
                original,
                self.after,
                current,
                defaults=self.defaults,
                allowed=self.allowed,
            )
            if problems:
                _data_changed(step, history, problems, context)
            added: Mapping[str, int] = {}
            if at_revision is not None:
                added = at_revision(connection, self.after)
                connection.commit()
                context.append(f"rows written at {step.revision}: {dict(added)}")
            run_step(
                partial(database.migrate, connection, "downgrade", step.before),
                check=CHECK,
                problem=(
                    f"downgrade {step.revision} → {step.before} fails on a database holding rows"
                ),
                how_to_fix=(
                    "make downgrade() work on rows that the upgrade kept and on rows written at "
                    "the revision (drop a constraint before its column, convert values before "
                    "narrowing a type)"
                ),
                revision=step.revision,
                context=context,
            )
            try:
                restored = read_rows(connection, schema)
            except DBAPIError as error:
                _not_restored(step, history, database_error_lines(error), context)
            connection.commit()
        problems = compare_contents(
            schema, original, schema, restored, exact=True, allowed=self.allowed, added=added
        )
        if problems:
            _not_restored(step, history, problems, context)
        database.mark_clean()


def generated_plan(schema: SchemaSpec, examples: int) -> RowsPlan:
    """`examples` draws of `rows_strategy(schema)`, merged into one plan. Generation only.

    The walk upgrades each step once, on all these rows together, instead of once per example:
    it is the migrations, not the rows, that cost. A row that clashes with another draw (a
    duplicate key) is skipped by `insert_rows`, like any row PostgreSQL refuses.
    """
    plans: list[RowsPlan] = []

    @settings(
        max_examples=examples,
        phases=(Phase.generate,),
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(plan=rows_strategy(schema))
    def draw(plan: RowsPlan) -> None:
        plans.append(plan)

    draw()
    merged: dict[str, list[GeneratedRow]] = {}
    for plan in plans:
        for table, rows in plan.items():
            merged.setdefault(table, []).extend(rows)
    return merged


def check_populated_batch(
    database: WorkingDatabase,
    step: Step,
    *,
    examples: int,
    tables_after: TablesFor | None = None,
    at_revision: AtRevision | None = None,
    read_catalog: bool = False,
) -> StepRunner:
    """One round trip of `step` on `examples` hypothesis draws at once (see `generated_plan`)."""
    runner = StepRunner(database, step, tables_after=tables_after, read_catalog=read_catalog)
    plan = generated_plan(runner.schema, examples) if runner.schema.tables else {}
    runner.run(plan, at_revision=at_revision)
    return runner


@dataclass(frozen=True)
class PopulatedOutcome:
    """How many rows one step's round trip carried, and the tables no rows could be made for."""

    rows: int
    unsupported: dict[str, str]
    """Table → why (a column type `rows.py` cannot fill)."""


class PopulatedUpgrade(StepCheckBase):
    """The step's round trip on hypothesis rows: every value kept up, every row back down."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(
        needs=frozenset({Fact.AT_BEFORE}),
        provides=frozenset({Fact.ROUND_TRIP, Fact.CLEAN_UPGRADE}),
        disturbs=frozenset({Fact.AT_BEFORE}),
    )

    def run(self, context: StepContext) -> bool:
        """Rows at `before`, upgrade, compare, sample rows at the revision, downgrade, compare.

        The sample rows written at the revision make this the round trip that the stairway and
        the no-trace checks judge next (`Fact.ROUND_TRIP`).
        """
        runner = check_populated_batch(
            context.database,
            context.step,
            examples=context.examples,
            tables_after=context.tables_for,
            at_revision=seed_samples,
            # Only a check that asked for it (atomic-failure, after a part-way failure) reads it.
            read_catalog=Fact.CLEAN_UPGRADE in context.wanted,
        )
        context.clean_upgrade = runner.upgraded
        context.observations[CHECK] = PopulatedOutcome(
            rows=runner.rows,
            unsupported={
                spec.name: spec.skipped_because
                for spec in runner.schema.tables
                if spec.skipped_because is not None
            },
        )
        return False
