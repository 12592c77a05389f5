"""A text snapshot of everything PostgreSQL knows about one schema, for exact comparisons.

Alembic's autogenerate and `MetaData.reflect` see tables, columns and indexes; they miss enum
labels, CHECK expressions, sequences, views, functions and triggers. This module reads the
catalog itself (`pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_functiondef`, …), so two
snapshots are equal exactly when PostgreSQL would describe the two schemas the same way.

Every line names its object in full ("table items: column quantity …"), so a unified diff of
two snapshots reads without context lines. OIDs, relfilenodes, column positions and sequence
values are left out: they differ between schemas that behave the same. For the same reason a
column default that is a constant (a literal, however cast) is shown by its value as the column
stores it: widening `integer DEFAULT 0` to bigint keeps the text `0` while a new bigint column's
`DEFAULT '0'` reads `'0'::bigint`, and both put the same 0 into a new row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from tests.migrations.gate.dialects.base import VERSION_TABLE, CatalogSnapshot

EXCLUDED_TABLES = (VERSION_TABLE,)

_TABLES = """
SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.reloptions::text,
       obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'f') AND c.relname <> ALL(:excluded)
"""

_COLUMNS = """
SELECT c.relkind, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       col_description(c.oid, a.attnum),
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END, t.typcategory
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
  AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> ALL(:excluded)
"""

_CONSTRAINTS = """
SELECT c.relname, k.conname, pg_get_constraintdef(k.oid, true), k.convalidated,
       k.condeferrable, k.condeferred
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relname <> ALL(:excluded)
"""

_INDEXES = """
SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid), x.indisvalid
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relname <> ALL(:excluded)
"""

_SEQUENCES = """
SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin,
       s.seqmax, s.seqcache, s.seqcycle,
       (SELECT o.relname || '.' || a.attname || ' (' ||
               CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'owned' END || ')'
        FROM pg_depend d
        JOIN pg_class o ON o.oid = d.refobjid
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LIMIT 1)
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema
"""

_NOT_FROM_EXTENSION = """
NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = {oid} AND e.deptype = 'e')
"""

_ENUMS = f"""
SELECT t.typname, array_agg(quote_literal(e.enumlabel) ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname = :schema AND {_NOT_FROM_EXTENSION.format(oid="t.oid")}
GROUP BY t.typname
"""

_DOMAINS = f"""
SELECT t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
       (SELECT array_agg(k.conname || ' ' || pg_get_constraintdef(k.oid, true) ORDER BY k.conname)
        FROM pg_constraint k WHERE k.contypid = t.oid)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = :schema AND t.typtype = 'd' AND {_NOT_FROM_EXTENSION.format(oid="t.oid")}
"""

_COMPOSITES = f"""
SELECT t.typname,
       (SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                         ORDER BY a.attnum)
        FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_class c ON c.oid = t.typrelid
WHERE n.nspname = :schema AND t.typtype = 'c' AND c.relkind = 'c'
  AND {_NOT_FROM_EXTENSION.format(oid="t.oid")}
"""

_RANGES = f"""
SELECT t.typname, format_type(r.rngsubtype, NULL)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_range r ON r.rngtypid = t.oid
WHERE n.nspname = :schema AND {_NOT_FROM_EXTENSION.format(oid="t.oid")}
"""

_VIEWS = """
SELECT c.relname, c.relkind, pg_get_viewdef(c.oid, true)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind IN ('v', 'm')
"""

_FUNCTIONS = f"""
SELECT p.oid::regprocedure::text, p.prokind,
       CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid) END
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = :schema AND {_NOT_FROM_EXTENSION.format(oid="p.oid")}
"""

_TRIGGERS = """
SELECT c.relname, g.tgname, pg_get_triggerdef(g.oid, true), g.tgenabled
FROM pg_trigger g
JOIN pg_class c ON c.oid = g.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND NOT g.tgisinternal AND c.relname <> ALL(:excluded)
"""

_POLICIES = """
SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check
FROM pg_policies WHERE schemaname = :schema AND tablename <> ALL(:excluded)
"""

_EXTENSIONS = "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'"

_RELKINDS = {"r": "table", "p": "partitioned table", "f": "foreign table"}
_IDENTITY = {"a": " GENERATED ALWAYS AS IDENTITY", "d": " GENERATED BY DEFAULT AS IDENTITY"}


def printable(value: object) -> str:
    """`value` on one line: control and invisible characters shown as escapes.

    CHECK expressions may hold tabs, newlines or exotic spaces (the items name rule lists every
    Unicode whitespace); printed raw, they would split or blur the lines of a diff.
    """
    rendered = str(value)
    if rendered.isprintable():  # every character printable: ' ' is the only space that is
        return rendered
    return "".join(
        char if char == " " or (char.isprintable() and not char.isspace()) else _escape(char)
        for char in rendered
    )


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _table(row: Sequence[Any]) -> str:
    name, kind, persistence, rls, options, comment = row
    line = f"{_RELKINDS[str(kind)]} {name}"
    if persistence == "u":
        line += " UNLOGGED"
    if rls:
        line += " ROW LEVEL SECURITY"
    if options:
        line += f" WITH {options}"
    return line if comment is None else f"{line} COMMENT {comment!r}"


_CONSTANT = re.compile(
    r"""
    \(*                                        # PostgreSQL may parenthesise a literal
    (?: '(?:[^']|'')*'                         # a string literal
      | -?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?       # a number
      | true | false | NULL )
    \)*
    (?: ::(?: "[^"]+" | [a-z_][a-z0-9_ ]* )    # any number of casts to a named type
          (?: \(\d+(?:,\s*\d+)?\) )? (?: \[\] )* \)* )*
    """,
    re.VERBOSE,
)
"""A default that is a literal with casts: evaluating it has no side effect and one value."""

_BARE_CATEGORIES = {"N", "B"}
"""pg_type categories whose values print bare (numbers, booleans); the rest are quoted."""


def constant_defaults(connection: Connection, rows: Sequence[Sequence[Any]]) -> dict[int, str]:
    """The value each constant column default stores, by index into `rows` (`_COLUMNS` rows).

    The database evaluates them, cast to the column's type, in one statement: `0` and
    `'0'::bigint` on a bigint column are both 0, `'x'::text` on a varchar column is 'x'. Only
    literals are evaluated (never `nextval(…)` or `now()`), and PostgreSQL accepted each as the
    column's default, so the cast cannot fail. Generated columns are expressions, not defaults.
    """
    constants = [
        (index, row[5], row[3])
        for index, row in enumerate(rows)
        if row[5] is not None and row[7] != "s" and _CONSTANT.fullmatch(str(row[5]))
    ]
    if not constants:
        return {}
    select = ", ".join(f"CAST(({default}) AS {type_})::text" for _, default, type_ in constants)
    values = connection.execute(text(f"SELECT {select}")).one()
    rendered: dict[int, str] = {}
    for (index, _, _), value in zip(constants, values, strict=True):
        if value is None:
            rendered[index] = "NULL"
        elif rows[index][10] in _BARE_CATEGORIES:
            rendered[index] = str(value)
        else:
            rendered[index] = "'" + str(value).replace("'", "''") + "'"
    return rendered


def _column(row: Sequence[Any], constant: str | None = None) -> str:
    kind, table, column, type_, not_null, default, identity, generated, comment, collation = row[
        :10
    ]
    owner = {"v": "view", "m": "materialized view"}.get(str(kind), "table")
    line = f"{owner} {table}: column {column} {type_}"
    if collation:
        line += f' COLLATE "{collation}"'
    line += " NOT NULL" if not_null else " NULL"
    if generated == "s":
        line += f" GENERATED ALWAYS AS ({default}) STORED"
    elif default is not None:
        line += f" DEFAULT {default if constant is None else constant}"
    line += _IDENTITY.get(str(identity), "")
    return line if comment is None else f"{line} COMMENT {comment!r}"


def _constraint(row: Sequence[Any]) -> str:
    table, name, definition, validated, deferrable, deferred = row
    state = "validated" if validated else "not validated"
    if deferrable:
        state += ", deferrable" + (" initially deferred" if deferred else "")
    return f"table {table}: constraint {name} {definition} [{state}]"


def _index(row: Sequence[Any]) -> str:
    table, name, definition, valid = row
    suffix = "" if valid else " [INVALID: a failed CREATE INDEX CONCURRENTLY left it]"
    return f"table {table}: index {name} {definition}{suffix}"


def _sequence(row: Sequence[Any]) -> str:
    name, type_, start, increment, minimum, maximum, cache, cycle, owner = row
    line = (
        f"sequence {name} AS {type_} START {start} INCREMENT {increment} MINVALUE {minimum} "
        f"MAXVALUE {maximum} CACHE {cache} {'CYCLE' if cycle else 'NO CYCLE'}"
    )
    return line if owner is None else f"{line} OWNED BY {owner}"


def _enum(row: Sequence[Any]) -> str:
    name, labels = row
    return f"type {name} AS ENUM ({', '.join(str(label) for label in labels or ())})"


def _domain(row: Sequence[Any]) -> str:
    name, base, not_null, default, checks = row
    line = f"domain {name} AS {base}{' NOT NULL' if not_null else ''}"
    if default is not None:
        line += f" DEFAULT {default}"
    return line + "".join(f" CONSTRAINT {check}" for check in checks or ())


def _composite(row: Sequence[Any]) -> str:
    name, attributes = row
    return f"type {name} AS ({', '.join(str(a) for a in attributes or ())})"


def _range(row: Sequence[Any]) -> str:
    name, subtype = row
    return f"type {name} AS RANGE (SUBTYPE = {subtype})"


def _view(row: Sequence[Any]) -> str:
    name, kind, definition = row
    label = "materialized view" if kind == "m" else "view"
    return f"{label} {name} AS {' '.join(str(definition).split())}"


def _function(row: Sequence[Any]) -> str:
    signature, kind, definition = row
    body = " ".join(str(definition).split()) if definition is not None else f"(kind {kind})"
    return f"function {signature}: {body}"


def _trigger(row: Sequence[Any]) -> str:
    table, name, definition, enabled = row
    state = "" if enabled == "O" else f" [enabled={enabled}]"
    return f"table {table}: trigger {name} {definition}{state}"


def _policy(row: Sequence[Any]) -> str:
    table, name, permissive, roles, command, using, check = row
    return (
        f"table {table}: policy {name} {permissive} FOR {command} TO {roles} "
        f"USING ({using}) WITH CHECK ({check})"
    )


def _extension(row: Sequence[Any]) -> str:
    (name,) = row
    return f"extension {name}"


_SECTIONS: tuple[tuple[str, Callable[[Sequence[Any]], str]], ...] = (
    (_TABLES, _table),
    (_CONSTRAINTS, _constraint),
    (_INDEXES, _index),
    (_SEQUENCES, _sequence),
    (_ENUMS, _enum),
    (_DOMAINS, _domain),
    (_COMPOSITES, _composite),
    (_RANGES, _range),
    (_VIEWS, _view),
    (_FUNCTIONS, _function),
    (_TRIGGERS, _trigger),
    (_POLICIES, _policy),
    (_EXTENSIONS, _extension),
)


def take_snapshot(
    connection: Connection, *, schema: str = "public", excluded: Sequence[str] = EXCLUDED_TABLES
) -> CatalogSnapshot:
    """Read the catalog of `schema` through `connection`."""
    parameters = {"schema": schema, "excluded": list(excluded)}
    lines = [
        printable(render(tuple(row)))
        for query, render in _SECTIONS
        for row in connection.execute(text(query), parameters)
    ]
    columns = [tuple(row) for row in connection.execute(text(_COLUMNS), parameters)]
    lines += _column_lines(columns, constant_defaults(connection, columns))
    return CatalogSnapshot(tuple(sorted(lines)))


def _column_lines(rows: Sequence[Sequence[Any]], constants: Mapping[int, str]) -> list[str]:
    return [printable(_column(row, constants.get(index))) for index, row in enumerate(rows)]
