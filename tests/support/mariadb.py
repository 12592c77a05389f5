"""A MariaDB server the suite may create and drop its own databases on (`TEST_DATABASE_URL`).

The PostgreSQL counterpart is `tests/support/postgres.py`; which one a run uses is the scheme of
`TEST_DATABASE_URL` (`mariadb://…` or `mysql://…`, see `server_backend`). MariaDB has no
template databases, so a database "at head" is made by running the migrations on a new empty
database (`head_database`), never by copying one.

Where the server comes from (`start_mariadb`): `TEST_DATABASE_URL` when it is `mariadb://…` or
`mysql://…`; otherwise, when `ITEMS_TEST_SERVER=mariadb` asks for MariaDB without a URL, a
throwaway `mariadb:10.11` container started by testcontainers (`MySqlContainer`: the installed
testcontainers has no MariaDB module, and the MariaDB image reads the same `MYSQL_*`
variables). Without a Docker engine that request raises `NoMariaDBAvailableError`, saying
why; the root conftest turns it into a failure under `CI=true` and a skip elsewhere.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from sqlalchemy import URL, Connection, create_engine, make_url, pool, text
from sqlalchemy.exc import DBAPIError

from app.settings import MYSQL_CHARSET, is_mysql_family, normalise_database_url, require_driver
from tests.support.migrations import upgrade
from tests.support.postgres import docker_available, unique_database_name

TESTCONTAINERS_IMAGE = "mariadb:10.11"
"""The MariaDB the container path starts: the version this project is tested against."""


class NoMariaDBAvailableError(RuntimeError):
    """MariaDB was asked for without a URL, and no Docker engine answered to start one."""


def server_backend(url: str | URL | None) -> str:
    """`"mariadb"` for a MariaDB/MySQL URL, `"postgresql"` for anything else (or no URL)."""
    if url is None:
        return "postgresql"
    return "mariadb" if is_mysql_family(url) else "postgresql"


@dataclass(frozen=True)
class MariaDBServer:
    """A server, reached through `admin_url`, on which databases may be created and dropped."""

    admin_url: URL
    origin: str

    @property
    def supports_templates(self) -> bool:
        """No: MariaDB has no template databases; a copy is a new database, migrated."""
        return False

    def url_for(self, database: str) -> URL:
        """The URL of `database` on this server."""
        return self.admin_url.set(database=database)

    @contextmanager
    def admin_connection(self) -> Iterator[Connection]:
        """An autocommit connection with no default database (CREATE DATABASE needs none)."""
        engine = create_engine(self.admin_url.set(database=None), poolclass=pool.NullPool)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                yield connection
        finally:
            engine.dispose()

    def create_database(self, name: str) -> URL:
        """Create `name`, empty, in utf8mb4 (so every name the API accepts fits)."""
        with self.admin_connection() as connection:
            quote = connection.dialect.identifier_preparer.quote
            connection.execute(text(f"CREATE DATABASE {quote(name)} CHARACTER SET {MYSQL_CHARSET}"))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop `name`, first killing whatever connection still uses it.

        PostgreSQL's `DROP DATABASE … WITH (FORCE)` does this itself; MariaDB's DROP would wait
        for those sessions' metadata locks (a day, by default).
        """
        self.kill_sessions(name)
        with self.admin_connection() as connection:
            quote = connection.dialect.identifier_preparer.quote
            connection.execute(text(f"DROP DATABASE IF EXISTS {quote(name)}"))

    def kill_sessions(self, name: str) -> int:
        """`KILL` every other session whose current database is `name`; how many there were."""
        with self.admin_connection() as connection:
            sessions = connection.execute(
                text(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE db = :name AND id <> CONNECTION_ID()"
                ),
                {"name": name},
            ).scalars()
            killed = 0
            for session in list(sessions):
                with suppress(DBAPIError):  # it may have ended on its own meanwhile
                    connection.execute(text(f"KILL CONNECTION {int(session)}"))
                    killed += 1
            return killed

    @contextmanager
    def temporary_database(self, prefix: str) -> Iterator[URL]:
        """An empty database that exists for the duration of the `with` block."""
        name = unique_database_name(prefix)
        url = self.create_database(name)
        try:
            yield url
        finally:
            self.drop_database(name)

    @contextmanager
    def head_database(self, prefix: str) -> Iterator[URL]:
        """A database migrated to head by Alembic (never `create_all`), for the `with` block."""
        with self.temporary_database(prefix) as url:
            upgrade(url, "head")
            yield url


@contextmanager
def mariadb_from_url(url: str) -> Iterator[MariaDBServer]:
    """The MariaDB server at `url`; a clear error if it does not answer."""
    admin_url = normalise_database_url(make_url(url))
    require_driver(admin_url)
    server = MariaDBServer(admin_url=admin_url, origin="TEST_DATABASE_URL")
    with server.admin_connection() as connection:
        connection.execute(text("SELECT 1"))
    yield server


def docker_refusal() -> str | None:
    """Why testcontainers cannot start a container here, or None when a Docker engine answers."""
    if os.environ.get("ITEMS_TEST_SKIP_DOCKER") == "1":
        return "ITEMS_TEST_SKIP_DOCKER=1"
    if docker_available():
        return None
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return f"no Docker engine answered at {host}"


@contextmanager
def mariadb_from_testcontainers() -> Iterator[MariaDBServer]:
    """A throwaway `mariadb:10.11` container, as root, for the `with` block.

    The container's URL says `mysql+pymysql://`; it is rewritten to `mariadb://` so that it
    gets SQLAlchemy's MariaDB dialect and utf8mb4, exactly as a `TEST_DATABASE_URL` would.
    """
    from testcontainers.community.mysql import MySqlContainer  # noqa: PLC0415

    password = secrets.token_hex(12)  # a throwaway container's, never written anywhere
    container = MySqlContainer(
        TESTCONTAINERS_IMAGE, dialect="pymysql", username="root", password=password
    )
    with container:
        url = make_url(container.get_connection_url()).set(drivername="mariadb", database=None)
        admin_url = normalise_database_url(url)
        server = MariaDBServer(
            admin_url=admin_url, origin=f"testcontainers ({TESTCONTAINERS_IMAGE})"
        )
        with server.admin_connection() as connection:
            connection.execute(text("SELECT 1"))
        yield server


@contextmanager
def start_mariadb(url: str | None) -> Iterator[MariaDBServer]:
    """The MariaDB server at `url` when given, else testcontainers' container.

    Raises `NoMariaDBAvailableError` (before importing testcontainers) when there is no URL and
    no Docker engine: MariaDB has no embedded fallback, unlike PostgreSQL's pgserver.
    """
    if url is not None:
        with mariadb_from_url(url) as server:
            yield server
        return
    refusal = docker_refusal()
    if refusal is not None:
        raise NoMariaDBAvailableError(
            f"ITEMS_TEST_SERVER=mariadb asks for testcontainers' {TESTCONTAINERS_IMAGE} "
            f"container, but {refusal}: start Docker (or point DOCKER_HOST at one), or set "
            "TEST_DATABASE_URL=mariadb://user@host:3306/ to use an existing server"
        )
    with mariadb_from_testcontainers() as server:
        yield server
