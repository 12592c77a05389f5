"""`python -m app.serve` on a database that newer code migrated (an image rolled back).

The database's `alembic_version` names a revision this code does not have. The command must stop
with one message (no traceback) saying where the database is and what to do, exit with status 3,
and leave the database exactly as it found it: no upgrade, no stamp, no served requests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import URL, create_engine, pool, text

from app.models import MYSQL_FAMILY
from app.schema_version import DATABASE_AHEAD_EXIT_STATUS
from tests.api.live_server import free_port
from tests.support.cli import run_module
from tests.support.migrations import alembic_config, upgrade
from tests.support.servers import DatabaseFactory

OLDEST_REVISION = "3c1d9e4a7b20"
"""The schema stays here, so a command that "repaired" the version and upgraded would show."""
UNKNOWN_REVISION = "f00dcafe1234"

SNAPSHOT = {
    "version": "SELECT version_num FROM alembic_version ORDER BY 1",
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default
        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""",
    "items": "SELECT * FROM items ORDER BY id",
}
SNAPSHOT_MARIADB = {
    **SNAPSHOT,
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default
        FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1, 2""",
    "constraints": """
        SELECT table_name, constraint_name, check_clause FROM information_schema.check_constraints
        WHERE constraint_schema = DATABASE() ORDER BY 1, 2""",
}
"""The same snapshot from MariaDB's catalog (no pg_constraint, and a database per schema)."""


def snapshot(url: URL) -> dict[str, list[tuple[Any, ...]]]:
    """What a command that touched the database would change: version, schema and rows."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            queries = SNAPSHOT_MARIADB if connection.dialect.name in MYSQL_FAMILY else SNAPSHOT
            return {
                name: [tuple(row) for row in connection.execute(text(query))]
                for name, query in queries.items()
            }
    finally:
        engine.dispose()


def test_serving_a_database_ahead_of_the_code_stops_with_one_message_and_changes_nothing(
    empty_database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    embedded_data = tmp_path / "must-not-be-created"
    with empty_database_factory("items_ahead") as url:
        upgrade(url, OLDEST_REVISION)
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO items (name, price) VALUES ('kept', 2.5)"))
                connection.execute(
                    text("UPDATE alembic_version SET version_num = :unknown"),
                    {"unknown": UNKNOWN_REVISION},
                )
        finally:
            engine.dispose()
        before = snapshot(url)

        environment = {
            **os.environ,
            "DATABASE_URL": url.render_as_string(hide_password=False),
            "MIGRATION_DATABASE_URL": "",  # migrate there too, whatever a .env says
            "EMBEDDED_PGDATA": str(embedded_data),
        }
        served = run_module("app.serve", "--port", str(free_port()), env=environment, timeout=120)

        after = snapshot(url)
    output = served.stdout + served.stderr
    assert served.returncode == DATABASE_AHEAD_EXIT_STATUS, output
    assert "Traceback" not in output
    assert "Serving" not in output
    message = served.stderr
    assert f"The database is at revision {UNKNOWN_REVISION}, which this code does not have" in (
        message
    )
    assert f"its newest revision is {head}" in message
    assert "deploy the newer code" in message
    assert "first run the downgrade from the newer code" in message
    assert f"downgrade {head}" in message
    assert "Nothing was changed." in message
    assert after == before
    assert before["version"] == [(UNKNOWN_REVISION,)]
    assert not embedded_data.exists()
