"""Least privilege on MariaDB, proven on the API's own engine: as a user with the app's grant
(README, Roles: `app.roles.mariadb_grant_statements`) it reads and writes rows, and MariaDB
refuses it every change to the schema (error 1142, ER_TABLEACCESS_DENIED_ERROR, or 1044).

The database is migrated to head by the admin user; the API logs in as a user of this run with
exactly the app's grant on that database, dropped afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import DBAPIError

from app.database import database_of
from app.main import create_app
from app.roles import mariadb_grant_statements
from app.settings import Settings
from tests.api.helpers import assert_crud_round_trip
from tests.support.mariadb import MariaDBServer
from tests.support.migrations import upgrade

DENIED = (1142, 1044)
"""ER_TABLEACCESS_DENIED_ERROR (a table), ER_DBACCESS_DENIED_ERROR (the database)."""

pytestmark = pytest.mark.mariadb_only(
    "MariaDB's users and database grants; PostgreSQL's roles are test_least_privilege.py's"
)


@pytest.fixture(scope="module")
def app_as_app_user(mariadb_server: MariaDBServer) -> Iterator[FastAPI]:
    """The API built from settings whose DATABASE_URL logs in with the app's grant only."""
    login = f"items_app_{secrets.token_hex(4)}"
    password = secrets.token_hex(16)
    account = f"'{login}'@'%'"
    with mariadb_server.temporary_database("items_privileges") as url:
        upgrade(url)
        engine = create_engine(url, poolclass=pool.NullPool)
        app: FastAPI | None = None
        try:
            with engine.connect() as admin:
                admin.execute(text(f"CREATE USER {account} IDENTIFIED BY :pw"), {"pw": password})
                _owner, app_grant = mariadb_grant_statements(str(url.database), app=account)
                admin.execute(text(app_grant))
                admin.commit()
            app_url = url.set(username=login, password=password)
            app = create_app(Settings(database_url=app_url.render_as_string(hide_password=False)))
            yield app
        finally:
            if app is not None:
                database_of(app).dispose()
            with engine.connect() as admin:
                admin.execute(text(f"DROP USER IF EXISTS {account}"))
                admin.commit()
            engine.dispose()


def test_the_app_user_creates_reads_updates_and_deletes(app_as_app_user: FastAPI) -> None:
    with TestClient(app_as_app_user) as client:
        assert_crud_round_trip(client)


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE intruder (id integer)",
        "DROP TABLE items",
        "ALTER TABLE items ADD COLUMN intruder integer",
        "TRUNCATE items",
        "CREATE INDEX ix_intruder ON items (name)",
        "DROP TABLE alembic_version",
        "CREATE DATABASE intruder",
    ],
)
def test_the_apps_engine_cannot_change_the_schema(app_as_app_user: FastAPI, ddl: str) -> None:
    """The engine the routes use (`app.state.database`), not a test's own connection."""
    engine = database_of(app_as_app_user).get()
    with engine.connect() as connection:
        assert str(connection.scalar(text("SELECT CURRENT_USER()"))).startswith("items_app_")
        with pytest.raises(DBAPIError) as refused:
            connection.execute(text(ddl))
        connection.rollback()
    assert getattr(refused.value.orig, "args", (None,))[0] in DENIED, refused.value
