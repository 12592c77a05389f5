"""Bad input gets a clear 4xx naming the offending field, and the table is left untouched."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import status
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Connection, text

from app.models import MYSQL_FAMILY

pytestmark = pytest.mark.usefixtures("db")

VALID = {"name": "Blue mug", "price": 9.5, "quantity": 1}


def send_json(client: TestClient, method: str, url: str, body: object) -> Response:
    """Send `body` as ASCII-escaped JSON, so even lone surrogates reach the server as sent."""
    headers = {"Content-Type": "application/json"}
    response: Response = client.request(method, url, content=json.dumps(body), headers=headers)
    return response


def row_count(db: Connection) -> int:
    return int(db.execute(text("SELECT count(*) FROM items")).scalar_one())


BAD_FIELDS: list[tuple[str, Any]] = [
    ("name", ""),
    ("name", "   "),
    ("name", "\t\n\u3000\u00a0"),
    ("name", "x" * 201),
    ("name", "nul\x00byte"),
    ("name", "\ud800 lone surrogate"),
    ("name", 12),
    ("name", None),
    ("name", ["list"]),
    ("price", 0),
    ("price", -1.5),
    ("price", "9.5"),
    ("price", True),
    ("price", None),
    ("quantity", -1),
    ("quantity", 2**31),
    ("quantity", 2**64),
    ("quantity", 1.5),
    ("quantity", "3"),
    ("quantity", False),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_create_rejects_bad_field_and_stores_nothing(
    client: TestClient, db: Connection, field: str, value: Any
) -> None:
    response = send_json(client, "POST", "/items", {**VALID, field: value})
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT, response.text
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert row_count(db) == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e309", "-1e309"])
def test_create_rejects_non_finite_price_literals(
    client: TestClient, db: Connection, literal: str
) -> None:
    body = f'{{"name": "mug", "price": {literal}}}'
    response = client.post("/items", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "price"]
    assert row_count(db) == 0


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_update_rejects_bad_field_and_changes_nothing(
    client: TestClient, field: str, value: Any
) -> None:
    item = client.post("/items", json=VALID).json()
    response = send_json(client, "PUT", f"/items/{item['id']}", {field: value})
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT, response.text
    assert client.get(f"/items/{item['id']}").json() == item


def test_unknown_fields_are_rejected(client: TestClient, db: Connection) -> None:
    response = client.post("/items", json={**VALID, "colour": "blue"})
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT
    assert response.json()["detail"][0]["loc"] == ["body", "colour"]
    assert row_count(db) == 0


def test_an_id_is_not_accepted_in_the_body(client: TestClient) -> None:
    response = client.post("/items", json={**VALID, "id": 5})
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT


def test_missing_required_fields_are_named(client: TestClient) -> None:
    response = client.post("/items", json={})
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT
    assert {tuple(error["loc"]) for error in response.json()["detail"]} == {
        ("body", "name"),
        ("body", "price"),
    }


@pytest.mark.parametrize("body", ["{", "not json", '{"name": "mug", "price": 1,}', "[]", "null"])
def test_malformed_json_is_422(client: TestClient, db: Connection, body: str) -> None:
    response = client.post("/items", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT
    assert row_count(db) == 0


def test_oversized_body_is_413(client: TestClient, db: Connection) -> None:
    body = '{"name": "' + "x" * 100_000 + '", "price": 1}'
    response = client.post("/items", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status.HTTP_413_CONTENT_TOO_LARGE
    assert row_count(db) == 0


@pytest.mark.parametrize("item_id", ["0", "-1", str(2**63), "abc", "1.5"])
def test_ids_outside_the_column_range_are_422(client: TestClient, item_id: str) -> None:
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/items/{item_id}")
        assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT, (method, item_id)
    response = client.put(f"/items/{item_id}", json={"price": 1.0})
    assert response.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT


def test_largest_id_is_a_plain_404(client: TestClient) -> None:
    assert client.get(f"/items/{2**63 - 1}").status_code == status.HTTP_404_NOT_FOUND


@pytest.mark.parametrize("name", ["x" * 200, " padded ", "café ☕ 日本", "\U0001f600", "a\u200bb"])
def test_unusual_but_valid_names_round_trip_exactly(client: TestClient, name: str) -> None:
    response = client.post("/items", json={**VALID, "name": name})
    assert response.status_code == status.HTTP_201_CREATED, response.text
    assert client.get(response.headers["Location"]).json()["name"] == name


@pytest.mark.parametrize("price", [5e-324, 1.7976931348623157e308, 0.1 + 0.2, 1])
def test_extreme_but_valid_prices_round_trip_exactly(client: TestClient, price: float) -> None:
    response = client.post("/items", json={**VALID, "price": price})
    assert response.status_code == status.HTTP_201_CREATED, response.text
    assert client.get(response.headers["Location"]).json()["price"] == price


def test_the_database_refuses_what_the_api_refuses(db: Connection) -> None:
    """Rows written behind the API's back still obey its rules, so the API can always read them.

    PostgreSQL refuses each with a CHECK. MariaDB refuses the blank name, the zero price and the
    negative quantity with a CHECK too ("CONSTRAINT `ck_…` failed"), but NaN and Infinity never
    reach its CHECK: a DOUBLE cannot hold them, and strict mode refuses the conversion.
    """
    mariadb = db.dialect.name in MYSQL_FAMILY
    check = r"CONSTRAINT `ck_items_\w+` failed" if mariadb else "check constraint"
    not_a_double = r"Data truncated|Incorrect double value" if mariadb else check
    for statement, refusal in [
        ("INSERT INTO items (name, price) VALUES ('   ', 1)", check),
        ("INSERT INTO items (name, price) VALUES ('mug', 0)", check),
        ("INSERT INTO items (name, price) VALUES ('mug', 'NaN')", not_a_double),
        ("INSERT INTO items (name, price) VALUES ('mug', 'Infinity')", not_a_double),
        ("INSERT INTO items (name, price, quantity) VALUES ('mug', 1, -1)", check),
    ]:
        savepoint = db.begin_nested()
        with pytest.raises(Exception, match=refusal):
            db.execute(text(statement))
        savepoint.rollback()
