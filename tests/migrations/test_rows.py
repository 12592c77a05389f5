"""The row generator behind the stairway and populated checks, on a schema with every kind of
column the fixtures use: identity, varchar, integer with CHECK bounds, text, enum, numeric,
timestamptz with a function default, and a foreign key."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from sqlalchemy import (
    URL,
    CheckConstraint,
    Column,
    Double,
    MetaData,
    Table,
    create_engine,
    pool,
)

from tests.migrations.gate.engine.history import fixture_history
from tests.migrations.gate.engine.rows import (
    Bounds,
    RowsPlan,
    check_bounds,
    insert_rows,
    reflect_schema,
    rows_strategy,
    sample_rows,
)


def _parts_schema(url: URL) -> None:
    fixture_history("correct_new_table").upgrade(url, "head")


def test_samples_fill_every_table_parents_first(scratch_database_url: URL) -> None:
    _parts_schema(scratch_database_url)
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        schema = reflect_schema(connection)
        assert [spec.name for spec in schema.tables] == ["widgets", "parts"]
        counts = insert_rows(connection, schema, sample_rows(schema))
        connection.rollback()
    engine.dispose()
    assert counts == {"widgets": 3, "parts": 3}


@pytest.mark.postgresql_only("its schema is PostgreSQL SQL")
def test_generated_rows_are_mostly_accepted(scratch_database_url: URL) -> None:
    """Bounds read from CHECKs keep refusals rare; foreign keys point at inserted parents."""
    _parts_schema(scratch_database_url)
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        schema = reflect_schema(connection)
    planned: Counter[str] = Counter()
    inserted: Counter[str] = Counter()

    @settings(max_examples=30)
    @given(plan=rows_strategy(schema))
    def insert(plan: RowsPlan) -> None:
        with engine.connect() as connection:
            planned.update({name: len(rows) for name, rows in plan.items()})
            inserted.update(insert_rows(connection, schema, plan))
            connection.rollback()

    insert()
    engine.dispose()
    assert inserted["widgets"] >= 0.9 * planned["widgets"] > 0
    assert inserted["parts"] > 0


@pytest.mark.parametrize(
    "check",
    [
        "price > 0 AND price < 'Infinity'::double precision",
        "price < 'Infinity'::double precision AND price > 0",  # the upper bound first
    ],
)
def test_check_bounds_keep_both_ends_in_either_order(check: str) -> None:
    table = Table(
        "things",
        MetaData(),
        Column("price", Double, nullable=False),
        CheckConstraint(check, name="price_positive_finite"),
    )
    assert check_bounds(table)["price"] == Bounds(
        minimum=0.0, exclude_minimum=True, maximum=None, exclude_maximum=False, finite=True
    )
