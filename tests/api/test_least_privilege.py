"""Least privilege, proven on the API's own engine: as the app role it reads and writes rows,
and PostgreSQL refuses it every change to the schema (SQLSTATE 42501, insufficient_privilege).

The database is a copy of the one Alembic migrated to head, set up for the app role as
production is (`app/roles.py`). The API logs in as a role of this run that is a member of
`items_app` and has nothing of its own, so it can do exactly what `items_app` may, on any server
the suite runs on (TEST_DATABASE_URL, testcontainers, the embedded one): the password is this
run's, and the role is dropped afterwards. The suite's user needs CREATEROLE for it.
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
from app.roles import APP_ROLE, CREATE_ROLE_IF_MISSING, app_grant_statements
from app.settings import Settings
from tests.api.helpers import assert_crud_round_trip
from tests.support.postgres import PostgresServer

INSUFFICIENT_PRIVILEGE = "42501"

pytestmark = pytest.mark.postgresql_only(
    "PostgreSQL roles, GRANTs and SQLSTATE 42501 (app/roles.py); MariaDB's users and grants "
    "are test_least_privilege_mariadb.py's"
)


@pytest.fixture(scope="module")
def app_as_app_role(postgres_server: PostgresServer, head_template: str) -> Iterator[FastAPI]:
    """The API built from settings whose DATABASE_URL logs in with the app role's rights."""
    login = f"items_app_test_{secrets.token_hex(6)}"
    password = secrets.token_hex(16)
    with postgres_server.temporary_database("items_privileges", template=head_template) as url:
        engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        app: FastAPI | None = None
        try:
            with engine.connect() as admin:
                admin.execute(text(CREATE_ROLE_IF_MISSING.format(role=APP_ROLE, options="NOLOGIN")))
                admin.execute(
                    text(f"CREATE ROLE {login} LOGIN PASSWORD '{password}' IN ROLE {APP_ROLE}")
                )
                for statement in app_grant_statements(str(url.database)):
                    admin.execute(text(statement))
            app_url = url.set(username=login, password=password)
            app = create_app(Settings(database_url=app_url.render_as_string(hide_password=False)))
            yield app
        finally:
            if app is not None:
                database_of(app).dispose()
            with engine.connect() as admin:
                admin.execute(text(f"DROP ROLE IF EXISTS {login}"))
            engine.dispose()


def test_the_app_role_creates_reads_updates_and_deletes(app_as_app_role: FastAPI) -> None:
    with TestClient(app_as_app_role) as client:
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
        "CREATE SCHEMA intruder",
    ],
)
def test_the_apps_engine_cannot_change_the_schema(app_as_app_role: FastAPI, ddl: str) -> None:
    """The engine the routes use (`app.state.database`), not a test's own connection."""
    engine = database_of(app_as_app_role).get()
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT current_user")) != APP_ROLE  # the member logs in
        assert connection.scalar(text(f"SELECT pg_has_role('{APP_ROLE}', 'USAGE')"))
        with pytest.raises(DBAPIError) as refused:
            connection.execute(text(ddl))
        connection.rollback()
    assert getattr(refused.value.orig, "pgcode", None) == INSUFFICIENT_PRIVILEGE, refused.value
