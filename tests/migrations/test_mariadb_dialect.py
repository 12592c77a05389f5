"""The MariaDB dialect's answers, on a real MariaDB database (issue 10).

The catalog snapshot is what no-trace and drift compare, so each kind of object a revision can
leave behind must show as a line of its own; the rest are the questions the walk asks.
"""

from __future__ import annotations

import pytest
from sqlalchemy import URL, create_engine, pool, text
from sqlalchemy.exc import DBAPIError

from tests.migrations.gate.dialects import dialect_for

pytestmark = pytest.mark.mariadb_only("the PostgreSQL dialect is tested by test_catalog.py")

SCHEMA = (
    "CREATE TABLE parents (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
    "size INT NOT NULL DEFAULT 0, CONSTRAINT ck_parents_size CHECK (size >= 0))",
    "CREATE TABLE children (id INT NOT NULL PRIMARY KEY, parent_id BIGINT, "
    "CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id) "
    "ON DELETE CASCADE)",
    "CREATE INDEX ix_children_parent ON children (parent_id)",
    "CREATE VIEW big_parents AS SELECT id FROM parents WHERE size > 10",
    "CREATE TRIGGER parents_touch BEFORE UPDATE ON parents FOR EACH ROW SET NEW.size = NEW.size",
    "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN 2 * x",
    "CREATE SEQUENCE tickets",
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
    "INSERT INTO alembic_version VALUES ('abc123')",
)


def _build(url: URL) -> None:
    engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for statement in SCHEMA:
            connection.execute(text(statement))
    engine.dispose()


def test_the_snapshot_names_every_kind_of_object(scratch_database_url: URL) -> None:
    _build(scratch_database_url)
    dialect = dialect_for(scratch_database_url)
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        lines = dialect.snapshot(connection).lines
        assert dialect.current_revision(connection) == "abc123"
        assert dialect.user_tables(connection) == ["children", "parents"]
        assert dialect.foreign_keys(connection) == [("children", "parents")]
        keys = dialect.generated_keys(connection, ["parents", "children"])
    engine.dispose()
    expected = [
        "table parents: column id bigint(20) NOT NULL AUTO_INCREMENT",
        "table parents: column size int(11) NOT NULL DEFAULT 0",
        "table parents: table check ck_parents_size CHECK (`size` >= 0)",
        "table children: index ix_children_parent USING BTREE (parent_id)",
        "table children: foreign key fk_children_parent (parent_id) REFERENCES parents (id) "
        "ON UPDATE RESTRICT ON DELETE CASCADE",
        "sequence tickets",
    ]
    for line in expected:
        assert line in lines, "\n".join(lines)
    kinds = ("view big_parents", "table parents: trigger parents_touch", "function twice")
    for prefix in kinds:
        assert any(line.startswith(prefix) for line in lines), (prefix, lines)
    assert not any("alembic_version" in line for line in lines)
    assert [(k.table, k.column, k.how) for k in keys] == [("parents", "id", "auto_increment")]


def test_emptying_restarts_keys_and_dropping_leaves_nothing(scratch_database_url: URL) -> None:
    _build(scratch_database_url)
    dialect = dialect_for(scratch_database_url)
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("INSERT INTO parents (size) VALUES (1), (2)"))
        connection.execute(text("INSERT INTO children VALUES (1, 2)"))
        connection.commit()
        dialect.empty_tables(connection, None)
        connection.execute(text("INSERT INTO parents (size) VALUES (3)"))
        assert connection.scalar(text("SELECT id FROM parents")) == 1
        connection.commit()
    dialect.empty_schema(scratch_database_url)
    with engine.connect() as connection:
        assert dialect.snapshot(connection).lines == ()
        assert dialect.current_revision(connection) is None
    engine.dispose()


def test_a_failed_check_is_a_refused_row_and_a_duplicate_a_duplicate_key(
    scratch_database_url: URL,
) -> None:
    _build(scratch_database_url)
    dialect = dialect_for(scratch_database_url)
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        with pytest.raises(DBAPIError) as check:
            connection.execute(text("INSERT INTO parents (size) VALUES (-1)"))
        connection.rollback()
        connection.execute(text("INSERT INTO parents (id, size) VALUES (5, 1)"))
        with pytest.raises(DBAPIError) as duplicate:
            connection.execute(text("INSERT INTO parents (id, size) VALUES (5, 1)"))
        connection.rollback()
    engine.dispose()
    assert dialect.refuses_row(check.value)
    assert not dialect.is_duplicate_key(check.value, "id")
    assert dialect.is_duplicate_key(duplicate.value, "id")
