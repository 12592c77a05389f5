"""PostgreSQL's bulk fill: `INSERT … SELECT … FROM generate_series()` per table.

Values are derived from each column's type category in `pg_type` (the row number as an integer,
`'row 7'` as text, the first label of an enum, …); columns with a default, an identity or a
generation expression keep theirs; a single-column foreign key takes an existing key of the
referenced table, which is filled first. A table these rules cannot satisfy is reported in
`FillReport.skipped` for the engine's second chance (`engine/fill.py`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Connection, text

from tests.migrations.gate.dialects.base import VERSION_TABLE, FillReport
from tests.migrations.gate.dialects.bulk_insert import FillColumn, bulk_insert

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory,
       t.typname, a.attnotnull, a.atthasdef, (a.attidentity <> '' OR a.attgenerated <> ''),
       (SELECT r.relname || '.' || ra.attname
        FROM pg_constraint k
        JOIN pg_class r ON r.oid = k.confrelid
        JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
        WHERE k.contype = 'f' AND k.conrelid = c.oid AND k.conkey = ARRAY[a.attnum]
        LIMIT 1)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> :version_table
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""


def _value(type_: str, category: str, type_name: str) -> str | None:
    """An SQL expression over the row number `g` for a column, or None if it has none."""
    by_category = {
        "N": "g",
        "S": "'row ' || g",
        "B": "g % 2 = 0",
        "D": "now()",
        "T": "make_interval(secs => g)",
        "E": f"(enum_range(NULL::{type_}))[1]",
        "A": "'{}'",
        "I": "'10.0.0.1'",
    }
    by_type = {"uuid": "md5(g::text)::uuid", "json": "'{}'", "jsonb": "'{}'", "bytea": "'\\x00'"}
    expression = by_type.get(type_name) or by_category.get(category)
    if expression is None:
        return None
    return f"CAST({expression} AS {type_})"


def bulk_fill(connection: Connection, rows: int, only: Collection[str] | None) -> FillReport:
    """Insert `rows` rows into every table of `public` (or `only` those), committing each."""
    tables: dict[str, list[FillColumn]] = {}
    query = connection.execute(text(_COLUMNS), {"version_table": VERSION_TABLE})
    for table, name, type_, category, type_name, not_null, has_default, automatic, refs in query:
        if only is None or table in only:
            tables.setdefault(str(table), []).append(
                FillColumn(
                    name=str(name),
                    type_label=str(type_),
                    not_null=bool(not_null),
                    keeps_its_own=bool(has_default) or bool(automatic),
                    references=None if refs is None else str(refs),
                    value=_value(str(type_), str(category), str(type_name)),
                )
            )
    connection.commit()
    series = f"generate_series(1, {int(rows)}) AS g"

    def insert_select(table: str, names: Sequence[str], values: Sequence[str]) -> str:
        if not names:  # every column fills itself: rows of defaults
            return f"INSERT INTO {table} SELECT FROM {series}"
        return f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(values)} FROM {series}"

    return bulk_insert(connection, tables, insert_select)
