"""The catalog snapshot of a database by URL, on a connection of its own (or the walk's)."""

from __future__ import annotations

from sqlalchemy import URL

from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.dialects.base import CatalogSnapshot
from tests.migrations.gate.engine.sessions import connect


def snapshot_of(url: URL) -> CatalogSnapshot:
    """The dialect's catalog snapshot of the database at `url`."""
    with connect(url) as connection:
        return dialect_for(url).snapshot(connection)
