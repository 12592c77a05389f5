"""A `.env` file configures everything an exported variable does: the service, its migrations
and its tests all read their settings through `app.settings.Settings`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import PROJECT_ROOT, Settings
from tests.support.cli import run_module

DOTENV = """\
DATABASE_URL=postgres://someone@db.example/items
MIGRATION_DATABASE_URL=postgres://owner@db.example/items
MIGRATION_LOCK_TIMEOUT=7s
MIGRATION_STATEMENT_TIMEOUT=2min
EMBEDDED_PGDATA=/srv/items-pgdata
TEST_DATABASE_URL=postgres://tester@db.example/postgres
"""
NAMES = [line.partition("=")[0] for line in DOTENV.splitlines()]


@pytest.fixture
def dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `.env` with one line per setting, and none of them in the environment (which wins)."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / ".env"
    path.write_text(DOTENV)
    return path


def test_a_dotenv_file_sets_every_setting(dotenv: Path) -> None:
    settings = Settings(_env_file=dotenv)
    assert settings.database_url == "postgresql+psycopg2://someone@db.example/items"
    assert settings.migration_url == "postgresql+psycopg2://owner@db.example/items"
    assert settings.migration_lock_timeout == "7s"
    assert settings.migration_statement_timeout == "2min"
    assert settings.embedded_pgdata == Path("/srv/items-pgdata")
    assert settings.test_database_url == "postgresql+psycopg2://tester@db.example/postgres"


def test_migrations_take_their_timeouts_from_dotenv(dotenv: Path) -> None:
    """`env.py` itself, run as a user runs Alembic from the folder holding the `.env`.

    Offline (`--sql`), so the database in the `.env` is never contacted.
    """
    environment = {name: value for name, value in os.environ.items() if name not in NAMES}
    environment["PYTHONPATH"] = str(PROJECT_ROOT)
    rendered = run_module(
        "app.alembic_cli", "upgrade", "head", "--sql", env=environment, cwd=dotenv.parent
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "SET lock_timeout = '7s';" in rendered.stdout
    assert "SET statement_timeout = '2min';" in rendered.stdout


@pytest.mark.parametrize("value", ["5 seconds", "5s'; DROP TABLE items; --", ""])
def test_a_migration_timeout_that_is_not_a_duration_is_refused(value: str) -> None:
    """The value is spliced into `SET lock_timeout = '…'`: only a duration may get there."""
    with pytest.raises(ValidationError, match=r"MIGRATION_LOCK_TIMEOUT=.* is not a PostgreSQL"):
        Settings(migration_lock_timeout=value)


def test_copying_the_example_env_file_keeps_the_embedded_servers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`.env.example` says "copy to .env": that must not point the service or the tests at a
    server that may not exist, and so silently switch the embedded PostgreSQL off."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    monkeypatch.delenv("MIGRATION_DATABASE_URL", raising=False)
    settings = Settings(_env_file=PROJECT_ROOT / ".env.example")
    assert settings.database_url is None
    assert settings.migration_url is None
    assert settings.test_database_url is None
