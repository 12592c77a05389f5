"""Items-specific: rows written before `quantity` existed read 0 and are served by the API.

The tutorial this service grew from added `quantity` as a nullable column with no default and
answered 500 for every old row; `fixtures/quantity_without_default` replays that revision and
proves this test catches it. Rows are inserted at revision 3c1d9e4a7b20 (the table as it was
then, described here, never through `app.models`), the history is upgraded, and the API built
by `create_app()` must serve each row with 200.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from app.database import Begin, get_begin
from app.main import create_app
from app.models import NAME_MAX_LENGTH, WHITESPACE
from tests.migrations.gate.checks.upgrade import RevisionTemplates
from tests.migrations.gate.engine.history import History, fixture_history
from tests.migrations.gate.engine.working import WorkingDatabase, working_database
from tests.support.servers import DatabaseServer

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
old_rows = st.lists(
    st.fixed_dictionaries({"name": names, "price": prices}), min_size=1, max_size=40
)

EDGE_ROWS = [
    {"name": "Blue mug", "price": 9.5},
    {"name": "x" * NAME_MAX_LENGTH, "price": 5e-324},
    {"name": " ünïcode ✓ ", "price": 1.7976931348623157e308},
]


@dataclass
class Served:
    """What became of old rows: their quantity after the upgrade, and the API's answers."""

    ids: list[int]
    quantities: dict[int, Any]
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: dict[int, Any] = field(default_factory=dict)
    listing_status: int = 0
    listing: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Api:
    """One app and client for the module; requests go to whichever database `engine` is."""

    client: TestClient
    engine: Engine | None = None


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    """The app built as production builds it, its transactions on the database under test."""
    app = create_app()
    with TestClient(app, raise_server_exceptions=False) as client:
        holder = Api(client=client)

        async def begin() -> Begin:
            assert holder.engine is not None
            return holder.engine.begin

        app.dependency_overrides[get_begin] = begin
        yield holder


@pytest.fixture(scope="module")
def old_database(
    gate_server: DatabaseServer, project_templates: RevisionTemplates
) -> Iterator[WorkingDatabase]:
    """A database at 3c1d9e4a7b20, reset between examples (hypothesis runs them in one call).

    A copy of the template on PostgreSQL; on MariaDB (no templates) a new database, migrated.
    """
    project_templates.require("quantity-backfill")
    template = (
        project_templates.template_for(CREATE_ITEMS) if gate_server.supports_templates else None
    )
    with working_database(gate_server, History(), CREATE_ITEMS, template=template) as db:
        yield db


def serve_old_rows(
    api: Api, database: WorkingDatabase, rows: list[dict[str, Any]], quantity_revision: str
) -> Served:
    """Insert `rows` at 3c1d9e4a7b20, upgrade to `quantity_revision`, then head; ask the API."""
    database.reset()
    with database.engine.connect() as connection:
        ids = list(
            connection.scalars(
                sa.insert(ITEMS_AT_CREATE).values(rows).returning(ITEMS_AT_CREATE.c.id)
            )
        )
        connection.commit()
        database.migrate(connection, "upgrade", quantity_revision)
        quantities = connection.execute(sa.text("SELECT id, quantity FROM items ORDER BY id"))
        served = Served(ids=ids, quantities={row.id: row.quantity for row in quantities})
        connection.commit()
        database.migrate(connection, "upgrade", "head")
    api.engine = database.engine
    for item_id in ids:
        response = api.client.get(f"/items/{item_id}")
        served.statuses[item_id] = response.status_code
        served.bodies[item_id] = response.json() if response.status_code == 200 else None
    listing = api.client.get("/items", params={"limit": 100})
    served.listing_status = listing.status_code
    served.listing = listing.json() if listing.status_code == 200 else []
    return served


def assert_backfilled_and_served(served: Served, rows: list[dict[str, Any]]) -> None:
    """Every old row reads quantity 0 and is served, as stored, by both read routes."""
    assert served.quantities == dict.fromkeys(served.ids, 0)
    for item_id, row in zip(served.ids, rows, strict=True):
        assert served.statuses[item_id] == 200
        body = served.bodies[item_id]
        assert body["quantity"] == 0
        assert body["name"] == row["name"]
        assert math.isclose(body["price"], row["price"], rel_tol=0, abs_tol=0)
    assert served.listing_status == 200
    assert [item["id"] for item in served.listing] == served.ids
    assert all(item["quantity"] == 0 for item in served.listing)


@pytest.mark.history
def test_edge_rows_are_backfilled_and_served(api: Api, old_database: WorkingDatabase) -> None:
    served = serve_old_rows(api, old_database, EDGE_ROWS, ADD_QUANTITY)
    assert_backfilled_and_served(served, EDGE_ROWS)


@pytest.mark.history
@settings(max_examples=5)
@given(rows=old_rows)
def test_any_old_rows_are_backfilled_and_served(
    api: Api, old_database: WorkingDatabase, rows: list[dict[str, Any]]
) -> None:
    """5 examples of up to 40 rows: an example costs a downgrade from head and an upgrade to
    head (which grow with the history), the rows cost next to nothing, so rows are drawn many
    to an example rather than many examples drawn (was 10 of up to 20: the same number of rows,
    twice the migrations)."""
    served = serve_old_rows(api, old_database, rows, ADD_QUANTITY)
    assert_backfilled_and_served(served, rows)


@pytest.mark.postgresql_only("the fixture's items revision is PostgreSQL SQL (btrim, ::float8)")
def test_the_tutorials_quantity_revision_is_caught(api: Api, gate_server: DatabaseServer) -> None:
    """A nullable `quantity` without default: old rows read NULL and every read is a 500."""
    history = fixture_history("quantity_without_default")
    with working_database(gate_server, history, CREATE_ITEMS) as database:
        served = serve_old_rows(api, database, EDGE_ROWS, "7e570ba11ad0")
    assert served.quantities == dict.fromkeys(served.ids, None)
    assert set(served.statuses.values()) == {500}
    assert served.listing_status == 500
    with pytest.raises(AssertionError):
        assert_backfilled_and_served(served, EDGE_ROWS)
