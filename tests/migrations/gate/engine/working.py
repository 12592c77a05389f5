"""`WorkingDatabase`: one database that many hypothesis examples share, reset between them.

Hypothesis runs every example inside one call of the test, so fixtures cannot isolate them.
Cloning a database per example costs ~35 ms on PostgreSQL 15 but ~165 ms on the embedded
PostgreSQL 16 (its FILE_COPY checkpoint). Instead each example starts with `reset()`: back to
the agreed revision, every table truncated with identities restarted, and the catalog compared
with the snapshot taken at creation. Anything unexpected (a failed downgrade, a leftover
object) rebuilds the database from scratch, so no example ever sees another's state.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import URL, Connection, Engine, create_engine, pool, text

from tests.migrations.gate.dialects.postgresql.catalog import (
    EXCLUDED_TABLES,
    CatalogSnapshot,
    take_snapshot,
)
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.steps import BASE
from tests.support.postgres import PostgresServer, unique_database_name


def current_revision(connection: Connection) -> str:
    """The revision recorded in `alembic_version`, or "base"."""
    exists = connection.scalar(text("SELECT to_regclass('public.alembic_version') IS NOT NULL"))
    if not exists:
        return BASE
    return connection.scalar(text("SELECT max(version_num) FROM alembic_version")) or BASE


def truncate_everything(connection: Connection, only: Collection[str] | None = None) -> None:
    """Empty every table of schema public (not alembic_version; `only` those) and restart
    identities."""
    quote = connection.dialect.identifier_preparer.quote
    names = connection.scalars(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    ).all()
    tables = [
        quote(name)
        for name in names
        if name not in EXCLUDED_TABLES and (only is None or name in only)
    ]
    if tables:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def empty_public_schema(url: URL) -> None:
    """Make the database at `url` empty again: schema public dropped and recreated.

    Milliseconds, where `CREATE DATABASE` forces a checkpoint that, on a server other test
    runs keep busy, costs up to a second. Everything the gate compares lives in schema public
    (alembic_version included), so this is as good as a new database for it.
    """
    engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@dataclass
class WorkingDatabase:
    """A database kept at `revision` with empty tables between uses.

    It keeps one pooled connection open, and Alembic runs on that same connection (env.py
    accepts one through `config.attributes["connection"]`): an example then costs a few
    statements, not a dozen connection handshakes.
    """

    server: PostgresServer
    history: History
    revision: str
    template: str | None
    name: str = ""
    baseline: CatalogSnapshot | None = None
    trusted: bool = False
    """Set by a user that ended cleanly at `revision`: the next reset only truncates."""
    borrowed: bool = False
    """`name` belongs to the caller (emptied and reused, never dropped)."""
    tables: Collection[str] | None = None
    """The tables `reset()` empties (None: all); a walk sets the ones its step can touch."""
    _engine: Engine | None = None

    @property
    def url(self) -> URL:
        """Where it is."""
        return self.server.url_for(self.name)

    @property
    def engine(self) -> Engine:
        """A one-connection pooled engine on it."""
        if self._engine is None:
            self._engine = create_engine(self.url, pool_size=1, max_overflow=0)
        return self._engine

    def migrate(
        self, connection: Connection, command: Literal["upgrade", "downgrade"], target: str
    ) -> None:
        """`alembic upgrade|downgrade <target>` through env.py, on `connection`."""
        if connection.in_transaction():
            connection.commit()
        config = self.history.config()
        config.attributes["connection"] = connection
        self.history.run(config, command, target)

    def build(self) -> None:
        """(Re)create it: a clone of `template`, or an emptied database upgraded to `revision`."""
        if self.template is not None or not self.name:
            self.drop()
            self.name = unique_database_name("gate_work")
            self.server.create_database(self.name, template=self.template or "template0")
        else:
            if self._engine is not None:
                self._engine.dispose()
            empty_public_schema(self.url)
        if self.template is None and self.revision != BASE:
            self.history.upgrade(self.url, self.revision)
        with self.engine.connect() as connection:
            self.baseline = take_snapshot(connection)
        self.trusted = True

    def reset(self) -> None:
        """Back to `revision`, empty, with the schema it was built with; rebuild otherwise."""
        trusted, self.trusted = self.trusted, False
        try:
            with self.engine.connect() as connection:
                if not trusted and current_revision(connection) != self.revision:
                    self.migrate(connection, "downgrade", self.revision)
                truncate_everything(connection, self.tables)
                connection.commit()
                clean = trusted or take_snapshot(connection) == self.baseline
                connection.commit()
        except Exception:
            clean = False
        if not clean:
            self.build()
            self.trusted = False

    def drop(self) -> None:
        """Close its connection and drop it."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self.name and not self.borrowed:
            self.server.drop_database(self.name)
            self.name = ""


@contextmanager
def working_database(
    server: PostgresServer,
    history: History,
    revision: str,
    *,
    template: str | None = None,
    borrow: URL | None = None,
) -> Iterator[WorkingDatabase]:
    """A `WorkingDatabase` at `revision` for the duration of the block.

    With `borrow` (an expendable database of the caller's, no `template`), that database is
    emptied and used instead of a new one.
    """
    database = WorkingDatabase(server=server, history=history, revision=revision, template=template)
    if borrow is not None and template is None:
        database.name, database.borrowed = str(borrow.database), True
    database.build()
    try:
        yield database
    finally:
        database.drop()
