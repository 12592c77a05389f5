"""Contract fuzzing: schemathesis generates requests from the app's own OpenAPI schema.

Every operation, schemathesis' default checks (no 5xx, bodies and headers conform to the
schema, status codes and content types documented, schema-valid input accepted, invalid input
refused, `Allow` on 405...), each generated case in its own rolled-back transaction. The schema
is the one the app serves, so when a check fails either the app or its documentation is wrong.

Loaded with `from_dict(create_app().openapi())` at import rather than through a fixture:
`schemathesis.pytest.from_fixture` breaks on pytest 9 (it reads a removed private attribute).
The calls go to the session's `app` fixture (`call_and_validate(app=app)`), whose
`dependency_overrides` `rolled_back` sets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import schemathesis
from fastapi import FastAPI, status
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from tests.support.api import rolled_back

schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.parametrize()
def test_every_operation_keeps_its_contract(case: Any, api_engine: Engine, app: FastAPI) -> None:
    with rolled_back(api_engine, app):
        case.call_and_validate(app=app)


def test_both_kinds_of_413_match_the_schema(
    client: TestClient, api_engine: Engine, app: FastAPI
) -> None:
    """Schemathesis never sends 16 KB, so the two 413s (plain text, JSON) are checked by hand."""
    body = json.dumps({"name": "x" * 20_000, "price": 1.0}).encode()
    headers = {"Content-Type": "application/json"}
    operation = schema["/items"]["POST"]
    with rolled_back(api_engine, app):
        announced = client.post("/items", content=body, headers=headers)

        def chunks() -> Iterator[bytes]:
            yield from (body[start : start + 1024] for start in range(0, len(body), 1024))

        streamed = client.post("/items", content=chunks(), headers=headers)
    assert announced.status_code == streamed.status_code == status.HTTP_413_CONTENT_TOO_LARGE
    assert {announced.headers["content-type"], streamed.headers["content-type"]} == {
        "text/plain; charset=utf-8",
        "application/json",
    }
    operation.validate_response(announced)
    operation.validate_response(streamed)
