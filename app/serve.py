"""`python -m app.serve`: migrate the database to head, then serve the API on 127.0.0.1:8000.

With `DATABASE_URL` set, that server is used and nothing else is started. Without it, an embedded
PostgreSQL from the `pgserver` wheel is started with its data in `.pgdata/` (git-ignored; set
`EMBEDDED_PGDATA` to keep it elsewhere), so a machine with nothing but Python can run the
service, and its items survive restarts. That server is set up as production is (README "Roles"):
migrations run as `items_owner`, the API as `items_app`, which cannot change the schema.

With `MIGRATION_DATABASE_URL` set too, the upgrade runs there and the API on `DATABASE_URL`.

A database that newer code migrated (its revision is not in `alembic/versions`) is left alone:
the command says which revision it is at and what to do, and exits with status 3.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import URL, create_engine, make_url, pool, text

from app.main import create_app
from app.roles import (
    ADOPT_OBJECTS,
    APP_ROLE,
    CREATE_ROLE_IF_MISSING,
    OWNER_ROLE,
    grant_statements,
)
from app.schema_version import (
    DATABASE_AHEAD_EXIT_STATUS,
    DatabaseAheadError,
    refuse_a_database_ahead,
)
from app.settings import PROJECT_ROOT, Settings, get_settings, normalise_database_url

EMBEDDED_DATABASE = "items"


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[EmbeddedDatabase]:
    """Start (or reuse) the embedded server in `data_dir`; yield its `items` database's URLs,
    one for migrating as `items_owner`, one for serving as `items_app`.

    The server stops when the last process using it exits; the data directory stays.
    """
    from pgserver.postgres_server import get_server  # noqa: PLC0415  (slow; only needed here)

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    try:
        admin_url = normalise_database_url(server.get_uri())
        ensure_database(admin_url.render_as_string(hide_password=False), EMBEDDED_DATABASE)
        database_url = admin_url.set(database=EMBEDDED_DATABASE)
        ensure_roles(database_url)
        yield EmbeddedDatabase(
            migration_url=database_url.set(username=OWNER_ROLE, password=None).render_as_string(
                hide_password=False
            ),
            app_url=database_url.set(username=APP_ROLE, password=None).render_as_string(
                hide_password=False
            ),
        )
    finally:
        server.cleanup()


@dataclass(frozen=True)
class EmbeddedDatabase:
    """The embedded database, as the migrations reach it and as the app does."""

    migration_url: str
    """As `items_owner`, who owns the schema."""
    app_url: str
    """As `items_app`, who may only use rows."""


def ensure_roles(database_url: URL) -> None:
    """Create `items_owner` and `items_app` (login roles; the embedded server trusts its local
    socket, so no password) unless they exist, and set the database up for them (`app.roles`):
    the owner owns the schema and everything in it, the app gets rows and sequences only."""
    engine = create_engine(database_url, poolclass=pool.NullPool)
    database = str(database_url.database)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for role in (OWNER_ROLE, APP_ROLE):
                connection.execute(text(CREATE_ROLE_IF_MISSING.format(role=role, options="LOGIN")))
            for statement in grant_statements(database):
                connection.execute(text(statement))
            connection.execute(text(ADOPT_OBJECTS.format(owner=OWNER_ROLE)))
    finally:
        engine.dispose()


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` (UTF-8) on the server behind `admin_url` unless it exists."""
    engine = create_engine(normalise_database_url(admin_url), poolclass=pool.NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                quoted = connection.dialect.identifier_preparer.quote(name)
                connection.execute(
                    text(f"CREATE DATABASE {quoted} ENCODING 'UTF8' TEMPLATE template0")
                )
    finally:
        engine.dispose()


def alembic_config(settings: Settings, config: Config | None = None) -> Config:
    """The project's Alembic config (or `config`), with `settings` handed to `env.py`.

    `env.py` takes the URL and the migration timeouts from these settings, so nothing here
    writes to the environment.
    """
    config = config or Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["settings"] = settings
    return config


def upgrade_to_head(settings: Settings) -> None:
    """Run `alembic upgrade head` on `settings.migration_url`, unless the database is ahead.

    The check runs again if the upgrade cannot find a revision, in case newer code migrated the
    database between the check and the upgrade.
    """
    config = alembic_config(settings)
    refuse_a_database_ahead(config, settings)
    try:
        command.upgrade(config, "head")
    except CommandError:
        refuse_a_database_ahead(config, settings)
        raise


def serve(settings: Settings, host: str, port: int) -> None:
    """Migrate (on the migration URL), then run uvicorn until interrupted, on the app built from
    `settings` (on `DATABASE_URL`)."""
    with database(settings) as served:
        assert served.database_url is not None
        upgrade_to_head(served)
        shown = make_url(served.database_url).render_as_string(hide_password=True)
        print(f"Serving http://{host}:{port}/docs on {shown}", flush=True)
        uvicorn.run(create_app(served), host=host, port=port)


@contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """`settings` when they name a database; else a copy naming the embedded server's database
    (migrations as `items_owner`, the app as `items_app`), which runs for the `with` block."""
    if settings.database_url is not None:
        yield settings
        return
    with embedded_postgres(settings.embedded_pgdata) as embedded:
        yield settings.model_copy(
            update={
                "database_url": embedded.app_url,
                "migration_database_url": embedded.migration_url,
            }
        )


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM (a process manager, `docker stop`) unwind the stack like Ctrl-C does.

    uvicorn catches SIGTERM, shuts down gracefully, then raises the signal again under the
    handler that was in place before it started. Python's default handler kills the process on
    the spot, so the embedded server's `with` block never ran and PostgreSQL outlived the app,
    holding `.pgdata`. Exiting through `SystemExit` instead runs every `finally` on the way out.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def main() -> None:
    """Command-line entry point."""
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    arguments = parser.parse_args()
    try:
        serve(get_settings(), arguments.host, arguments.port)
    except DatabaseAheadError as error:
        print(f"app.serve: {error}", file=sys.stderr, flush=True)
        sys.exit(DATABASE_AHEAD_EXIT_STATUS)


if __name__ == "__main__":
    main()
