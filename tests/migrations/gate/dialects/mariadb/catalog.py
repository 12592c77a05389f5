"""A text snapshot of everything MariaDB's information_schema knows about one database.

The PostgreSQL snapshot (`dialects/postgresql/catalog.py`) reads pg_catalog; this one reads
information_schema of the current database (`DATABASE()`), which on MariaDB is the schema.
Lines follow the same shape, "table items: column quantity …", so a failure's diff reads the
same on either server. Positions, AUTO_INCREMENT counters, row counts and InnoDB table ids are
left out: they differ between schemas that behave the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, text

from tests.migrations.gate.dialects.base import VERSION_TABLE, CatalogSnapshot

_Render = Callable[[tuple[Any, ...]], str]

_TABLES = """
SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, TABLE_COMMENT
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE <> 'VIEW' AND TABLE_NAME <> :version_table
"""
_COLUMNS = """
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
       COLLATION_NAME, COLUMN_COMMENT, GENERATION_EXPRESSION
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> :version_table
"""
_CHECKS = """
SELECT TABLE_NAME, CONSTRAINT_NAME, LEVEL, CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME <> :version_table
"""
_INDEXES = """
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE,
       GROUP_CONCAT(CONCAT(COLUMN_NAME, IFNULL(CONCAT('(', SUB_PART, ')'), ''),
                           IF(COLLATION = 'D', ' DESC', ''))
                    ORDER BY SEQ_IN_INDEX SEPARATOR ', ')
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> :version_table
GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE
"""
_FOREIGN_KEYS = """
SELECT k.TABLE_NAME, k.CONSTRAINT_NAME,
       GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', '),
       k.REFERENCED_TABLE_NAME,
       GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', '),
       r.UPDATE_RULE, r.DELETE_RULE
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
 AND r.TABLE_NAME = k.TABLE_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE
"""
_TRIGGERS = """
SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORIENTATION,
       ACTION_STATEMENT
FROM information_schema.TRIGGERS
WHERE TRIGGER_SCHEMA = DATABASE()
"""
_VIEWS = """
SELECT TABLE_NAME, CHECK_OPTION, IS_UPDATABLE, VIEW_DEFINITION
FROM information_schema.VIEWS
WHERE TABLE_SCHEMA = DATABASE()
"""
_ROUTINES = """
SELECT ROUTINE_TYPE, ROUTINE_NAME, DTD_IDENTIFIER, IS_DETERMINISTIC, SQL_DATA_ACCESS,
       ROUTINE_DEFINITION
FROM information_schema.ROUTINES
WHERE ROUTINE_SCHEMA = DATABASE()
"""


def _table(row: tuple[Any, ...]) -> str:
    name, kind, engine, collation, comment = row
    if kind == "SEQUENCE":
        return f"sequence {name}"
    described = f"table {name}: engine {engine}, collation {collation}"
    return described + (f", comment {comment!r}" if comment else "")


def _column(row: tuple[Any, ...]) -> str:
    table, name, kind, nullable, default, extra, collation, comment, generated = row
    line = f"table {table}: column {name} {kind}{'' if nullable == 'YES' else ' NOT NULL'}"
    if default is not None:
        line += f" DEFAULT {default}"
    if extra:
        line += f" {str(extra).upper()}"
    if generated:
        line += f" AS ({generated})"
    if collation:
        line += f" COLLATE {collation}"
    return line + (f" COMMENT {comment!r}" if comment else "")


def _check(row: tuple[Any, ...]) -> str:
    table, name, level, clause = row
    return f"table {table}: {str(level).lower()} check {name} CHECK ({clause})"


def _index(row: tuple[Any, ...]) -> str:
    table, name, non_unique, kind, columns = row
    unique = "" if int(non_unique) else "unique "
    return f"table {table}: {unique}index {name} USING {kind} ({columns})"


def _foreign_key(row: tuple[Any, ...]) -> str:
    table, name, columns, parent, parent_columns, on_update, on_delete = row
    return (
        f"table {table}: foreign key {name} ({columns}) REFERENCES {parent} ({parent_columns}) "
        f"ON UPDATE {on_update} ON DELETE {on_delete}"
    )


def _trigger(row: tuple[Any, ...]) -> str:
    table, name, timing, event, orientation, statement = row
    return f"table {table}: trigger {name} {timing} {event} FOR EACH {orientation} {statement}"


def _view(row: tuple[Any, ...]) -> str:
    name, check_option, updatable, definition = row
    return f"view {name} (check option {check_option}, updatable {updatable}): {definition}"


def _routine(row: tuple[Any, ...]) -> str:
    kind, name, returns, deterministic, access, definition = row
    described = f"{str(kind).lower()} {name}"
    if returns:
        described += f" RETURNS {returns}"
    return f"{described} deterministic {deterministic} {access}: {definition}"


_SECTIONS: tuple[tuple[str, _Render], ...] = (
    (_TABLES, _table),
    (_COLUMNS, _column),
    (_CHECKS, _check),
    (_INDEXES, _index),
    (_FOREIGN_KEYS, _foreign_key),
    (_TRIGGERS, _trigger),
    (_VIEWS, _view),
    (_ROUTINES, _routine),
)


def printable(line: str) -> str:
    """One line per object, however many lines its definition spans."""
    return " ".join(line.split())


def take_snapshot(
    connection: Connection, *, excluded: Sequence[str] = (VERSION_TABLE,)
) -> CatalogSnapshot:
    """Read information_schema of the connection's current database."""
    lines: list[str] = []
    for query, render in _SECTIONS:
        for row in connection.execute(text(query), {"version_table": VERSION_TABLE}):
            values = tuple(row)
            table = values[1] if render is _routine else values[0]
            if render is not _routine and render is not _view and table in excluded:
                continue
            lines.append(printable(render(values)))
    return CatalogSnapshot(tuple(sorted(lines)))
