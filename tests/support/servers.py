"""What the root conftest's database factories hand a test, whichever server the run uses."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import URL

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
