"""The SQL behind each route, written with SQLAlchemy Core on the route's connection.

Core rather than ORM entities: every route is one statement whose `RETURNING` hands back the row
as it was committed (except an update on MariaDB, see `update_item`), with no identity map to
keep in sync and a third of the per-request cost.
Each function takes the `Connection` of the route's `with begin()` block, so the statement runs
inside that block's transaction (in tests, a savepoint the test rolls back) and no ORM `Session`
is built for a single statement.

Statements are built once, at import, with bound parameters: SQLAlchemy then reuses their cache
key and compiled form on every request instead of rebuilding and re-hashing a new statement.
Measured with `python -m bench`, see RESULTS.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, func, insert, select, true, update

from app.models import items_table

_ITEM_COLUMNS = tuple(items_table.c)
_INSERT = insert(items_table).returning(*_ITEM_COLUMNS)
_GET = select(*_ITEM_COLUMNS).where(items_table.c.id == bindparam("item_id"))
_DELETE = (
    delete(items_table).where(items_table.c.id == bindparam("item_id")).returning(items_table.c.id)
)


def _list_statement() -> Any:
    """Count and page in one statement, hence one snapshot (see `list_items`)."""
    totals = select(func.count().label("total")).select_from(items_table).subquery("totals")
    page = (
        select(*_ITEM_COLUMNS)
        .order_by(items_table.c.id)
        .offset(bindparam("skip"))
        .limit(bindparam("limit"))
        .subquery("p")
    )
    return (
        select(totals.c.total, *page.c)
        .select_from(totals.outerjoin(page, true()))
        .order_by(page.c.id)
    )


_LIST = _list_statement()


def create_item(connection: Connection, values: Mapping[str, Any]) -> RowMapping:
    """Insert one item and return it as stored."""
    return connection.execute(_INSERT, dict(values)).mappings().one()


def get_item(connection: Connection, item_id: int) -> RowMapping | None:
    """The item with this id, or None."""
    result = connection.execute(_GET, {"item_id": item_id})
    return result.mappings().one_or_none()


def list_items(
    connection: Connection, *, skip: int, limit: int
) -> tuple[int, Sequence[RowMapping]]:
    """One page of items in id order, and the total number of items.

    The count and the page come from one statement, hence one snapshot: under concurrent writes
    `X-Total-Count` always matches the rows it is sent with. The outer join keeps the total when
    the page is empty (`skip` past the end).
    """
    result = connection.execute(_LIST, {"skip": skip, "limit": limit})
    rows = result.mappings().all()
    total = int(rows[0]["total"]) if rows else 0
    items = [row for row in rows if row["id"] is not None]
    return total, items


def update_item(
    connection: Connection, item_id: int, changes: Mapping[str, Any]
) -> RowMapping | None:
    """Apply `changes` to one item and return it as stored, or None when it does not exist.

    PostgreSQL: one `UPDATE … RETURNING`. MariaDB and MySQL have no `UPDATE … RETURNING`, so it
    is the UPDATE, then a SELECT of the row; the caller must run this inside one real
    transaction (the route takes `get_transaction`), where the UPDATE's row lock keeps anyone
    from changing or deleting the row before the SELECT reads it back. `rowcount` counts the
    rows the WHERE matched, changed or not (SQLAlchemy's MySQL dialects connect with
    `CLIENT.FOUND_ROWS`), so an update to the same values is not taken for a missing row.
    """
    if not changes:
        return get_item(connection, item_id)
    statement = update(items_table).where(items_table.c.id == item_id).values(dict(changes))
    if connection.dialect.update_returning:
        return connection.execute(statement.returning(*_ITEM_COLUMNS)).mappings().one_or_none()
    if connection.execute(statement).rowcount == 0:
        return None
    return get_item(connection, item_id)


def delete_item(connection: Connection, item_id: int) -> bool:
    """Delete one item; False when there was nothing to delete."""
    return connection.execute(_DELETE, {"item_id": item_id}).first() is not None
