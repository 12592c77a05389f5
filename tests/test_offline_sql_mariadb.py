"""Offline `alembic upgrade head --sql` renders for MariaDB too, with MariaDB's own statements.

No server is needed: the SQL is rendered for a `mariadb://` URL that is never connected to. The
PostgreSQL rendering is the gate's business (tests/migrations/test_offline_sql.py).
"""

from __future__ import annotations

import io

import pytest
from alembic import command

from app.models import WHITESPACE
from tests.support.migrations import alembic_config

MARIADB_URL = "mariadb://root@127.0.0.1:1/never_connected"


def offline_sql(direction: str, revisions: str) -> str:
    """What `alembic <direction> <revisions> --sql` prints for MariaDB."""
    buffer = io.StringIO()
    config = alembic_config(MARIADB_URL)
    config.output_buffer = buffer
    getattr(command, direction)(config, revisions, sql=True)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def upgrade_sql() -> str:
    return offline_sql("upgrade", "base:head")


def test_the_session_sets_mariadb_timeouts_first(upgrade_sql: str) -> None:
    """A migration never waits a day (MariaDB's default) for a metadata lock."""
    first = upgrade_sql.index("SET SESSION lock_wait_timeout = 5;")
    assert first < upgrade_sql.index("CREATE TABLE items")
    assert "SET SESSION max_statement_time = 300;" in upgrade_sql
    assert "lock_timeout = '" not in upgrade_sql  # PostgreSQL's spelling


def test_the_table_uses_mariadb_spellings(upgrade_sql: str) -> None:
    """Alembic's offline printer turns every tab of a statement into four spaces, the tab inside
    the name rule's literal included (on PostgreSQL too): offline SQL is for review, and an
    online upgrade is what creates the real CHECK."""
    assert "id BIGINT NOT NULL AUTO_INCREMENT" in upgrade_sql
    printed = WHITESPACE.replace("\t", "    ")
    assert f"CHECK (name REGEXP '[^{printed}]')" in upgrade_sql
    assert "CHECK (price > 0)" in upgrade_sql
    for postgresql_only in ("btrim", "'Infinity'::float8", "NOT VALID", "VALIDATE CONSTRAINT"):
        assert postgresql_only not in upgrade_sql


def test_the_quantity_column_is_instant_and_rerunnable(upgrade_sql: str) -> None:
    assert (
        "ALTER TABLE items ADD COLUMN IF NOT EXISTS quantity INTEGER NOT NULL DEFAULT 0, "
        "ALGORITHM=INSTANT;"
    ) in upgrade_sql
    drop = upgrade_sql.index("DROP CONSTRAINT IF EXISTS ck_items_quantity_non_negative")
    add = upgrade_sql.index("ADD CONSTRAINT ck_items_quantity_non_negative CHECK (quantity >= 0)")
    assert drop < add


def test_the_downgrade_renders_too() -> None:
    sql = offline_sql("downgrade", "head:base")
    assert "DROP TABLE items;" in sql
    assert "DROP COLUMN quantity" in sql
