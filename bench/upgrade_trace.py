"""Run one Alembic revision on a populated database, timing every statement it sends, and tell
whether the `items` table was rebuilt — on PostgreSQL or MariaDB, whichever the engine reaches.

A rebuild is what makes a migration cost time (and locks) in proportion to the rows, so it is
read from the server rather than inferred from the DDL: PostgreSQL gives a rewritten table a new
`relfilenode`, InnoDB gives a copied table a new table id (`INNODB_SYS_TABLES.TABLE_ID`).
The per-server benchmarks (`bench/migration_cost.py`, `bench/migration_cost_mariadb.py`) add what
only their server can say, such as PostgreSQL's lock modes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alembic import command
from sqlalchemy import Connection, Engine, event, text

from app.settings import is_mysql_family
from tests.support.migrations import alembic_config

BEFORE = "3c1d9e4a7b20"
QUANTITY = "9a4f2e61c8d5"
"""The revision measured (add `items.quantity` and its CHECK) and the one before it."""

RELFILENODE = "SELECT relfilenode FROM pg_class WHERE oid = 'items'::regclass"
INNODB_TABLE_ID = (
    "SELECT TABLE_ID FROM information_schema.INNODB_SYS_TABLES "
    "WHERE NAME = CONCAT(DATABASE(), '/items')"
)


@dataclass
class Trace:
    """Statements the migration ran, with their start and end times (`time.perf_counter`)."""

    statements: list[tuple[str, float, float]] = field(default_factory=list)
    started: dict[int, float] = field(default_factory=dict)

    def alters(self) -> list[tuple[str, float, float]]:
        """The revision's DDL: every ALTER TABLE, in the order it ran."""
        return [entry for entry in self.statements if is_alter(entry[0])]


@dataclass(frozen=True)
class UpgradeRun:
    """The whole upgrade's wall time and the table's identity before and after it."""

    seconds: float
    identity_before: int
    identity_after: int

    @property
    def rebuilt(self) -> bool:
        """Whether the server wrote `items` anew (a rewrite or a copy)."""
        return self.identity_before != self.identity_after


def is_alter(statement: str) -> bool:
    """Whether `statement` is an ALTER TABLE (the DDL whose cost is measured)."""
    return statement.lstrip().upper().startswith("ALTER TABLE")


def identity_query(engine: Engine) -> str:
    """The query that reads `items`' physical identity on `engine`'s kind of server."""
    return INNODB_TABLE_ID if is_mysql_family(engine.url) else RELFILENODE


def table_identity(engine: Engine) -> int:
    """`items`' relfilenode (PostgreSQL) or InnoDB table id (MariaDB): changes on a rebuild."""
    with engine.connect() as connection:
        return int(connection.execute(text(identity_query(engine))).scalar_one())


def record_statements(engine: Engine, trace: Trace) -> None:
    """Record every statement's start and end in `trace`.

    Registered before any other listener, so the end time is taken before a probe that runs
    after the statement (a lock or table-id read) adds its own time.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _before(_conn: Connection, cursor: Any, *_: Any) -> None:
        trace.started[id(cursor)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(_conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        ended = time.perf_counter()
        trace.statements.append((statement, trace.started.pop(id(cursor), ended), ended))


def probe_after_alters(
    engine: Engine, query: str, keep: Callable[[str, list[tuple[Any, ...]]], None]
) -> None:
    """After each ALTER, run `query` on the migration's own DBAPI connection and hand its rows,
    with the statement, to `keep`.

    The raw cursor runs inside the migration's transaction (it sees its locks) and is neither
    traced nor timed. Register after `record_statements`, so the statement's time excludes it.
    """

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if is_alter(statement):
            probe = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                probe.execute(query)
                keep(statement, list(probe.fetchall()))
            finally:
                probe.close()


def traced_upgrade(
    engine: Engine, instrument: Callable[[Engine], None], revision: str = QUANTITY
) -> UpgradeRun:
    """Upgrade `engine`'s database to `revision` through `engine`, instrumented by `instrument`.

    The identity is read before `instrument` runs, so that read is neither traced nor taken for
    the migration's own connection by a listener that remembers the first one it sees.
    """
    before = table_identity(engine)
    instrument(engine)
    config = alembic_config(engine.url)
    config.attributes["connection"] = engine
    started = time.perf_counter()
    command.upgrade(config, revision)
    seconds = time.perf_counter() - started
    return UpgradeRun(
        seconds=seconds, identity_before=before, identity_after=table_identity(engine)
    )
