"""`python -m app.serve`: migrate the database to head, then serve the API on 127.0.0.1:8000.

With `DATABASE_URL` set, that server is used and nothing else is started. Without it, an embedded
PostgreSQL from the `pgserver` wheel is started with its data in `.pgdata/` (git-ignored; set
`EMBEDDED_PGDATA` to keep it elsewhere), so a machine with nothing but Python can run the
service, and its items survive restarts.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, make_url, pool, text

from app.settings import get_settings, normalise_database_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_DATA_DIR = Path(os.environ.get("EMBEDDED_PGDATA") or PROJECT_ROOT / ".pgdata")
EMBEDDED_DATABASE = "items"


@contextmanager
def embedded_postgres(data_dir: Path = EMBEDDED_DATA_DIR) -> Iterator[str]:
    """Start (or reuse) the embedded server in `data_dir`; yield a URL to its `items` database.

    The server stops when the last process using it exits; the data directory stays.
    """
    from pgserver.postgres_server import get_server  # noqa: PLC0415  (slow; only needed here)

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    try:
        admin_url = normalise_database_url(server.get_uri())
        ensure_database(admin_url.render_as_string(hide_password=False), EMBEDDED_DATABASE)
        yield admin_url.set(database=EMBEDDED_DATABASE).render_as_string(hide_password=False)
    finally:
        server.cleanup()


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


def upgrade_to_head(database_url: str) -> None:
    """Run `alembic upgrade head` against `database_url`."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "head")


def serve(host: str, port: int) -> None:
    """Migrate, then run uvicorn until interrupted."""
    configured = get_settings().database_url
    with database(configured) as database_url:
        os.environ["DATABASE_URL"] = database_url
        get_settings.cache_clear()
        upgrade_to_head(database_url)
        shown = make_url(database_url).render_as_string(hide_password=True)
        print(f"Serving http://{host}:{port}/docs on {shown}", flush=True)
        uvicorn.run("app.main:app", host=host, port=port)


@contextmanager
def database(configured: str | None) -> Iterator[str]:
    """`configured` when given; else the embedded server, running for the `with` block."""
    if configured is not None:
        yield configured
        return
    with embedded_postgres() as url:
        yield url


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port)


if __name__ == "__main__":
    main()
