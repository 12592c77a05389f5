"""The database servers the gate can judge a history on: one package each.

`dialect_for(url)` picks the one for a URL. A new server is a package beside `postgresql/`
implementing `base.Dialect`, and one line in `_DIALECTS`.
"""

from __future__ import annotations

from sqlalchemy import URL

from tests.migrations.gate.dialects.base import Dialect
from tests.migrations.gate.dialects.mariadb import MariaDB
from tests.migrations.gate.dialects.postgresql import PostgreSQL

# Not "mysql": MySQL 8's information_schema differs (CHECK_CONSTRAINTS has no TABLE_NAME), and
# the project's MariaDB branch is MariaDB syntax (README, MariaDB); a mysql:// URL gets the
# clear error below rather than a dialect that half works.
_DIALECTS: dict[str, Dialect] = {"postgresql": PostgreSQL(), "mariadb": MariaDB()}
DIALECT_NAMES = frozenset(_DIALECTS)
"""The servers the gate knows, by SQLAlchemy backend name (per-server declarations name them)."""


def dialect_for(url: URL) -> Dialect:
    """The dialect of the server at `url`; a clear error for a server the gate does not know."""
    return dialect_named(url.get_backend_name())


def dialect_named(backend: str) -> Dialect:
    """The dialect for SQLAlchemy's backend name (`connection.dialect.name`)."""
    try:
        return _DIALECTS[backend]
    except KeyError:
        known = ", ".join(sorted(_DIALECTS))
        raise ValueError(
            f"the migration gate has no dialect for {backend!r} (it knows: {known}); "
            "add one under tests/migrations/gate/dialects/"
        ) from None
