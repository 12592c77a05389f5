"""Which tables a revision step can touch: where the walk puts rows (`gate/relevance.py`).

A table wrongly left out would hide data loss from the populated check, so the choice is
tested on its own: named tables, their foreign-key neighbours, and the fallbacks to every table.
"""

from __future__ import annotations

import pytest
from sqlalchemy import URL, create_engine, pool

from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.relevance import choose_tables, named_in, tables_in_play
from tests.migrations.gate.engine.steps import steps

TABLES = ("items", "items_archive", "orders", "order_lines", "customers", "audit")
# (child, parent): order_lines -> orders -> customers; audit stands alone.
EDGES = (("order_lines", "orders"), ("orders", "customers"))


def test_names_are_matched_as_whole_identifiers() -> None:
    sql = 'ALTER TABLE items ADD COLUMN quantity INTEGER;\nUPDATE "orders" SET x = 1;'
    assert named_in(sql, TABLES) == {"items", "orders"}
    assert named_in("CREATE INDEX ix_items_archive_name ON items_archive (name);", TABLES) == {
        "items_archive"
    }


def test_children_of_a_touched_table_and_the_parents_they_need_are_in_play() -> None:
    """Deleting customers cascades to orders and order_lines; their rows need customers."""
    chosen = choose_tables("DELETE FROM customers WHERE id < 0;", TABLES, EDGES)
    assert chosen == ("customers", "order_lines", "orders")
    assert choose_tables("ALTER TABLE order_lines ADD COLUMN note TEXT;", TABLES, EDGES) == (
        "customers",
        "order_lines",
        "orders",
    )
    assert choose_tables("ALTER TABLE audit ADD COLUMN note TEXT;", TABLES, EDGES) == ("audit",)


@pytest.mark.parametrize(
    "sql",
    [
        None,  # the revision cannot be rendered offline
        "DO $$ BEGIN EXECUTE 'TRUNCATE ' || 'items'; END $$;",
        "DROP SCHEMA legacy CASCADE;",
        "TRUNCATE audit CASCADE;",
        "REASSIGN OWNED BY old_role TO new_role;",
    ],
)
def test_statements_whose_reach_is_not_in_their_text_put_every_table_in_play(
    sql: str | None,
) -> None:
    assert choose_tables(sql, TABLES, EDGES) == tuple(sorted(TABLES))


def test_a_step_is_judged_on_its_own_rendered_sql(scratch_database_url: URL) -> None:
    """On a database at the head of `correct_new_table` (widgets, and parts referencing it)."""
    history = fixture_history("correct_new_table")
    history.upgrade(scratch_database_url, "head")
    first, second = steps(history)
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            # w01 creates widgets; parts references widgets, so a change there reaches it.
            assert tables_in_play(history, first, connection) == ("parts", "widgets")
            assert tables_in_play(history, second, connection) == ("parts", "widgets")
    finally:
        engine.dispose()


def test_a_revision_that_reads_data_in_python_puts_every_table_in_play(
    scratch_database_url: URL,
) -> None:
    """`op.get_bind()` makes the SQL unknowable offline: nothing may be left out."""
    history = fixture_history("reads_data")
    first, second = steps(history)
    history.upgrade(scratch_database_url, first.revision)
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE bystander (id integer)")
            connection.commit()
            assert tables_in_play(history, second, connection) == ("bystander", "things")
    finally:
        engine.dispose()
