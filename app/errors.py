"""Turns every failure into a clear 4xx or 503, in one place.

A 500 from this service is always a bug. Database trouble the client cannot fix but can wait out
(server down, pool exhausted, statement timed out) is a 503 with `Retry-After`; a row the
database refuses is a 422 naming the rule it broke.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.database import DatabaseNotConfiguredError

RETRY_AFTER_SECONDS = "1"


ECHO_MAX_DEPTH = 16
"""Containers nested deeper than this are echoed as "..." in a 422."""


def _json_safe(value: Any, depth: int = 0) -> Any:
    """Make an echoed input encodable: non-finite floats and lone surrogates become strings.

    FastAPI echoes the offending input in a 422; echoing `NaN` or an unpaired surrogate as-is
    would make the error response itself fail to encode, which is how a 422 turns into a 500.
    The depth is bounded for the same reason: a 1 KB body of 500 nested brackets parses fine
    but overflowed the stack of this (recursive) function, turning its 422 into a 500.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict | list | tuple):
        return _json_safe_container(value, depth + 1)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _json_safe(str(value))


def _json_safe_container(value: dict[Any, Any] | list[Any] | tuple[Any, ...], depth: int) -> Any:
    if depth > ECHO_MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item, depth) for key, item in value.items()}
    return [_json_safe(item, depth) for item in value]


def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = [
        {
            "type": item["type"],
            "loc": [_json_safe(part) for part in item["loc"]],
            "msg": item["msg"],
            "input": _json_safe(item.get("input")),
        }
        for item in error.errors()
    ]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": details}
    )


def _unavailable(detail: str) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={"detail": detail},
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def _pool_exhausted(_: Request, __: Exception) -> JSONResponse:
    return _unavailable("Every database connection is busy; retry shortly.")


def _database_unavailable(_: Request, __: Exception) -> JSONResponse:
    return _unavailable("The database is unavailable; retry shortly.")


def _database_refused(request: Request, error: Exception) -> JSONResponse:
    """Integrity and data errors are the client's (422); lost connections are a 503."""
    assert isinstance(error, DBAPIError)
    if isinstance(error, IntegrityError | DataError) and not error.connection_invalidated:
        diagnostic = getattr(error.orig, "diag", None)
        rule = getattr(diagnostic, "constraint_name", None) or type(error.orig).__name__
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": f"The database refused the item: it breaks the rule {rule!r}."},
        )
    if isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated:
        return _database_unavailable(request, error)
    raise error


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path, found by asking the router for each."""
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method, "path_params": {}}
        probe.pop("route", None)
        probe.pop("endpoint", None)
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _http_error(request: Request, error: Exception) -> Response:
    """FastAPI's own rendering, except that a 405 lists every method the path supports.

    Starlette answers 405 from the first route whose path matches, so `OPTIONS /items` said
    `Allow: POST` although `GET /items` exists too; RFC 9110 requires the full list.
    """
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        error.headers = {**(error.headers or {}), "Allow": _allowed_methods(request)}
    return await http_exception_handler(request, error)


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers above on `app`."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PoolTimeoutError, _pool_exhausted)
    app.add_exception_handler(DatabaseNotConfiguredError, _database_unavailable)
    app.add_exception_handler(DBAPIError, _database_refused)
