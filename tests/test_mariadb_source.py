"""Which kind of server a run uses, and the MariaDB container path when Docker is absent.

`ITEMS_TEST_SERVER=mariadb` asks for MariaDB without a URL (testcontainers' `mariadb:10.11`).
PostgreSQL stays the default; a URL of one kind with `ITEMS_TEST_SERVER` naming the other is
refused; and with no Docker engine the request says so, failing the run under `CI=true`.
What runs here is real (settings read from the environment, a real Docker probe, a real pytest
subprocess); the container itself needs Docker, which this suite cannot assume.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.settings import Settings
from tests.support.mariadb import NoMariaDBAvailableError, start_mariadb
from tests.support.migrations import PROJECT_ROOT
from tests.support.servers import ConflictingServerError, backend_under_test

NO_DOCKER = "unix:///nonexistent/docker.sock"
PG_URL = "postgresql://postgres@127.0.0.1:1/postgres"
MARIADB_URL = "mariadb://root@127.0.0.1:1/"
NO_MARIADB = (
    "ITEMS_TEST_SERVER=mariadb asks for testcontainers' mariadb:10.11 container, but no Docker "
    f"engine answered at {NO_DOCKER}"
)


def settings_with(
    monkeypatch: pytest.MonkeyPatch, *, server: str | None, url: str | None
) -> Settings:
    """Settings read from exactly these two variables (no `.env`)."""
    for name, value in (("ITEMS_TEST_SERVER", server), ("TEST_DATABASE_URL", url)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


@pytest.mark.parametrize(
    ("server", "url", "backend"),
    [
        (None, None, "postgresql"),  # the default stays PostgreSQL
        ("", None, "postgresql"),
        ("postgresql", None, "postgresql"),
        ("mariadb", None, "mariadb"),
        (" MariaDB ", None, "mariadb"),
        (None, MARIADB_URL, "mariadb"),  # the URL's scheme decides when there is one
        (None, "mysql://root@127.0.0.1:1/", "mariadb"),
        (None, PG_URL, "postgresql"),
        ("mariadb", MARIADB_URL, "mariadb"),
        ("postgresql", PG_URL, "postgresql"),
    ],
)
def test_the_backend_is_the_urls_else_the_requested_else_postgresql(
    monkeypatch: pytest.MonkeyPatch, server: str | None, url: str | None, backend: str
) -> None:
    assert backend_under_test(settings_with(monkeypatch, server=server, url=url)) == backend


@pytest.mark.parametrize(
    ("server", "url", "named"),
    [("mariadb", PG_URL, "postgresql"), ("postgresql", MARIADB_URL, "mariadb")],
)
def test_a_url_of_the_other_kind_is_refused(
    monkeypatch: pytest.MonkeyPatch, server: str, url: str, named: str
) -> None:
    settings = settings_with(monkeypatch, server=server, url=url)
    with pytest.raises(ConflictingServerError) as raised:
        backend_under_test(settings)
    assert str(raised.value) == (
        f"ITEMS_TEST_SERVER={server} asks for {server}, but TEST_DATABASE_URL names a {named} "
        "server: unset one of them, or make them agree"
    )


def test_an_unknown_server_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="ITEMS_TEST_SERVER"):
        settings_with(monkeypatch, server="oracle", url=None)


def test_without_docker_mariadb_without_a_url_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    monkeypatch.delenv("ITEMS_TEST_SKIP_DOCKER", raising=False)
    with pytest.raises(NoMariaDBAvailableError) as raised, start_mariadb(None):
        pytest.fail("no server may start")
    assert str(raised.value) == (
        f"{NO_MARIADB}: start Docker (or point DOCKER_HOST at one), or set "
        "TEST_DATABASE_URL=mariadb://user@host:3306/ to use an existing server"
    )


def run_pytest_on_mariadb_without_docker(*, ci: bool) -> subprocess.CompletedProcess[str]:
    """One API test in a separate pytest run, asking for MariaDB with no URL and no Docker."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"TEST_DATABASE_URL", "ITEMS_TEST_SKIP_DOCKER", "CI", "PYTEST_ADDOPTS"}
        and not key.startswith("PYTEST_XDIST")
    }
    environment |= {"ITEMS_TEST_SERVER": "mariadb", "DOCKER_HOST": NO_DOCKER}
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    if ci:
        environment["CI"] = "true"
    test = "tests/api/test_items_crud.py::test_create_defaults_quantity_to_zero"
    return subprocess.run(
        [sys.executable, "-m", "pytest", test, "-p", "no:xdist", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("ci", [True, False], ids=["ci", "local"])
def test_a_mariadb_run_without_docker_fails_under_ci_and_skips_elsewhere(ci: bool) -> None:
    result = run_pytest_on_mariadb_without_docker(ci=ci)
    output = result.stdout + result.stderr
    assert f"no MariaDB for the tests: {NO_MARIADB}" in output, output[-4000:]
    if ci:
        assert result.returncode == 1, output[-4000:]
        assert "1 error" in output, output[-4000:]
    else:
        assert result.returncode == 0, output[-4000:]
        assert "1 skipped" in output, output[-4000:]


def test_a_run_whose_server_and_url_disagree_stops_before_any_test() -> None:
    environment = {**os.environ, "ITEMS_TEST_SERVER": "mariadb", "TEST_DATABASE_URL": PG_URL}
    environment.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_mariadb_source.py",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "-q",
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "ITEMS_TEST_SERVER=mariadb asks for mariadb, but TEST_DATABASE_URL" in result.stderr
