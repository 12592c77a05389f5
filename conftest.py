"""Session-wide PostgreSQL for every test, and the database migrated to head by Alembic.

The server comes from `TEST_DATABASE_URL`, else Docker through testcontainers, else the embedded
`pgserver` (see `tests/support/postgres.py`; `ITEMS_TEST_POSTGRES` demands one of them). With
`CI=true` a missing server fails the run: a suite that skips its database tests has tested
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings
from sqlalchemy import URL

from tests.support.ci import running_in_ci
from tests.support.migrations import upgrade
from tests.support.postgres import (
    NoPostgresAvailableError,
    PostgresServer,
    UnexpectedPostgresSourceError,
    start_postgres,
)
from tests.support.target import warn_if_off_target

# The gate's matrix of revisions × checks (tests/migrations/gate/report/plugin.py).
pytest_plugins = ("tests.migrations.gate.report.plugin",)


# Hypothesis profiles: `dev` is quick for local runs; `ci` (chosen under CI=true, or with
# HYPOTHESIS_PROFILE=ci) runs more examples, derandomized so a red build reproduces exactly.
# Every failure prints the minimal example and the `@reproduce_failure` blob.
settings.register_profile(
    "dev", max_examples=40, deadline=None, print_blob=True, suppress_health_check=()
)
settings.register_profile(
    "ci", max_examples=150, deadline=None, derandomize=True, database=None, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if running_in_ci() else "dev"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server this run creates its databases on.

    A server of another major version than production's target gets a `PostgresTargetWarning`
    (shown in the warnings summary; the run still passes).
    """
    try:
        with start_postgres() as server:
            with server.admin_connection() as connection:
                warn_if_off_target(connection, server.origin)
            yield server
    except UnexpectedPostgresSourceError as error:
        pytest.fail(str(error), pytrace=False)
    except NoPostgresAvailableError as error:
        message = f"no PostgreSQL for the tests: {error}"
        if running_in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def head_template(postgres_server: PostgresServer) -> Iterator[str]:
    """Name of a database migrated to head by Alembic (never `create_all`), built once a run.

    Tests copy it (`CREATE DATABASE … TEMPLATE`) or share it inside a rolled-back transaction.
    """
    with postgres_server.temporary_database("items_head") as url:
        upgrade(url, "head")
        assert url.database is not None
        yield url.database


@pytest.fixture(scope="session")
def head_database_url(postgres_server: PostgresServer, head_template: str) -> Iterator[URL]:
    """A database at head that API tests share, each inside its own rolled-back transaction."""
    with postgres_server.temporary_database("items_api", template=head_template) as url:
        yield url
