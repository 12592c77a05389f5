"""Put rows into every table of a database at any revision, whatever its schema.

Checks that run a revision "on a populated database" need rows without knowing the schema in
advance. The dialect fills each table in one statement (`Dialect.bulk_fill`); a table it cannot
satisfy (a CHECK that rejects its values, say) gets the CHECK-aware sample rows of `rows.py`
(the generator of the populated-upgrades check) instead; if those fail too, it is reported and
left empty rather than failing the caller: rewrite and lock behaviour do not depend on the rows'
contents.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection

from tests.migrations.gate.dialects import dialect_named
from tests.migrations.gate.dialects.base import FillReport
from tests.migrations.gate.engine.rows import insert_rows, reflect_schema, sample_rows

__all__ = ["FillReport", "fill_tables"]


def fill_tables(
    connection: Connection, rows: int = 50, *, only: Collection[str] | None = None
) -> FillReport:
    """Insert `rows` rows into every table (except Alembic's), committing each.

    `only` limits the filling to those tables (the ones a revision step can touch).

    A dialect without a bulk fill yet (MariaDB: `NotImplementedError`) gets `rows` sample rows
    per table from `rows.py` instead: slower, but the rewrite check needs populated tables on
    every server it runs on.
    """
    dialect = dialect_named(connection.dialect.name)
    try:
        report = dialect.bulk_fill(connection, rows, only)
    except NotImplementedError as missing:
        tables = [t for t in dialect.user_tables(connection) if only is None or t in only]
        report = FillReport(skipped=dict.fromkeys(tables, str(missing)))
        _fill_with_samples(connection, report, per_table=rows)
        return report
    if report.skipped:
        _fill_with_samples(connection, report)
    return report


def _fill_with_samples(connection: Connection, report: FillReport, per_table: int = 3) -> None:
    """Second chance for the skipped tables: `rows.py`'s CHECK-aware sample rows."""
    if not report.skipped:
        return
    schema = reflect_schema(connection, only=sorted(report.skipped))
    plan = {
        name: rows
        for name, rows in sample_rows(schema, per_table=per_table).items()
        if name in report.skipped
    }
    counts = insert_rows(connection, schema, plan)
    connection.commit()
    for name, count in counts.items():
        if count and name in report.skipped:
            del report.skipped[name]
            report.inserted[name] = count
