"""What the root conftest's database factories hand a test, whichever server the run uses."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import URL

from app.settings import Settings, is_mysql_family

DatabaseFactory = Callable[[str], AbstractContextManager[URL]]
"""`with factory("prefix") as url:` a private database for the block, dropped afterwards."""


class DatabaseServer(Protocol):
    """A server the suite may create and drop its own databases on, whichever kind it is.

    `PostgresServer` (`tests/support/postgres.py`) and `MariaDBServer` (`tests/support/mariadb.py`)
    both are one. Only PostgreSQL can copy a database (`CREATE DATABASE … TEMPLATE`): code that
    wants a copy asks `supports_templates` and otherwise migrates a new, empty database.
    """

    @property
    def admin_url(self) -> URL:
        """How the suite reaches the server as its administrator."""
        ...

    @property
    def origin(self) -> str:
        """Where the server came from (`TEST_DATABASE_URL`, testcontainers, …), for messages."""
        ...

    @property
    def supports_templates(self) -> bool:
        """Whether `create_database` can copy a template database (PostgreSQL only)."""
        ...

    def url_for(self, database: str) -> URL:
        """The URL of `database` on this server."""
        ...

    def create_database(self, name: str) -> URL:
        """Create `name`, empty."""
        ...

    def drop_database(self, name: str) -> None:
        """Drop `name`, whoever still uses it."""
        ...

    def temporary_database(self, prefix: str) -> AbstractContextManager[URL]:
        """An empty database that exists for the duration of the `with` block."""
        ...


class ConflictingServerError(RuntimeError):
    """`ITEMS_TEST_SERVER` asks for one kind of server and `TEST_DATABASE_URL` names another."""


def backend_under_test(settings: Settings | None = None) -> str:
    """`"mariadb"` or `"postgresql"`: the kind of server this run's tests use.

    `TEST_DATABASE_URL`'s scheme decides when it is set; otherwise `ITEMS_TEST_SERVER`
    (`mariadb` asks for testcontainers' MariaDB container); otherwise PostgreSQL, the default.
    Both are read through `app.settings.Settings`, so from the environment or `.env`. A URL of
    one kind with `ITEMS_TEST_SERVER` naming the other raises: the run would otherwise test a
    server its author did not ask for.
    """
    settings = settings if settings is not None else Settings()
    url = settings.test_database_url
    requested = settings.test_server
    if url is None:
        return requested or "postgresql"
    named = "mariadb" if is_mysql_family(url) else "postgresql"
    if requested is not None and requested != named:
        raise ConflictingServerError(
            f"ITEMS_TEST_SERVER={requested} asks for {requested}, but TEST_DATABASE_URL names a "
            f"{named} server: unset one of them, or make them agree"
        )
    return named
