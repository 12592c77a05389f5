"""Find a PostgreSQL server the suite may create and drop databases on, and manage those.

Resolution order, first that works wins:
1. `TEST_DATABASE_URL` (read through `app.settings.Settings`, so from the environment or
   `.env`): an existing server (any database on it; the suite creates its own);
2. a Docker engine, through testcontainers (`postgres:<target>-alpine`, production's major
   version from `pyproject.toml`, see `tests/support/target.py`);
3. the embedded PostgreSQL of the `pgserver` wheel, in a temporary directory.

`ITEMS_TEST_POSTGRES` (`server`, `testcontainers` or `embedded`) demands one source: if the
resolution order would pick another, the run fails instead of quietly testing somewhere else.
CI sets it so that each job proves the path it is named for.

Plain functions and a context manager, no fixtures: the fixtures in `conftest.py` decide how
long each thing lives.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, Connection, create_engine, pool, text

from app.settings import Settings, normalise_database_url
from tests.support.target import postgresql_target

TESTCONTAINERS_IMAGE = f"postgres:{postgresql_target()}-alpine"


# `ITEMS_TEST_POSTGRES` values, and what each one means.
SOURCES = {
    "server": "the server at TEST_DATABASE_URL",
    "testcontainers": "a Docker engine through testcontainers",
    "embedded": "the embedded pgserver",
}


class NoPostgresAvailableError(RuntimeError):
    """None of the three sources produced a server; the message says what each one said."""


class UnexpectedPostgresSourceError(RuntimeError):
    """`ITEMS_TEST_POSTGRES` demands a source other than the one the resolution order picks."""


@dataclass(frozen=True)
class PostgresServer:
    """A server, reached through `admin_url`, on which databases may be created and dropped."""

    admin_url: URL
    origin: str

    @property
    def supports_templates(self) -> bool:
        """Yes: `CREATE DATABASE … TEMPLATE` copies a database in milliseconds."""
        return True

    def url_for(self, database: str) -> URL:
        """The URL of `database` on this server."""
        return self.admin_url.set(database=database)

    @contextmanager
    def admin_connection(self) -> Iterator[Connection]:
        """An autocommit connection to the maintenance database (CREATE DATABASE needs it)."""
        engine = create_engine(self.admin_url, poolclass=pool.NullPool)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                yield connection
        finally:
            engine.dispose()

    def create_database(self, name: str, *, template: str = "template0") -> URL:
        """Create `name` as a copy of `template` (an empty UTF-8 database by default)."""
        with self.admin_connection() as connection:
            quote = connection.dialect.identifier_preparer.quote
            # FILE_COPY clones a small template in milliseconds; WAL_LOG copies page by page.
            version = connection.dialect.server_version_info or (0,)
            strategy = " STRATEGY FILE_COPY" if version >= (15,) else ""
            connection.execute(
                text(
                    f"CREATE DATABASE {quote(name)} TEMPLATE {quote(template)} "
                    f"ENCODING 'UTF8'{strategy}"
                )
            )
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop `name`, disconnecting whoever still uses it."""
        with self.admin_connection() as connection:
            quote = connection.dialect.identifier_preparer.quote
            connection.execute(text(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)"))

    @contextmanager
    def temporary_database(self, prefix: str, *, template: str = "template0") -> Iterator[URL]:
        """A database that exists for the duration of the `with` block."""
        name = unique_database_name(prefix)
        url = self.create_database(name, template=template)
        try:
            yield url
        finally:
            self.drop_database(name)


def unique_database_name(prefix: str) -> str:
    """A name no other test, worker or concurrent run will pick."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


def _check_reachable(url: URL) -> None:
    engine = create_engine(url, poolclass=pool.NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


@contextmanager
def _from_environment(url: str) -> Iterator[PostgresServer]:
    admin_url = normalise_database_url(url)
    _check_reachable(admin_url)
    yield PostgresServer(admin_url=admin_url, origin="TEST_DATABASE_URL")


def docker_available() -> bool:
    """Whether a Docker engine answers `/_ping` (the `docker` client alone is not enough).

    Asked by hand rather than through docker-py, whose failed probes leak sockets.
    """
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(3)
                connection.connect(host.removeprefix("unix://"))
                connection.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return connection.recv(64).split(b" ")[1:2] == [b"200"]
        if host.startswith("tcp://"):
            address, _, port = host.removeprefix("tcp://").partition(":")
            probe = http.client.HTTPConnection(address, int(port or 2375), timeout=3)
            try:
                probe.request("GET", "/_ping")
                return probe.getresponse().status == 200
            finally:
                probe.close()
    except OSError:
        return False
    return False


@contextmanager
def _from_testcontainers() -> Iterator[PostgresServer]:
    from testcontainers.postgres import PostgresContainer  # noqa: PLC0415

    with PostgresContainer(TESTCONTAINERS_IMAGE, driver="psycopg2") as container:
        yield PostgresServer(
            admin_url=normalise_database_url(container.get_connection_url()),
            origin=f"testcontainers ({TESTCONTAINERS_IMAGE})",
        )


@contextmanager
def _from_pgserver() -> Iterator[PostgresServer]:
    from pgserver.postgres_server import get_server  # noqa: PLC0415

    data_dir = Path(tempfile.mkdtemp(prefix="items-test-pg-"))
    server = get_server(data_dir, cleanup_mode="delete")
    try:
        admin_url = normalise_database_url(server.get_uri())
        yield PostgresServer(admin_url=admin_url, origin=f"embedded pgserver ({data_dir})")
    finally:
        server.cleanup()
        with suppress(FileNotFoundError):
            shutil.rmtree(data_dir)


def expected_source() -> str | None:
    """The source `ITEMS_TEST_POSTGRES` demands, if any."""
    value = os.environ.get("ITEMS_TEST_POSTGRES", "").strip()
    if value and value not in SOURCES:
        raise UnexpectedPostgresSourceError(
            f"ITEMS_TEST_POSTGRES={value!r} is none of {', '.join(SOURCES)}"
        )
    return value or None


def _insist_on(chosen: str, reason: str) -> None:
    expected = expected_source()
    if expected is not None and chosen != expected:
        raise UnexpectedPostgresSourceError(
            f"ITEMS_TEST_POSTGRES={expected} demands {SOURCES[expected]}, but this run would use "
            f"{SOURCES[chosen]} ({reason})"
        )


@contextmanager
def start_postgres() -> Iterator[PostgresServer]:
    """Yield the first server the resolution order produces; raise if none does, or if it is
    not the one `ITEMS_TEST_POSTGRES` demands."""
    reasons: list[str] = []
    url = Settings().test_database_url
    if url:
        _insist_on("server", "TEST_DATABASE_URL is set")
        # An explicit URL is a promise: if it is wrong, say so rather than silently falling back.
        with _from_environment(url) as server:
            yield server
        return
    reasons.append("TEST_DATABASE_URL is not set")
    if os.environ.get("ITEMS_TEST_SKIP_DOCKER") != "1" and docker_available():
        _insist_on("testcontainers", "TEST_DATABASE_URL is not set and a Docker engine answered")
        with _from_testcontainers() as server:
            yield server
        return
    reasons.append("no Docker engine answered")
    docker_host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    docker = f"no Docker engine answered at {docker_host}"
    if os.environ.get("ITEMS_TEST_SKIP_DOCKER") == "1":
        docker = "ITEMS_TEST_SKIP_DOCKER=1"
    _insist_on("embedded", f"TEST_DATABASE_URL is not set and {docker}")
    with ExitStack() as stack:
        try:
            server = stack.enter_context(_from_pgserver())
        except Exception as error:
            reasons.append(f"the embedded pgserver failed to start: {error!r}")
            raise NoPostgresAvailableError("; ".join(reasons)) from error
        yield server
