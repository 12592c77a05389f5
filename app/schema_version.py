"""Refuse to serve a database that newer code migrated: name its revision and what to do.

After an image rollback the database's `alembic_version` names a revision this code's
`alembic/versions` does not have. `alembic upgrade head` would die with a traceback ending in
`CommandError: Can't locate revision …`, and a process manager would restart it forever. Before
any upgrade, the serve command reads the version table (and only reads it) and stops with one
message instead; nothing is upgraded, stamped or otherwise touched.
"""

from __future__ import annotations

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from app.settings import Settings, normalise_database_url

DATABASE_AHEAD_EXIT_STATUS = 3
"""`python -m app.serve`'s exit status for a database ahead of the code.

Distinct from 1 (any other failure), so a process manager can be told not to restart on it
(systemd: `RestartPreventExitStatus=3`): restarting the same code cannot help.
"""


class DatabaseAheadError(RuntimeError):
    """The database is at a revision this code does not have; the message says what to do."""


def database_revisions(settings: Settings) -> tuple[str, ...]:
    """The revisions `alembic_version` holds (none for a database never migrated), read where
    the serve command migrates (the migration URL)."""
    if settings.migration_url is None:
        raise ValueError("no DATABASE_URL to read the schema version from")
    engine = create_engine(
        normalise_database_url(settings.migration_url),
        poolclass=pool.NullPool,
        connect_args={"connect_timeout": settings.db_connect_timeout},
    )
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()


def refuse_a_database_ahead(config: Config, settings: Settings) -> None:
    """Raise `DatabaseAheadError` if the database names a revision this code does not know."""
    script = ScriptDirectory.from_config(config)
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [revision for revision in database_revisions(settings) if revision not in known]
    if unknown:
        raise DatabaseAheadError(ahead_message(unknown, script.get_current_head()))


def ahead_message(unknown: list[str], head: str | None) -> str:
    """What the operator reads: where the database is, that this code lacks it, what to do."""
    revisions = ", ".join(unknown)
    newest = head or "(none: this code has no revisions)"
    return (
        f"The database is at revision {revisions}, which this code does not have "
        f"(its newest revision is {newest}): newer code migrated it. Nothing was changed.\n"
        "To go on, either:\n"
        f"  - deploy the newer code, the one that has revision {revisions}; or\n"
        "  - to roll back to this code, first run the downgrade from the newer code "
        f"(in its checkout: .venv/bin/nox -s alembic -- downgrade {head or 'base'}), "
        "then start this code again."
    )
