"""Rows for a schema as it is at some revision: reflected from the database, never from models.

The models describe head; a revision in the middle of the history has other tables, columns
and rules. So every value here is derived from what the database says now: the column type
(and length, precision, enum labels), nullability, and simple numeric bounds read from CHECK
constraints. Whatever rule is not understood (a `btrim(...) <> ''`, a uniqueness clash) is left
to PostgreSQL: each row goes in inside a SAVEPOINT, and a row the database refuses is skipped.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Time,
    Uuid,
    select,
)
from sqlalchemy.exc import DBAPIError, SAWarning

from tests.migrations.gate.dialects import dialect_named
from tests.migrations.gate.dialects.base import VERSION_TABLE

Row = dict[str, Any]

_COMPARISON = re.compile(
    r"^\(*\s*(?P<column>\w+)\s*(?P<op>>=|>|<=|<)\s*\(*'?(?P<value>-?[0-9.]+(?:e[+-]?\d+)?|-?Infinity)"
    r"'?\)*(?:::[a-z ]+)?\)*$",
    re.IGNORECASE,
)
_INTEGER_RANGES: tuple[tuple[type[Integer], int], ...] = (
    (BigInteger, 2**63 - 1),
    (SmallInteger, 2**15 - 1),
    (Integer, 2**31 - 1),
)
_TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_JSON_KEYS = st.text(alphabet="abcdefghij", max_size=4)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(_TEXT, max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_JSON_KEYS, inner, max_size=3),
    max_leaves=6,
)


@dataclass(frozen=True)
class Bounds:
    """Numeric bounds a CHECK constraint puts on one column (None: unbounded)."""

    minimum: float | None = None
    exclude_minimum: bool = False
    maximum: float | None = None
    exclude_maximum: bool = False
    finite: bool = False


@dataclass(frozen=True)
class ColumnSpec:
    """How to fill one column: its values, or nothing when the database fills it."""

    column: Column[Any]
    bounds: Bounds
    database_filled: bool
    supported: bool

    @property
    def name(self) -> str:
        """The column's name."""
        return str(self.column.name)

    def strategy(self) -> st.SearchStrategy[Any]:
        """Values valid for the column's type, bounds and nullability."""
        values = _strategy_for(self.column, self.bounds)
        return st.none() | values if self.column.nullable else values

    def samples(self) -> list[Any]:
        """A few fixed, representative values (the stairway's rows), most typical first.

        A nullable column's second sample is NULL, so the second row of every table holds
        NULL wherever it may: the case a later `SET NOT NULL` or narrowing trips over.
        """
        values = [value for value in _samples_for(self.column) if _within(value, self.bounds)]
        return [*values[:1], None, *values[1:]] if self.column.nullable else values


@dataclass(frozen=True)
class TableSpec:
    """One table at this revision, in foreign-key order within its `SchemaSpec`."""

    table: Table
    columns: tuple[ColumnSpec, ...]
    skipped_because: str | None = None

    @property
    def name(self) -> str:
        """The table's name."""
        return str(self.table.name)

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The primary key, or every column when there is none (rows compared whole)."""
        primary = tuple(str(column.name) for column in self.table.primary_key.columns)
        return primary or tuple(str(column.name) for column in self.table.columns)


@dataclass(frozen=True)
class SchemaSpec:
    """Every table of the schema at one revision, parents before children."""

    tables: tuple[TableSpec, ...] = field(default_factory=tuple)

    def table(self, name: str) -> TableSpec | None:
        """The table called `name`, if it exists at this revision."""
        return next((spec for spec in self.tables if spec.name == name), None)


def reflect_schema(
    connection: Connection, *, schema: str | None = None, only: Collection[str] | None = None
) -> SchemaSpec:
    """Read the tables as they are in the database right now (`only` those, and their parents).

    Reflection costs milliseconds a table; a walk over a long history asks for the tables one
    step can touch (`relevance.tables_in_play`), not for all of them at every step.
    """
    metadata = MetaData()
    wanted = None if only is None else set(only)
    with warnings.catch_warnings():
        # SQLAlchemy 2.0 reflects a CHECK constraint still NOT VALID (the first half of the
        # safe two-step rule) with `dialect_options={"not_valid": True}`, then warns that no
        # dialect is called "dialect". The constraint itself reflects whole, and new rows must
        # satisfy it, so its bounds are kept; only the spurious warning, an error under pytest,
        # is dropped (fixture `check_validated_later`).
        warnings.filterwarnings(
            "ignore", message="Can't validate argument 'dialect_options'", category=SAWarning
        )
        metadata.reflect(
            connection,
            schema=schema,
            only=None if wanted is None else (lambda name, _: name in wanted),
        )
    specs = []
    for table in metadata.sorted_tables:
        if table.name == VERSION_TABLE:
            continue
        bounds = check_bounds(table)
        columns = tuple(
            ColumnSpec(
                column=column,
                bounds=bounds.get(str(column.name), Bounds()),
                database_filled=_database_filled(column),
                supported=_strategy_known(column),
            )
            for column in table.columns
        )
        unsupported = [
            spec.name
            for spec in columns
            if not spec.supported and not spec.database_filled and not spec.column.nullable
        ]
        reason = f"no value generator for NOT NULL column(s) {unsupported}" if unsupported else None
        specs.append(TableSpec(table=table, columns=columns, skipped_because=reason))
    return SchemaSpec(tables=tuple(specs))


def _database_filled(column: Column[Any]) -> bool:
    """Identity, serial, AUTO_INCREMENT and generated columns: the database picks their values.

    Reflection marks `autoincrement` True only for what the server fills (MariaDB's
    AUTO_INCREMENT; PostgreSQL's serial and identity, found by their default too). On MariaDB
    an explicit id would also move the counter, and the largest bigint would exhaust it.
    """
    if column.identity is not None or column.computed is not None:
        return True
    if column.autoincrement is True:
        return True
    default = column.server_default
    return default is not None and "nextval(" in str(getattr(default, "arg", ""))


def check_bounds(table: Table) -> dict[str, Bounds]:
    """Bounds from CHECK constraints made of simple comparisons joined by AND."""
    found: dict[str, Bounds] = {}
    for constraint in table.constraints:
        if not isinstance(constraint, CheckConstraint):
            continue
        for part in re.split(r"\s+AND\s+", str(constraint.sqltext), flags=re.IGNORECASE):
            match = _COMPARISON.match(part.strip())
            if match is None or match["column"] not in table.columns:
                continue
            current = found.get(match["column"], Bounds())
            value = float(match["value"])
            # Each comparison sets only its own end, so the order of the ANDs never matters.
            if match["op"] in {">", ">="}:
                current = replace(current, minimum=value, exclude_minimum=match["op"] == ">")
            elif math.isinf(value):
                current = replace(current, maximum=None, exclude_maximum=False, finite=True)
            else:
                exclusive = match["op"] == "<"
                current = replace(current, maximum=value, exclude_maximum=exclusive, finite=True)
            found[match["column"]] = current
    return found


def _integer_limit(column_type: object) -> int:
    for kind, limit in _INTEGER_RANGES:
        if isinstance(column_type, kind):
            return limit
    return 2**31 - 1


def _integer_strategy(kind: Any, bounds: Bounds) -> st.SearchStrategy[Any]:
    limit = _integer_limit(kind)
    low, high = -limit - 1, limit
    if bounds.minimum is not None:
        low = (
            math.floor(bounds.minimum) + 1 if bounds.exclude_minimum else math.ceil(bounds.minimum)
        )
    if bounds.maximum is not None:
        high = (
            math.ceil(bounds.maximum) - 1 if bounds.exclude_maximum else math.floor(bounds.maximum)
        )
    return st.integers(max(low, -limit - 1), min(high, limit))


def _float_strategy(kind: Any, bounds: Bounds) -> st.SearchStrategy[Any]:
    bounded = bounds.minimum is not None or bounds.maximum is not None
    return st.floats(
        min_value=bounds.minimum,
        max_value=bounds.maximum,
        exclude_min=bounds.exclude_minimum and bounds.minimum is not None,
        exclude_max=bounds.exclude_maximum and bounds.maximum is not None,
        allow_nan=False if bounded or bounds.finite else None,
        allow_infinity=False if bounds.finite else None,
        width=32 if isinstance(kind, REAL) else 64,
    )


def _numeric_strategy(kind: Any, bounds: Bounds) -> st.SearchStrategy[Any]:
    scale = kind.scale if kind.scale is not None else 4
    digits = (kind.precision or 18) - scale
    limit = decimal.Decimal(10) ** digits - decimal.Decimal(10) ** -scale
    low = -limit if bounds.minimum is None else max(-limit, decimal.Decimal(bounds.minimum))
    high = limit if bounds.maximum is None else min(limit, decimal.Decimal(bounds.maximum))
    return st.decimals(low, high, places=scale, allow_nan=False, allow_infinity=False)


def _datetime_strategy(kind: Any, _: Bounds) -> st.SearchStrategy[Any]:
    zones = st.just(dt.UTC) if kind.timezone else st.none()
    return st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30), timezones=zones)


def _constant(strategy: st.SearchStrategy[Any]) -> Callable[[Any, Bounds], st.SearchStrategy[Any]]:
    return lambda _kind, _bounds: strategy


# Order matters: DateTime before Date, Enum before String (an Enum is a String).
_STRATEGIES: tuple[tuple[type[Any], Callable[[Any, Bounds], st.SearchStrategy[Any]]], ...] = (
    (Enum, lambda kind, _: st.sampled_from(list(kind.enums))),
    (Integer, _integer_strategy),
    (Float, _float_strategy),
    (Numeric, _numeric_strategy),
    (String, lambda kind, _: st.text(_TEXT, max_size=kind.length or 60)),
    (Boolean, _constant(st.booleans())),
    (DateTime, _datetime_strategy),
    (Date, _constant(st.dates())),
    (Time, _constant(st.times())),
    (Interval, _constant(st.timedeltas(dt.timedelta(-99_999), dt.timedelta(99_999)))),
    (Uuid, _constant(st.uuids())),
    (JSON, _constant(_JSON)),
    (LargeBinary, _constant(st.binary(max_size=64))),
)


def _tz(kind: Any) -> dt.tzinfo | None:
    return dt.UTC if kind.timezone else None


_SAMPLES: tuple[tuple[type[Any], Callable[[Any], list[Any]]], ...] = (
    (Enum, lambda kind: list(kind.enums)),
    (Integer, lambda _: [1, 42, 0, 7, -1]),
    (Float, lambda _: [1.5, 1e6, 0.001, 0.0, -2.5]),
    (Numeric, lambda _: [decimal.Decimal("1.5"), decimal.Decimal("0"), decimal.Decimal("-2")]),
    (
        String,
        lambda kind: [t[: kind.length or 60] for t in ("sample", "Ünïcode ✓", "x" * 999, "a")],
    ),
    (Boolean, lambda _: [True, False]),
    (
        DateTime,
        lambda kind: [
            dt.datetime(2026, 11, 28, 12, 30, tzinfo=_tz(kind)),
            dt.datetime(1999, 1, 1, tzinfo=_tz(kind)),
        ],
    ),
    (Date, lambda _: [dt.date(2026, 11, 28), dt.date(1999, 12, 31)]),
    (Time, lambda _: [dt.time(12, 30), dt.time(0, 0)]),
    (Interval, lambda _: [dt.timedelta(hours=1), dt.timedelta(0)]),
    (Uuid, lambda _: [uuid.UUID(int=1), uuid.UUID(int=2**128 - 1)]),
    (JSON, lambda _: [{"a": 1}, [], "text"]),
    (LargeBinary, lambda _: [b"\x00\x01", b""]),
)


def _strategy_known(column: Column[Any]) -> bool:
    return any(isinstance(column.type, kind) for kind, _ in _STRATEGIES)


def _strategy_for(column: Column[Any], bounds: Bounds) -> st.SearchStrategy[Any]:
    for kind, build in _STRATEGIES:
        if isinstance(column.type, kind):
            return build(column.type, bounds)
    return st.nothing()


def _samples_for(column: Column[Any]) -> list[Any]:
    for kind, build in _SAMPLES:
        if isinstance(column.type, kind):
            return build(column.type)
    return []


def _within(value: Any, bounds: Bounds) -> bool:
    if not isinstance(value, int | float | decimal.Decimal) or isinstance(value, bool):
        return True
    if bounds.minimum is not None and (
        value < bounds.minimum or (bounds.exclude_minimum and value == bounds.minimum)
    ):
        return False
    return bounds.maximum is None or not (
        value > bounds.maximum or (bounds.exclude_maximum and value == bounds.maximum)
    )


@dataclass(frozen=True)
class GeneratedRow:
    """Values for the columns we fill, plus which parent row each foreign key points at."""

    values: Mapping[str, Any]
    parent_picks: tuple[int, ...] = ()


RowsPlan = Mapping[str, Sequence[GeneratedRow]]
"""Rows to insert, by table name."""


def rows_strategy(schema: SchemaSpec, *, max_rows: int = 12) -> st.SearchStrategy[RowsPlan]:
    """Hypothesis strategy: for every table, a list of rows valid for its columns.

    Up to 12 rows a table: inserting rows costs little next to the migration each example
    runs, so wide examples buy variety cheaply (see `check_populated_step`).
    """
    per_table: dict[str, st.SearchStrategy[list[GeneratedRow]]] = {}
    for spec in schema.tables:
        if spec.skipped_because:
            continue
        fields = {
            column.name: column.strategy()
            for column in spec.columns
            if not column.database_filled and column.supported
        }
        foreign_keys = len(spec.table.foreign_key_constraints)
        row = st.builds(
            GeneratedRow,
            values=st.fixed_dictionaries(fields),
            parent_picks=st.tuples(*[st.integers(0, 1000)] * foreign_keys),
        )
        per_table[spec.name] = st.lists(row, max_size=max_rows)
    return st.fixed_dictionaries(per_table)


def sample_rows(schema: SchemaSpec, *, per_table: int = 3) -> RowsPlan:
    """Fixed representative rows: row i takes each column's i-th sample (cycling)."""
    plan: dict[str, list[GeneratedRow]] = {}
    for spec in schema.tables:
        if spec.skipped_because:
            continue
        fillable = [c for c in spec.columns if not c.database_filled and c.supported]
        rows = []
        for index in range(per_table):
            values = {}
            for column in fillable:
                samples = column.samples()
                if samples:
                    values[column.name] = samples[index % len(samples)]
            picks = tuple(index for _ in spec.table.foreign_key_constraints)
            rows.append(GeneratedRow(values=values, parent_picks=picks))
        plan[spec.name] = rows
    return plan


def insert_rows(connection: Connection, schema: SchemaSpec, plan: RowsPlan) -> dict[str, int]:
    """Insert `plan` table by table, parents first; return how many rows each table took.

    A row the server refuses (a CHECK we could not derive, a duplicate key, a missing parent:
    the dialect's `refuses_row`) is rolled back to its SAVEPOINT and skipped: the rows that
    remain are valid by construction.
    """
    refuses = dialect_named(connection.dialect.name).refuses_row
    inserted: dict[str, list[Row]] = {}
    for spec in schema.tables:
        stored: list[Row] = inserted.setdefault(spec.name, [])
        for generated in plan.get(spec.name, ()):
            values = dict(generated.values)
            if not _point_at_parents(spec, generated, values, inserted):
                continue
            try:
                with connection.begin_nested():
                    result = connection.execute(
                        spec.table.insert().values(values).returning(*spec.table.columns)
                    )
                    stored.append(dict(result.mappings().one()))
            except DBAPIError as error:
                if not refuses(error):
                    raise
                continue
    return {name: len(rows) for name, rows in inserted.items()}


def old_writer_rows(schema: SchemaSpec) -> RowsPlan:
    """Sample rows as the release at this schema writes them: only the columns it must name.

    Columns the database fills (identity, serial) and columns with a server default are left
    out, as an application relying on the default leaves them out; every other column is
    written. `sample_rows` gives the candidates, most typical first.
    """
    plan: dict[str, list[GeneratedRow]] = {}
    for table, rows in sample_rows(schema).items():
        spec = schema.table(table)
        assert spec is not None
        defaulted = {str(c.name) for c in spec.table.columns if c.server_default is not None}
        plan[table] = [
            replace(row, values={k: v for k, v in row.values.items() if k not in defaulted})
            for row in rows
        ]
    return plan


@dataclass(frozen=True)
class WriteOnce:
    """What `write_once` saw: per table, the row accepted and what the database stored, or
    the error of the first row tried when none was accepted."""

    accepted: dict[str, GeneratedRow]
    stored: dict[str, Row]
    refused: dict[str, DBAPIError]


def write_once(
    connection: Connection,
    schema: SchemaSpec,
    plan: RowsPlan,
    *,
    leave_out: Mapping[str, Collection[str]] | None = None,
) -> WriteOnce:
    """Insert the first row of `plan` each table accepts, parents first, then roll all back.

    A refused table keeps its first row's error (the most typical row's). `leave_out` names
    columns not to write (nor return) per table. Nothing is left behind but consumed sequence
    values, which no catalog snapshot holds.
    """
    accepted: dict[str, GeneratedRow] = {}
    refused: dict[str, DBAPIError] = {}
    written: dict[str, list[Row]] = {}
    outer = connection.begin_nested()
    try:
        for spec in schema.tables:
            skip = set((leave_out or {}).get(spec.name, ()))
            returned = [c for c in spec.table.columns if c.name not in skip]
            for generated in plan.get(spec.name, ()):
                values = {k: v for k, v in generated.values.items() if k not in skip}
                if not _point_at_parents(spec, generated, values, written):
                    continue
                try:
                    with connection.begin_nested():
                        result = connection.execute(
                            spec.table.insert().values(values).returning(*returned)
                        )
                        written[spec.name] = [dict(result.mappings().one())]
                except DBAPIError as error:
                    refused.setdefault(spec.name, error)
                    continue
                accepted[spec.name] = generated
                refused.pop(spec.name, None)
                break
    finally:
        outer.rollback()
    stored = {table: rows[0] for table, rows in written.items()}
    return WriteOnce(accepted=accepted, stored=stored, refused=refused)


def _point_at_parents(
    spec: TableSpec, generated: GeneratedRow, values: Row, inserted: Mapping[str, list[Row]]
) -> bool:
    """Fill each foreign key from an inserted parent row; False if the row cannot have one."""
    for pick, constraint in zip(
        generated.parent_picks, spec.table.foreign_key_constraints, strict=False
    ):
        parents = inserted.get(str(constraint.referred_table.name), [])
        columns = [(str(e.parent.name), str(e.column.name)) for e in constraint.elements]
        if parents:
            parent = parents[pick % len(parents)]
            values.update({mine: parent[theirs] for mine, theirs in columns})
        elif all(spec.table.c[mine].nullable for mine, _ in columns):
            values.update({mine: None for mine, _ in columns})
        else:
            return False
    return True


def read_rows(connection: Connection, schema: SchemaSpec) -> dict[str, list[Row]]:
    """Every row of every table, ordered by its key."""
    contents = {}
    for spec in schema.tables:
        order = [spec.table.c[name] for name in spec.key_columns]
        statement = select(*spec.table.columns).order_by(*order)
        contents[spec.name] = [dict(row) for row in connection.execute(statement).mappings()]
    return contents


def same_value(left: Any, right: Any) -> bool:
    """Equality that treats NaN as equal to NaN (PostgreSQL does too)."""
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    return bool(left == right)


def describe_row(row: Mapping[str, Any], *, width: int = 160) -> str:
    """One row on one line, shortened if long."""
    text = ", ".join(f"{name}={value!r}" for name, value in row.items())
    return text if len(text) <= width else text[: width - 1] + "…"
