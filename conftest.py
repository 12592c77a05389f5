"""Session-wide database server for every test, and the database migrated to head by Alembic.

PostgreSQL by default: from `TEST_DATABASE_URL`, else Docker through testcontainers, else the
embedded `pgserver` (see `tests/support/postgres.py`; `ITEMS_TEST_POSTGRES` demands one of
them). A `mariadb://` or `mysql://` `TEST_DATABASE_URL` runs the tests on that MariaDB
server instead; without a URL, `ITEMS_TEST_SERVER=mariadb` asks for testcontainers' MariaDB
container (`tests/support/mariadb.py`; `tests/support/servers.backend_under_test` decides).
With `CI=true` a missing server fails the run: a suite that skips its database tests has
tested nothing.

On MariaDB:
- a test marked `@pytest.mark.postgresql_only("why")` is skipped with its reason, and fails
  under `CI=true` (CI deselects those with `-m "not postgresql_only"`, explicitly);
- a test that asks for `postgres_server` without that mark fails, saying so;
- the gate's tests (tests/migrations) run where their check has a MariaDB dialect answer;
  the others are marked `postgresql_only` (issue 10: which checks run there, README).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import URL, text

from app.settings import Settings
from tests.support.ci import running_in_ci
from tests.support.mariadb import MariaDBServer, NoMariaDBAvailableError, start_mariadb
from tests.support.migrations import upgrade
from tests.support.postgres import (
    NoPostgresAvailableError,
    PostgresServer,
    UnexpectedPostgresSourceError,
    start_postgres,
)
from tests.support.servers import ConflictingServerError, DatabaseFactory
from tests.support.servers import backend_under_test as chosen_backend
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


TESTS = Path(__file__).resolve().parent / "tests"
GATE_TESTS = TESTS / "migrations"


def pytest_configure() -> None:
    """Refuse at once a run whose `ITEMS_TEST_SERVER` and `TEST_DATABASE_URL` disagree."""
    try:
        chosen_backend()
    except ConflictingServerError as error:
        raise pytest.UsageError(str(error)) from error


def backend_under_test() -> str:
    """`"mariadb"` or `"postgresql"`: `TEST_DATABASE_URL`'s kind, else `ITEMS_TEST_SERVER`'s,
    else PostgreSQL (`tests/support/servers.backend_under_test`)."""
    return chosen_backend()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A `postgresql_only` test on MariaDB: skipped with its reason, a failure under CI."""
    marker = item.get_closest_marker("postgresql_only")
    if marker is None or backend_under_test() != "mariadb":
        return
    reason = marker.args[0] if marker.args else "PostgreSQL-only"
    message = f"PostgreSQL only ({reason}), and this run's server is MariaDB"
    if running_in_ci():
        pytest.fail(
            f"{message}: under CI=true deselect it explicitly (-m 'not postgresql_only')",
            pytrace=False,
        )
    pytest.skip(message)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """The MariaDB server of a MariaDB run: `TEST_DATABASE_URL`'s, else testcontainers'.

    No Docker for `ITEMS_TEST_SERVER=mariadb` without a URL: a failure under `CI=true`, a skip
    with the reason elsewhere (as for a missing PostgreSQL). Never a fallback to PostgreSQL.
    """
    if backend_under_test() != "mariadb":
        pytest.fail(
            "this test needs MariaDB: a mariadb:// TEST_DATABASE_URL or ITEMS_TEST_SERVER=mariadb",
            pytrace=False,
        )
    url = Settings().test_database_url
    try:
        with start_mariadb(url) as server:
            yield server
    except NoMariaDBAvailableError as error:
        missing = f"no MariaDB for the tests: {error}"
    except Exception as error:  # an explicit URL is a promise: never fall back to another
        origin = "TEST_DATABASE_URL" if url else "testcontainers' container"
        pytest.fail(f"the MariaDB server at {origin} failed: {error}", pytrace=False)
    else:
        return
    if running_in_ci():  # outside the `except`: the message alone, no chained traceback
        pytest.fail(missing, pytrace=False)
    pytest.skip(missing)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server this run creates its databases on.

    A server of another major version than production's target gets a `PostgresTargetWarning`
    (shown in the warnings summary; the run still passes). On a MariaDB run a test that asks
    for it fails: it needs PostgreSQL and says nothing of it (mark it `postgresql_only`).
    """
    if backend_under_test() == "mariadb":
        pytest.fail(
            "this test needs PostgreSQL (the postgres_server fixture), but this run's server is "
            "MariaDB: port it, or mark it @pytest.mark.postgresql_only('why')",
            pytrace=False,
        )
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
def head_database_url(request: pytest.FixtureRequest) -> Iterator[URL]:
    """A database at head that API tests share, each inside its own rolled-back transaction.

    PostgreSQL: a copy of `head_template`. MariaDB (no templates): a new database, migrated.
    """
    if backend_under_test() == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        with mariadb.head_database("items_api") as url:
            yield url
        return
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("head_template")
    with postgres.temporary_database("items_api", template=template) as url:
        yield url


@pytest.fixture(scope="session")
def head_database_factory(request: pytest.FixtureRequest) -> DatabaseFactory:
    """Private databases at head for tests where the app commits for real (live servers).

    PostgreSQL: copies of `head_template`. MariaDB: new databases, each migrated by Alembic.
    """
    if backend_under_test() == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        return mariadb.head_database
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("head_template")
    return partial(postgres.temporary_database, template=template)


@pytest.fixture(scope="session")
def empty_database_factory(request: pytest.FixtureRequest) -> DatabaseFactory:
    """Private empty databases (no revision applied), on whichever server this run uses."""
    if backend_under_test() == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        return mariadb.temporary_database
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    return postgres.temporary_database


@pytest.fixture(scope="session")
def kill_app_connections(request: pytest.FixtureRequest) -> Callable[[URL], int]:
    """Kill every connection the service holds to a database; how many were killed.

    PostgreSQL: `pg_terminate_backend` of the sessions named `items-service`. MariaDB: `KILL`
    of every session using that database (its processlist does not show the program name).
    """
    if backend_under_test() == "mariadb":
        mariadb: MariaDBServer = request.getfixturevalue("mariadb_server")
        return lambda url: mariadb.kill_sessions(str(url.database))
    postgres: PostgresServer = request.getfixturevalue("postgres_server")

    def kill(url: URL) -> int:
        with postgres.admin_connection() as admin:
            return int(
                admin.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :database AND application_name = 'items-service'"
                    ),
                    {"database": url.database},
                ).scalar_one()
            )

    return kill
