"""Check 19: after every revision, the app role can still create, read, update and delete rows.

The API connects as `items_app` (`app/roles.py`), which may only use rows; migrations run as
the schema's owner, and the app gets its rights on new tables from the owner's default
privileges. A revision that creates a table those defaults do not cover (created as another
role), revokes a grant, or turns on row-level security without a policy the app passes, migrates
cleanly and passes every other check: the first request on the table fails with
`permission denied` (or, under row-level security, sees nothing). So at each step, with the rows
of `before` still there, the gate asks the catalog what the app role lacks on every table of the
schema, then becomes the app role (`SET LOCAL ROLE`) and, on each table of the step, inserts a
row, reads it, updates it and deletes it, and counts the rows the app sees against the rows
there are. Everything is rolled back; only consumed sequence values remain, which no catalog
snapshot holds.

The working database is set up the way production is (`dialects/.../privileges.py`): default
privileges for the migrating role, so the project's revisions need no GRANT of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Connection, Table, func, literal_column, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import Label

from tests.migrations.gate.dialects.base import Dialect
from tests.migrations.gate.engine.protocol import Declarations, Fact, StepCheckBase, StepContext
from tests.migrations.gate.engine.rows import (
    Row,
    RowsPlan,
    SchemaSpec,
    TableSpec,
    _point_at_parents,
    reflect_schema,
    sample_rows,
)
from tests.migrations.gate.engine.steps import database_error_lines
from tests.migrations.gate.failure import GateFailure

CHECK = "app-privileges"
_AT_PLACE = "WHERE ctid = CAST(:place AS tid)"
"""The row a probe wrote, by its physical place: works on a table without a primary key."""
HOW_TO_FIX = (
    "the app role (items_app) must be able to SELECT, INSERT, UPDATE and DELETE in every table "
    "and USE its sequences, and own none of them. Create tables as the migrating role "
    "(items_owner), whose default privileges grant exactly that (`ALTER DEFAULT PRIVILEGES FOR "
    "ROLE items_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "
    'items_app` and `... GRANT USAGE, SELECT ON SEQUENCES TO items_app`, README "Roles"); do '
    "not REVOKE from items_app nor hand it a table (`ALTER TABLE … OWNER TO items_owner`); or "
    "grant in the revision: `GRANT SELECT, INSERT, UPDATE, DELETE ON <table> TO items_app`. With "
    "row-level security, add a policy for items_app (`CREATE POLICY … TO items_app USING (…) "
    "WITH CHECK (…)`)"
)


@dataclass(frozen=True)
class PrivilegesOutcome:
    """What the check did at one step: tables it checked in the catalog, tables on which the
    app role did a whole insert-read-update-delete, and tables it could not write a row to."""

    checked: tuple[str, ...]
    round_tripped: tuple[str, ...]
    unprobed: dict[str, str]


@dataclass
class _Probe:
    """One step's attempts as the app role: what it could not do, what it did, what it skipped."""

    dialect: Dialect
    lacking: frozenset[str]
    """Tables the catalog says the app role lacks privileges on: not tried (the catalog said)."""
    problems: dict[str, list[str]]
    done: list[str]
    unprobed: dict[str, str]

    def refused(self, table: str, action: str, error: DBAPIError) -> bool:
        """Note `error` on `table`: a problem if it is a missing privilege, else unprobed."""
        if self.dialect.is_insufficient_privilege(error):
            self.problems.setdefault(table, []).append(
                f"{action} as the app role was refused: {database_error_lines(error)[0]}"
            )
        else:
            self.unprobed[table] = f"{action}: {database_error_lines(error)[0]}"
        return False


def _attempt(connection: Connection, probe: _Probe, table: str, action: str, sql: Any) -> Any:
    """Run `sql` in a savepoint; its result, or None after noting why it was refused."""
    try:
        with connection.begin_nested():
            return connection.execute(sql)
    except DBAPIError as error:
        probe.refused(table, action, error)
        return None


def _insert(
    connection: Connection, spec: TableSpec, plan: RowsPlan, written: dict[str, list[Row]]
) -> tuple[str | None, DBAPIError | None]:
    """As the app role, insert the first row of `plan` the table takes, in a savepoint kept
    (its children point at it); where it is (`ctid`), or the first refusal."""
    error: DBAPIError | None = None
    for generated in plan.get(spec.name, ()):
        values = dict(generated.values)
        if not _point_at_parents(spec, generated, values, written):
            continue
        ctid: Label[Any] = literal_column("ctid").label("_gate_ctid")
        insert = spec.table.insert().values(values).returning(*spec.table.columns, ctid)
        try:
            with connection.begin_nested():
                row = dict(connection.execute(insert).mappings().one())
        except DBAPIError as refused:
            error = error or refused
            continue
        place = row.pop("_gate_ctid")
        written[spec.name] = [row]
        return str(place), None
    return None, error


def _round_trip(connection: Connection, schema: SchemaSpec, probe: _Probe) -> None:
    """As the app role: insert, read and update a row per table (parents first), then delete
    them (children first)."""
    plan = sample_rows(schema)
    written: dict[str, list[Row]] = {}
    places: dict[str, str] = {}
    for spec in schema.tables:
        if spec.skipped_because is not None or spec.name in probe.lacking:
            probe.unprobed.setdefault(spec.name, spec.skipped_because or "lacks privileges")
            continue
        place, error = _insert(connection, spec, plan, written)
        if place is not None:
            places[spec.name] = place
        elif error is not None:
            probe.refused(spec.name, "INSERT", error)
        else:
            probe.unprobed.setdefault(spec.name, "no sample row for it")
    for spec in schema.tables:
        if spec.name in places and not _read_and_update(connection, spec.table, places, probe):
            places.pop(spec.name)
    for spec in reversed(schema.tables):
        if spec.name not in places:
            continue
        delete = text(f"DELETE FROM {_quoted(connection, spec.table)} {_AT_PLACE}")
        result = _attempt(
            connection, probe, spec.name, "DELETE", delete.bindparams(place=places[spec.name])
        )
        if result is not None and _rows(result) != 1:
            _invisible(probe, spec.name, "DELETE of the row it wrote deleted nothing")
        elif result is not None:
            probe.done.append(spec.name)


def _read_and_update(
    connection: Connection, table: Table, places: dict[str, str], probe: _Probe
) -> bool:
    """SELECT and UPDATE the row at `places[table]` as the app role; False if either failed."""
    name, quoted = str(table.name), _quoted(connection, table)
    where = _AT_PLACE
    seen = _attempt(
        connection,
        probe,
        name,
        "SELECT",
        text(f"SELECT count(*) FROM {quoted} {where}").bindparams(place=places[name]),
    )
    if seen is None:
        return False
    if seen.scalar() != 1:
        return _invisible(probe, name, "SELECT does not see the row it just wrote")
    column = connection.dialect.identifier_preparer.quote(str(next(iter(table.columns)).name))
    updated = _attempt(
        connection,
        probe,
        name,
        "UPDATE",
        text(f"UPDATE {quoted} SET {column} = {column} {where} RETURNING ctid").bindparams(
            place=places[name]
        ),
    )
    if updated is None:
        return False
    rows = updated.scalars().all()
    if len(rows) != 1:
        return _invisible(probe, name, "UPDATE of the row it wrote updated nothing")
    places[name] = str(rows[0])
    return True


def _count_as_app(connection: Connection, probe: _Probe, table: Table, there: int) -> None:
    """The app role sees every row of `table` there is (`there`, counted by the owner)."""
    name = str(table.name)
    seen = _attempt(connection, probe, name, "SELECT", select(func.count()).select_from(table))
    if seen is not None and (count := int(seen.scalar() or 0)) < there:
        _invisible(probe, name, f"SELECT sees {count} of its {there} rows")


def _invisible(probe: _Probe, table: str, what: str) -> bool:
    probe.problems.setdefault(table, []).append(f"{what} (row-level security?)")
    return False


def _rows(result: Any) -> int:
    return int(result.rowcount)


def _quoted(connection: Connection, table: Table) -> str:
    return str(connection.dialect.identifier_preparer.format_table(table))


class AppPrivileges(StepCheckBase):
    """At the step on rows, as the app role: every table usable for CRUD; rolled back."""

    name: ClassVar[str] = CHECK
    declarations: ClassVar[Declarations] = Declarations(needs=frozenset({Fact.UPGRADED_ON_ROWS}))

    def run(self, context: StepContext) -> bool:
        """Fail naming each table the app role cannot fully use, and what it lacks."""
        step, dialect = context.step, context.dialect
        with context.database.engine.connect() as connection:
            every = dialect.user_tables(connection)
            lacking = dialect.missing_app_privileges(connection, every)
            probe = _Probe(
                dialect=dialect,
                lacking=frozenset(lacking),
                problems={table: list(wrong) for table, wrong in lacking.items()},
                done=[],
                unprobed={},
            )
            schema = reflect_schema(connection, only=context.tables_for(connection))
            there = {
                spec.name: int(connection.scalar(select(func.count()).select_from(spec.table)) or 0)
                for spec in schema.tables
                if spec.name not in lacking
            }
            dialect.become_app_role(connection)
            for spec in schema.tables:
                if spec.name in there:
                    _count_as_app(connection, probe, spec.table, there[spec.name])
            _round_trip(connection, schema, probe)
            connection.rollback()
            security = dialect.row_security(connection, sorted(probe.problems))
        if probe.problems:
            raise GateFailure(
                check=CHECK,
                problem=(
                    f"after upgrading to {step.revision}, the app role cannot use "
                    f"{', '.join(sorted(probe.problems))} as it must: every row, and no DDL "
                    f"({context.history.name})"
                ),
                how_to_fix=HOW_TO_FIX,
                revision=step.revision,
                details=[
                    f"{table}: {problem}"
                    for table in sorted(probe.problems)
                    for problem in [*probe.problems[table], *_security(security, table)]
                ],
            )
        context.observations[CHECK] = PrivilegesOutcome(
            checked=tuple(every), round_tripped=tuple(sorted(probe.done)), unprobed=probe.unprobed
        )
        return True


def _security(security: dict[str, str], table: str) -> list[str]:
    return [security[table]] if table in security else []
