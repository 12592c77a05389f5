"""Running a migration while another session gets in its way, and reading where it ended.

- `upgrade_with`: `alembic upgrade` with `-x` options (`lock_timeout=20ms`), timed, its error
  returned rather than raised;
- `current_version`, `user_tables`: the dialect's answers, on a connection of their own.

The session that gets in the way is the dialect's (`Dialect.hold_locks`): which lock stands
for "a reader" and which error means "gave up on a lock" belong to the server.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from sqlalchemy import URL

from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.sessions import connect


@dataclass(frozen=True)
class TimedUpgrade:
    """How an upgrade ended: the error (None if it succeeded) and how long it took."""

    error: BaseException | None
    elapsed: float


def upgrade_with(history: History, url: URL, revision: str, **x: str) -> TimedUpgrade:
    """`alembic -x key=value … upgrade <revision>`, timed, its error caught and returned."""
    config = history.config(url)
    config.cmd_opts = argparse.Namespace(x=[f"{key}={value}" for key, value in x.items()])
    started = time.monotonic()
    try:
        history.run_on(url, config, "upgrade", revision)
    except Exception as error:
        return TimedUpgrade(error=error, elapsed=time.monotonic() - started)
    return TimedUpgrade(error=None, elapsed=time.monotonic() - started)


def current_version(url: URL) -> str | None:
    """The revision the version table holds (None if the table is missing or empty)."""
    with connect(url) as connection:
        return dialect_for(url).current_revision(connection)


def user_tables(url: URL) -> list[str]:
    """The tables of the schema, except Alembic's version table."""
    with connect(url) as connection:
        return dialect_for(url).user_tables(connection)
