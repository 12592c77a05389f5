"""The API against a plain dict: any sequence of creates, reads, updates, deletes and lists agrees.

Hypothesis drives a `RuleBasedStateMachine`; after every step an invariant compares the whole
table with the model. Each generated sequence runs in its own transaction, opened in `__init__`
and rolled back in `teardown`. The engine, app and client come from session-scoped fixtures,
handed to the class by an autouse fixture (a `TestCase` cannot take fixtures, and
function-scoped ones would leak state between examples, which hypothesis rightly refuses).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI, status
from fastapi.testclient import TestClient
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from sqlalchemy import Connection, Engine

from app.items import MAX_PAGE_SIZE
from app.models import ID_MAX
from tests.api.helpers import table_rows
from tests.support.api import rolled_back
from tests.support.strategies import valid_items, valid_updates

Item = dict[str, Any]


class ItemsAgainstADict(RuleBasedStateMachine):
    """One run: a fresh transaction, a model holding what the table held at the start."""

    engine: ClassVar[Engine]
    app: ClassVar[FastAPI]
    client: ClassVar[TestClient]

    ids = Bundle("ids")

    def __init__(self) -> None:
        super().__init__()
        self._transaction: AbstractContextManager[Connection] = rolled_back(self.engine, self.app)
        self.connection = self._transaction.__enter__()
        self.model: dict[int, Item] = {
            row[0]: {"id": row[0], "name": row[1], "price": row[2], "quantity": row[3]}
            for row in table_rows(self.connection)
        }

    def teardown(self) -> None:
        self._transaction.__exit__(None, None, None)

    @rule(target=ids, item=valid_items)
    def create(self, item: Item) -> int:
        response = self.client.post("/items", json=item)
        assert response.status_code == status.HTTP_201_CREATED, response.text
        created: Item = response.json()
        assert created == {"quantity": 0, **item, "id": created["id"]}
        assert created["id"] not in self.model, "an id was handed out twice"
        self.model[created["id"]] = created
        return int(created["id"])

    @rule(item_id=ids)
    def read(self, item_id: int) -> None:
        self._check_read(item_id)

    @rule(item_id=st.integers(1, ID_MAX))
    def read_any_id(self, item_id: int) -> None:
        """Mostly ids that never existed: 404, never a 5xx."""
        self._check_read(item_id)

    @rule(item_id=ids, changes=valid_updates)
    def update(self, item_id: int, changes: Item) -> None:
        response = self.client.put(f"/items/{item_id}", json=changes)
        if item_id not in self.model:
            assert response.status_code == status.HTTP_404_NOT_FOUND, response.text
            return
        assert response.status_code == status.HTTP_200_OK, response.text
        self.model[item_id] = {**self.model[item_id], **changes}
        assert response.json() == self.model[item_id]

    @rule(item_id=ids)
    def delete(self, item_id: int) -> None:
        """Deleting twice is allowed: the id stays in the bundle, and the second time is 404."""
        response = self.client.delete(f"/items/{item_id}")
        expected = status.HTTP_204_NO_CONTENT if item_id in self.model else 404
        assert response.status_code == expected, response.text
        self.model.pop(item_id, None)

    @rule(skip=st.integers(0, 30), limit=st.integers(1, MAX_PAGE_SIZE))
    def list_page(self, skip: int, limit: int) -> None:
        response = self.client.get("/items", params={"skip": skip, "limit": limit})
        assert response.status_code == status.HTTP_200_OK, response.text
        assert response.headers["X-Total-Count"] == str(len(self.model))
        expected = [self.model[item_id] for item_id in sorted(self.model)][skip : skip + limit]
        assert response.json() == expected

    @invariant()
    def table_matches_the_model(self) -> None:
        rows = table_rows(self.connection)
        model = [
            (item["id"], item["name"], item["price"], item["quantity"])
            for item in (self.model[item_id] for item_id in sorted(self.model))
        ]
        assert rows == model

    def _check_read(self, item_id: int) -> None:
        response = self.client.get(f"/items/{item_id}")
        if item_id in self.model:
            assert response.status_code == status.HTTP_200_OK, response.text
            assert response.json() == self.model[item_id]
        else:
            assert response.status_code == status.HTTP_404_NOT_FOUND, response.text


@pytest.fixture(autouse=True, scope="module")
def _wire_the_machine(api_engine: Engine, app: FastAPI, client: TestClient) -> None:
    """Give the machine the session's engine, app and client (class attributes, not fixtures)."""
    ItemsAgainstADict.engine = api_engine
    ItemsAgainstADict.app = app
    ItemsAgainstADict.client = client


TestItemsAgainstADict = ItemsAgainstADict.TestCase
TestItemsAgainstADict.settings = settings(stateful_step_count=25)
