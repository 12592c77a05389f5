"""Turns every failure into a clear 4xx or 503, in one place.

A 500 from this service is always a bug. Database trouble the client cannot fix but can wait out
(server down, pool exhausted, statement timed out) is a 503 with `Retry-After`; a row the
database refuses is a 422 naming the rule it broke.
"""

from __future__ import annotations

import math
import re
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


MYSQL_REFUSED_ROW = {
    1048: "not null",  # ER_BAD_NULL_ERROR
    1062: "unique",  # ER_DUP_ENTRY
    1264: "out of range",  # ER_WARN_DATA_OUT_OF_RANGE
    1366: "incorrect value",  # ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    1406: "data too long",  # ER_DATA_TOO_LONG
    1452: "foreign key",  # ER_NO_REFERENCED_ROW_2
    3819: "check",  # MySQL 8's ER_CHECK_CONSTRAINT_VIOLATED
    4025: "check",  # MariaDB's ER_CONSTRAINT_FAILED
}
"""MariaDB/MySQL server error codes for a row the database refuses: the client's error, a 422.

By code, not by exception class: PyMySQL raises `OperationalError` (which would read as "server
unavailable") for a CHECK violation, 4025, and `DataError` or `IntegrityError` for the others.
"""

MYSQL_UNAVAILABLE = {
    1040,  # ER_CON_COUNT_ERROR: too many connections
    1053,  # ER_SERVER_SHUTDOWN
    1205,  # ER_LOCK_WAIT_TIMEOUT
    1213,  # ER_LOCK_DEADLOCK
    1927,  # ER_CONNECTION_KILLED (MariaDB)
    1969,  # ER_STATEMENT_TIMEOUT: max_statement_time exceeded (MariaDB)
    2002,  # CR_CONNECTION_ERROR (socket)
    2003,  # CR_CONN_HOST_ERROR: connection refused
    2006,  # CR_SERVER_GONE_ERROR
    2013,  # CR_SERVER_LOST
    3024,  # ER_QUERY_TIMEOUT: max_execution_time exceeded (MySQL 8)
}
"""MariaDB/MySQL error codes the client can wait out: the same 503 + `Retry-After` as a down
PostgreSQL. PyMySQL reports its own socket failures with the client codes 2003/2013 too."""

MYSQL_CONSTRAINT_NAME = re.compile(r"CONSTRAINT [`\"']?(?P<name>[^`\"' ]+)[`\"']? failed")
"""MariaDB's 4025 message: "CONSTRAINT `ck_items_name_not_blank` failed for `db`.`items`"."""


MYSQL_DRIVER_MODULES = ("pymysql", "mysql.connector", "MySQLdb")
"""Drivers whose errors carry the server's error number as `args[0]`."""


def _mysql_error_code(error: DBAPIError) -> int | None:
    """The server's error number of a MariaDB/MySQL error (PyMySQL: `args[0]`), else None."""
    if not type(error.orig).__module__.startswith(MYSQL_DRIVER_MODULES):
        return None
    arguments: tuple[Any, ...] = getattr(error.orig, "args", ())
    if arguments and isinstance(arguments[0], int):
        return arguments[0]
    return None


def _refused(rule: str) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": f"The database refused the item: it breaks the rule {rule!r}."},
    )


def _mysql_rule(code: int, error: DBAPIError) -> str:
    """The CHECK's name for a 4025/3819, else the kind of rule the code stands for."""
    arguments: tuple[Any, ...] = getattr(error.orig, "args", ())
    message = str(arguments[1]) if len(arguments) > 1 else ""
    match = MYSQL_CONSTRAINT_NAME.search(message)
    return match.group("name") if match else MYSQL_REFUSED_ROW[code]


def _database_refused(request: Request, error: Exception) -> JSONResponse:
    """Integrity and data errors are the client's (422); lost connections are a 503.

    MariaDB's errors are told apart by server error code first (`MYSQL_REFUSED_ROW`,
    `MYSQL_UNAVAILABLE`), since its driver's exception classes do not follow the same lines.
    """
    assert isinstance(error, DBAPIError)
    code = _mysql_error_code(error)
    if code in MYSQL_REFUSED_ROW and not error.connection_invalidated:
        return _refused(_mysql_rule(code, error))
    if code in MYSQL_UNAVAILABLE:
        return _database_unavailable(request, error)
    if isinstance(error, IntegrityError | DataError) and not error.connection_invalidated:
        diagnostic = getattr(error.orig, "diag", None)
        rule = getattr(diagnostic, "constraint_name", None) or type(error.orig).__name__
        return _refused(rule)
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
