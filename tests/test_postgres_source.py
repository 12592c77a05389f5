"""`ITEMS_TEST_POSTGRES` makes a run fail, before any server starts, when the resolution order
would pick another source than the one it demands (CI's jobs each prove one path)."""

from __future__ import annotations

import pytest

from tests.support.postgres import UnexpectedPostgresSourceError, start_postgres

NO_DOCKER = "unix:///nonexistent/docker.sock"


def demand(monkeypatch: pytest.MonkeyPatch, source: str, url: str | None) -> None:
    monkeypatch.setenv("ITEMS_TEST_POSTGRES", source)
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    monkeypatch.delenv("ITEMS_TEST_SKIP_DOCKER", raising=False)
    if url is None:
        monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("TEST_DATABASE_URL", url)


@pytest.mark.parametrize(
    ("source", "url", "message"),
    [
        (
            "embedded",
            "postgresql://postgres@127.0.0.1:1/postgres",
            "ITEMS_TEST_POSTGRES=embedded demands the embedded pgserver, but this run would use "
            "the server at TEST_DATABASE_URL (TEST_DATABASE_URL is set)",
        ),
        (
            "testcontainers",
            None,
            "ITEMS_TEST_POSTGRES=testcontainers demands a Docker engine through testcontainers, "
            "but this run would use the embedded pgserver (TEST_DATABASE_URL is not set and no "
            f"Docker engine answered at {NO_DOCKER})",
        ),
        (
            "server",
            None,
            "ITEMS_TEST_POSTGRES=server demands the server at TEST_DATABASE_URL, but this run "
            "would use the embedded pgserver",
        ),
    ],
)
def test_a_run_on_another_source_fails_before_starting_a_server(
    monkeypatch: pytest.MonkeyPatch, source: str, url: str | None, message: str
) -> None:
    demand(monkeypatch, source, url)
    with pytest.raises(UnexpectedPostgresSourceError) as raised, start_postgres():
        pytest.fail("no server may start")
    assert str(raised.value).startswith(message)


def test_an_unknown_source_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    demand(monkeypatch, "docker", None)
    with (
        pytest.raises(UnexpectedPostgresSourceError, match=r"'docker' is none of server, "),
        start_postgres(),
    ):
        pytest.fail("no server may start")
