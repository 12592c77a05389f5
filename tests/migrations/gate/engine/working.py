"""`WorkingDatabase`: one database that many hypothesis examples share, reset between them.

Hypothesis runs every example inside one call of the test, so fixtures cannot isolate them.
Cloning a database per example costs a `CREATE DATABASE` (figures in bench/RESULTS.md). Instead
each example starts with `reset()`: back to the agreed revision, every table truncated with
identities restarted, and the catalog compared with the snapshot taken at creation. Anything
unexpected (a failed downgrade, a leftover object) rebuilds the database from scratch, so no
example ever sees another's state.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import URL, Connection, Engine, create_engine

from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.dialects.base import CatalogSnapshot, Dialect
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.steps import BASE
from tests.support.postgres import PostgresServer, unique_database_name
from tests.support.servers import DatabaseServer


@dataclass
class WorkingDatabase:
    """A database kept at `revision` with empty tables between uses.

    It keeps one pooled connection open, and Alembic runs on that same connection (env.py
    accepts one through `config.attributes["connection"]`): an example then costs a few
    statements, not a dozen connection handshakes.
    """

    server: DatabaseServer
    history: History
    revision: str
    template: str | None
    name: str = ""
    baseline: CatalogSnapshot | None = None
    trusted: bool = False
    """Whether it is known to be at `revision` with `baseline` (`adopt`, `mark_clean`): the
    next reset then only empties the tables, without asking the catalog."""
    borrowed: bool = False
    """`name` belongs to the caller (emptied and reused, never dropped)."""
    tables: Collection[str] | None = None
    """The tables `reset()` empties (None: all); `adopt` narrows them to a step's."""
    _engine: Engine | None = None

    @property
    def url(self) -> URL:
        """Where it is."""
        return self.server.url_for(self.name)

    @property
    def dialect(self) -> Dialect:
        """The server's dialect."""
        return dialect_for(self.url)

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
        """(Re)create it: a clone of `template`, or an emptied database upgraded to `revision`.

        Without a template (the walk's case, and the only one on MariaDB, which has no template
        databases) the database is emptied in place and migrated: the walk builds it once, at
        base, so nothing is replayed.
        """
        if self.template is not None or not self.name:
            self.drop()
            self.name = unique_database_name("gate_work")
            if self.template is None:
                self.server.create_database(self.name)
            elif isinstance(self.server, PostgresServer):
                self.server.create_database(self.name, template=self.template)
            else:
                raise ValueError(
                    f"a working database copied from {self.template!r} needs template "
                    f"databases, which {self.dialect.name} has not: pass no template"
                )
        else:
            if self._engine is not None:
                self._engine.dispose()
            self.dialect.empty_schema(self.url)
        with self.engine.connect() as connection:
            # Before any revision runs: the tables they create get the app role's grants.
            self.dialect.prepare_app_role(connection)
        if self.template is None and self.revision != BASE:
            self.history.upgrade(self.url, self.revision)
        with self.engine.connect() as connection:
            self.baseline = self.dialect.snapshot(connection)
        self.trusted = True

    def adopt(
        self, revision: str, baseline: CatalogSnapshot, tables: Collection[str] | None
    ) -> None:
        """Vouch that the database is at `revision` with exactly `baseline`, and keep it there.

        The walk calls this at the start of each step, with the catalog it has just read, so
        the populated check's reset empties only `tables` instead of reading the catalog again.
        """
        self.revision, self.baseline, self.tables = revision, baseline, tables
        self.trusted = True

    def mark_clean(self) -> None:
        """A user ended at `revision` without leaving anything but rows behind."""
        self.trusted = True

    def _revision_now(self, connection: Connection) -> str:
        return self.dialect.current_revision(connection) or BASE

    def reset(self) -> None:
        """Back to `revision`, empty, with the schema it was built with; rebuild otherwise."""
        trusted, self.trusted = self.trusted, False
        try:
            with self.engine.connect() as connection:
                if not trusted and self._revision_now(connection) != self.revision:
                    self.migrate(connection, "downgrade", self.revision)
                self.dialect.empty_tables(connection, self.tables)
                connection.commit()
                clean = trusted or self.dialect.snapshot(connection) == self.baseline
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
    server: DatabaseServer,
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
