"""`python -m app.serve`, run as a user runs it: migrate, serve, keep the data across restarts."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from fastapi import status
from sqlalchemy import create_engine, pool, text

from app.roles import grant_statements
from tests.support.cli import run_module
from tests.support.migrations import PROJECT_ROOT, alembic_config
from tests.support.postgres import PostgresServer
from tests.support.servers import DatabaseFactory

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(environment: Mapping[str, str]) -> Iterator[str]:
    """Run the serve command until the block ends; yield its base URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base_url}/items", timeout=2).status_code == status.HTTP_200_OK:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            process.terminate()
            output, _ = process.communicate(timeout=30)
            pytest.fail(f"app.serve did not answer within {STARTUP_SECONDS}s:\n{output}")
        yield base_url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def without_database_url() -> dict[str, str]:
    # MIGRATION_DATABASE_URL blank, not absent: a .env may name one, and must not win here.
    kept = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    return {**kept, "MIGRATION_DATABASE_URL": ""}


def wait_until_stopped(data_dir: Path, seconds: float = 30) -> bool:
    """Whether the PostgreSQL of `data_dir` stops (its `postmaster.pid` goes) within `seconds`."""
    deadline = time.monotonic() + seconds
    while (data_dir / "postmaster.pid").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.mark.slow
@pytest.mark.postgresql_only("the embedded server is PostgreSQL (pgserver); it ignores the URL")
def test_serve_brings_its_own_postgres_and_keeps_items_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "pgdata"
    environment = {**without_database_url(), "EMBEDDED_PGDATA": str(data_dir)}
    with serving(environment) as base_url:
        created = httpx.post(f"{base_url}/items", json={"name": "kept", "price": 2.5})
        assert created.status_code == status.HTTP_201_CREATED
        assert (data_dir / "postmaster.pid").exists()
    # `serving` stops it with SIGTERM, as a process manager or `docker stop` does: the
    # embedded PostgreSQL must stop with it, not outlive it holding the data directory.
    assert wait_until_stopped(data_dir), "SIGTERM on app.serve left the embedded PostgreSQL running"
    with serving(environment) as base_url:
        item = httpx.get(f"{base_url}{created.headers['Location']}")
        assert item.status_code == status.HTTP_200_OK
        assert item.json() == created.json()
    assert wait_until_stopped(data_dir)


def test_serve_uses_database_url_and_migrates_it(
    empty_database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    embedded_data = tmp_path / "must-not-be-created"
    with empty_database_factory("items_serve") as url:
        rendered = url.render_as_string(hide_password=False)
        environment = {
            "DATABASE_URL": rendered,
            "MIGRATION_DATABASE_URL": "",  # migrate there too, whatever a .env says
            "EMBEDDED_PGDATA": str(embedded_data),
        }
        with serving(environment) as base_url:
            response = httpx.post(f"{base_url}/items", json={"name": "mug", "price": 1.0})
            assert response.status_code == status.HTTP_201_CREATED
            assert response.json()["quantity"] == 0
    assert not embedded_data.exists(), "a DATABASE_URL was given, yet an embedded server started"


def test_alembic_cli_runs_on_the_services_database(
    empty_database_factory: DatabaseFactory,
) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with empty_database_factory("items_cli") as url:
        environment = {
            **os.environ,
            "DATABASE_URL": url.render_as_string(hide_password=False),
            "MIGRATION_DATABASE_URL": "",  # migrate there, whatever a .env says
        }

        def alembic_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
            return run_module("app.alembic_cli", *arguments, env=environment, timeout=120)

        upgrade = alembic_cli("upgrade", "head")
        assert upgrade.returncode == 0, upgrade.stderr
        current = alembic_cli("current")
        assert current.returncode == 0, current.stderr
        assert f"{head} (head)" in current.stdout


@pytest.mark.postgresql_only("PostgreSQL roles and pg_tables (app/roles.py)")
def test_serve_migrates_as_the_owner_and_serves_as_the_app_role(
    postgres_server: PostgresServer,
) -> None:
    """Two URLs (README "Roles"): the tables belong to the migration URL's role, the API's
    connections log in as the app URL's role. Roles of this test only, dropped afterwards."""
    suffix = secrets.token_hex(5)
    owner, app, password = f"items_owner_{suffix}", f"items_app_{suffix}", secrets.token_hex(12)
    with postgres_server.temporary_database("items_roles") as url:
        database = str(url.database)
        engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as admin:
                for role in (owner, app):
                    admin.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
                for statement in grant_statements(database, owner, app):
                    admin.execute(text(statement))
            environment = {
                "MIGRATION_DATABASE_URL": url.set(
                    username=owner, password=password
                ).render_as_string(hide_password=False),
                "DATABASE_URL": url.set(username=app, password=password).render_as_string(
                    hide_password=False
                ),
            }
            with serving(environment) as base_url:
                response = httpx.post(f"{base_url}/items", json={"name": "mug", "price": 1.0})
                assert response.status_code == status.HTTP_201_CREATED, response.text
                with engine.connect() as admin:
                    served_as = admin.scalars(
                        text(
                            "SELECT DISTINCT usename FROM pg_stat_activity "
                            "WHERE datname = :database AND application_name = 'items-service'"
                        ),
                        {"database": database},
                    ).all()
            with engine.connect() as admin:
                owners = admin.execute(
                    text("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'")
                ).all()
            assert served_as == [app]
            assert sorted(owners) == [("alembic_version", owner), ("items", owner)]
        finally:
            engine.dispose()
            postgres_server.drop_database(database)
            with postgres_server.admin_connection() as admin:
                for role in (app, owner):
                    admin.execute(text(f"DROP ROLE IF EXISTS {role}"))
