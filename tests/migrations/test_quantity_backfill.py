"""Items-specific: rows written before `quantity` existed read 0 and are served by the API.

The tutorial this service grew from added `quantity` without a server default and answered
500 for every old row. Here rows are inserted at revision 3c1d9e4a7b20 (the table as it was
then, described locally, never through `app.models`), the history is upgraded, and the API
built by `create_app()` must serve each row with 200.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.database import get_session
from app.main import create_app
from app.models import NAME_MAX_LENGTH, WHITESPACE
from tests.migrations.gate.history import History
from tests.migrations.gate.upgrade import RevisionTemplates
from tests.migrations.gate.working import WorkingDatabase, working_database
from tests.support.postgres import PostgresServer

CREATE_ITEMS = "3c1d9e4a7b20"
ADD_QUANTITY = "9a4f2e61c8d5"

# `items` as revision 3c1d9e4a7b20 created it.
ITEMS_AT_CREATE = sa.table("items", sa.column("id"), sa.column("name"), sa.column("price"))

names = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=NAME_MAX_LENGTH,
).filter(lambda name: name.strip(WHITESPACE) != "")
prices = st.floats(min_value=0, exclude_min=True, allow_infinity=False, allow_nan=False)
old_rows = st.lists(st.fixed_dictionaries({"name": names, "price": prices}), min_size=1, max_size=8)

EDGE_ROWS = [
    {"name": "Blue mug", "price": 9.5},
    {"name": "x" * NAME_MAX_LENGTH, "price": 5e-324},
    {"name": " ünïcode ✓ ", "price": 1.7976931348623157e308},
]


@pytest.fixture(scope="module")
def old_database(
    postgres_server: PostgresServer, project_templates: RevisionTemplates
) -> Iterator[WorkingDatabase]:
    """A database at 3c1d9e4a7b20, reset between examples (hypothesis runs them in one call)."""
    template = project_templates.template_for(CREATE_ITEMS)
    with working_database(postgres_server, History(), CREATE_ITEMS, template=template) as db:
        yield db


@pytest.fixture(scope="module")
def client(old_database: WorkingDatabase) -> Iterator[TestClient]:
    """The app built as production builds it, its sessions on the working database."""
    app: FastAPI = create_app()

    def session() -> Iterator[Session]:
        with Session(old_database.engine, autoflush=False, expire_on_commit=False) as s:
            yield s

    app.dependency_overrides[get_session] = session
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _upgrade_old_rows(database: WorkingDatabase, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` at 3c1d9e4a7b20, upgrade to 9a4f2e61c8d5, check the backfill, then head."""
    database.reset()
    with database.engine.connect() as connection:
        ids = list(
            connection.scalars(
                sa.insert(ITEMS_AT_CREATE).values(rows).returning(ITEMS_AT_CREATE.c.id)
            )
        )
        connection.commit()
        database.migrate(connection, "upgrade", ADD_QUANTITY)
        quantities = connection.execute(sa.text("SELECT id, quantity FROM items ORDER BY id"))
        assert {row.id: row.quantity for row in quantities} == dict.fromkeys(ids, 0)
        connection.commit()
        database.migrate(connection, "upgrade", "head")
    return ids


def _assert_served(client: TestClient, ids: list[int], rows: list[dict[str, Any]]) -> None:
    for item_id, row in zip(ids, rows, strict=True):
        response = client.get(f"/items/{item_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["quantity"] == 0
        assert body["name"] == row["name"]
        assert math.isclose(body["price"], row["price"], rel_tol=0, abs_tol=0)
    listing = client.get("/items", params={"limit": 100})
    assert listing.status_code == 200, listing.text
    assert [item["id"] for item in listing.json()] == ids
    assert all(item["quantity"] == 0 for item in listing.json())


def test_edge_rows_are_backfilled_and_served(
    old_database: WorkingDatabase, client: TestClient
) -> None:
    ids = _upgrade_old_rows(old_database, EDGE_ROWS)
    _assert_served(client, ids, EDGE_ROWS)


@settings(max_examples=25)
@given(rows=old_rows)
def test_any_old_rows_are_backfilled_and_served(
    old_database: WorkingDatabase, client: TestClient, rows: list[dict[str, Any]]
) -> None:
    """25 examples: each costs a downgrade, two upgrades and a dozen requests."""
    ids = _upgrade_old_rows(old_database, rows)
    _assert_served(client, ids, rows)
