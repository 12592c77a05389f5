"""Every refusal and outage of this run's server becomes the same answer on PostgreSQL and MariaDB.

The errors are real (raised by the server and the driver of this run, not built by hand) and
handed to the app's handler: a row the database refuses is a 422 naming the rule, a server
that cannot be reached or a lock that cannot be had is a 503 with `Retry-After`. On MariaDB
this is the error-code table of `app.errors` (PyMySQL raises `OperationalError` for a CHECK
violation, 4025, which by class alone would read as an outage).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from app.errors import RETRY_AFTER_SECONDS, register_error_handlers
from app.main import create_app
from app.models import MYSQL_FAMILY


def answer(error: DBAPIError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """What the app answers for `error`: status, JSON body, headers."""
    app = create_app()
    register_error_handlers(app)
    handler = app.exception_handlers[DBAPIError]
    response = handler(Request({"type": "http", "app": app}), error)
    assert isinstance(response, JSONResponse)
    return response.status_code, json.loads(bytes(response.body)), dict(response.headers)


def raised(run: Callable[[], object]) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        run()
    return caught.value


@pytest.mark.parametrize(
    ("values", "rule"),
    [
        ("('mug', 0, 0)", "ck_items_price_positive_finite"),
        ("('mug', 1, -1)", "ck_items_quantity_non_negative"),
        ("(' ', 1, 0)", "ck_items_name_not_blank"),
    ],
)
def test_a_check_violation_is_a_422_naming_the_rule(db: Connection, values: str, rule: str) -> None:
    insert = f"INSERT INTO items (name, price, quantity) VALUES {values}"
    savepoint = db.begin_nested()
    error = raised(lambda: db.execute(text(insert)))
    savepoint.rollback()
    status_code, body, _ = answer(error)
    assert status_code == status.HTTP_422_UNPROCESSABLE_CONTENT
    assert repr(rule) in body["detail"]


@pytest.mark.parametrize(
    "values", ["(REPEAT('x', 201), 1, 0)", "('mug', 1, 2147483648)"], ids=["too-long", "range"]
)
def test_a_value_the_column_cannot_hold_is_a_422(db: Connection, values: str) -> None:
    repeat = values if db.dialect.name in MYSQL_FAMILY else values.replace("REPEAT", "repeat")
    if db.dialect.name in MYSQL_FAMILY:  # strict, as the app's sessions are
        db.execute(text("SET SESSION sql_mode = 'STRICT_ALL_TABLES'"))
    savepoint = db.begin_nested()
    insert = f"INSERT INTO items (name, price, quantity) VALUES {repeat}"
    error = raised(lambda: db.execute(text(insert)))
    savepoint.rollback()
    status_code, _, _ = answer(error)
    assert status_code == status.HTTP_422_UNPROCESSABLE_CONTENT


def test_an_unreachable_server_is_a_503(api_engine: Engine) -> None:
    nowhere = api_engine.url.set(host="127.0.0.1", port=1)
    engine = create_engine(nowhere, connect_args={"connect_timeout": 2})
    try:
        error = raised(engine.connect)
    finally:
        engine.dispose()
    status_code, _, headers = answer(error)
    assert status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert headers["retry-after"] == RETRY_AFTER_SECONDS


def test_a_lock_that_cannot_be_had_is_a_503(api_engine: Engine) -> None:
    """Another session holds the row; this one gives up after a second (1205 on MariaDB)."""
    mariadb = api_engine.dialect.name in MYSQL_FAMILY
    give_up = "SET SESSION innodb_lock_wait_timeout = 1" if mariadb else "SET lock_timeout = '1s'"
    with api_engine.connect() as holder, api_engine.connect() as waiter:
        with holder.begin():
            holder.execute(text("INSERT INTO items (name, price) VALUES ('held', 1)"))
            item_id = holder.execute(text("SELECT max(id) FROM items")).scalar_one()
        try:
            with holder.begin():
                holder.execute(
                    text("SELECT id FROM items WHERE id = :id FOR UPDATE"), {"id": item_id}
                )
                with waiter.begin():
                    waiter.execute(text(give_up))
                    update = text("UPDATE items SET price = 2 WHERE id = :id")
                    error = raised(lambda: waiter.execute(update, {"id": item_id}))
        finally:
            with holder.begin():
                holder.execute(text("DELETE FROM items WHERE id = :id"), {"id": item_id})
    status_code, _, headers = answer(error)
    assert status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert headers["retry-after"] == RETRY_AFTER_SECONDS
