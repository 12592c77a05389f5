"""The OpenAPI document states the truth: every status a route can answer, and every bound."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, status
from fastapi.testclient import TestClient

EXPECTED_STATUSES = {
    ("/items", "post"): {"201", "400", "413", "422", "503"},
    ("/items", "get"): {"200", "422", "503"},
    ("/items/{item_id}", "get"): {"200", "404", "422", "503"},
    ("/items/{item_id}", "put"): {"200", "400", "404", "413", "422", "503"},
    ("/items/{item_id}", "delete"): {"204", "404", "422", "503"},
}


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


@pytest.mark.parametrize(("path", "method"), sorted(EXPECTED_STATUSES))
def test_every_status_the_route_answers_is_documented(
    document: dict[str, Any], path: str, method: str
) -> None:
    responses = document["paths"][path][method]["responses"]
    assert set(responses) == EXPECTED_STATUSES[(path, method)]
    assert "Retry-After" in responses["503"]["headers"]


def test_list_documents_its_bounds_and_total_header(document: dict[str, Any]) -> None:
    operation = document["paths"]["/items"]["get"]
    parameters = {parameter["name"]: parameter["schema"] for parameter in operation["parameters"]}
    assert parameters["limit"] | {"default": 15} == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 15,
        "title": "Limit",
        "description": "Page size.",
    }
    assert parameters["skip"]["minimum"] == 0
    assert "X-Total-Count" in operation["responses"]["200"]["headers"]


def test_bodies_document_their_bounds(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    create = schemas["ItemCreate"]
    assert create["additionalProperties"] is False
    assert create["required"] == ["name", "price"]
    assert create["properties"]["price"]["exclusiveMinimum"] == 0
    assert create["properties"]["quantity"]["maximum"] == 2**31 - 1
    update = schemas["ItemUpdate"]
    assert "required" not in update
    assert all("anyOf" not in field for field in update["properties"].values()), (
        "PUT fields must not be documented as nullable: an explicit null is a 422"
    )


def test_docs_and_schema_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == status.HTTP_200_OK
    assert client.get("/openapi.json").json()["info"]["title"] == "Items service"
