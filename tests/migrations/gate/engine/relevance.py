"""Which tables one revision step can touch: the tables a walk puts rows into for that step.

Rows cost time in proportion to the tables they go into, and a history of a hundred revisions
has dozens of tables: filling every table before every step would make the gate grow with the
square of the history's length. A step can only change the rows of tables its SQL names (up or
down, rendered offline), of the tables that reference those (a cascade, a dropped parent), and it
needs rows in the tables those reference (a child row needs its parent first).

Conservative where the text cannot tell: if a revision cannot be rendered offline (it reads the
database through `op.get_bind()`), or its SQL holds a statement whose reach is not written in it
(`DO` blocks, dynamic `EXECUTE`, `DROP SCHEMA`, `CASCADE`, `ALTER … ALL`), every table is in play.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable

from sqlalchemy import Connection

from tests.migrations.gate.dialects import dialect_named
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.render import OfflineRenderError, render_revision
from tests.migrations.gate.engine.steps import Step

TablesFor = Callable[[Connection], Collection[str]]
"""Which tables a check should put rows into, asked of the database as it is at that moment
(so the tables a step creates count after its upgrade); `tables_in_play` bound to a step."""

_UNBOUNDED_REACH = re.compile(
    r"\bDO\s+(\$|')|\bEXECUTE\b|\bDROP\s+SCHEMA\b|\bCASCADE\b|\bALL\s+TABLES\b|\bOWNED\s+BY\b",
    re.IGNORECASE,
)


def step_sql(history: History, step: Step) -> str | None:
    """The step's SQL, up and down, as one text (None if it cannot be rendered offline)."""
    try:
        return "\n".join(
            statement
            for direction in ("up", "down")
            for statement in render_revision(history, step.revision, direction).statements
        )
    except OfflineRenderError:
        return None


def named_in(sql: str, tables: Iterable[str]) -> set[str]:
    """The `tables` whose name appears in `sql` as a whole identifier (quoted or not)."""
    return {
        name
        for name in tables
        if re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", sql, re.IGNORECASE)
    }


def tables_in_play(history: History, step: Step, connection: Connection) -> tuple[str, ...]:
    """The existing tables (at `step.before`, read through `connection`) the step can touch."""
    dialect = dialect_named(connection.dialect.name)
    existing = set(dialect.user_tables(connection))
    edges = dialect.foreign_keys(connection)
    return choose_tables(step_sql(history, step), existing, edges)


def choose_tables(
    sql: str | None, existing: Collection[str], edges: Iterable[tuple[str, str]]
) -> tuple[str, ...]:
    """Of the `existing` tables, those `sql` can touch; `edges` are (child, parent) foreign keys.

    None (no SQL) or a statement of unbounded reach: all of them.
    """
    if sql is None or _UNBOUNDED_REACH.search(sql):
        return tuple(sorted(existing))
    chosen = named_in(sql, existing)
    links = list(edges)
    _close_over(chosen, links, child_side=True)  # tables that reference a touched one
    _close_over(chosen, links, child_side=False)  # parents their rows need
    return tuple(sorted(chosen & set(existing)))


def _close_over(chosen: set[str], edges: list[tuple[str, str]], *, child_side: bool) -> None:
    """Add to `chosen`, until nothing changes, the children (or parents) of what it holds."""
    grown = True
    while grown:
        grown = False
        for child, parent in edges:
            source, target = (parent, child) if child_side else (child, parent)
            if source in chosen and target not in chosen:
                chosen.add(target)
                grown = True
