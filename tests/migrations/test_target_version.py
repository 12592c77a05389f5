"""One PostgreSQL target: declared in `pyproject.toml`, used by squawk, testcontainers and CI,
and a run on another major version says so without failing."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from tests.migrations.gate.dialects.postgresql import squawk
from tests.support import postgres
from tests.support.migrations import PROJECT_ROOT
from tests.support.postgres import PostgresServer
from tests.support.target import (
    PostgresTargetWarning,
    off_target_message,
    postgresql_target,
    server_major_version,
    warn_if_off_target,
)

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"


def test_the_target_is_the_one_declared_in_the_toml() -> None:
    declared = re.search(
        r"^\[tool\.items-service\]\n(?:#.*\n)*postgresql-target = (\d+)$",
        (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert declared is not None
    assert postgresql_target() == int(declared.group(1))


@pytest.mark.parametrize("value", ['"15"', "9", "true", None])
def test_a_missing_or_malformed_target_is_refused(tmp_path: Path, value: str | None) -> None:
    pyproject = tmp_path / "pyproject.toml"
    line = "" if value is None else f"postgresql-target = {value}\n"
    pyproject.write_text(f"[tool.items-service]\n{line}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"postgresql-target must be production's PostgreSQL"):
        postgresql_target(pyproject)


def test_squawk_and_testcontainers_use_the_target() -> None:
    assert str(postgresql_target()) == squawk.PG_VERSION
    assert f"postgres:{postgresql_target()}-alpine" == postgres.TESTCONTAINERS_IMAGE


def test_the_ci_server_job_runs_the_target() -> None:
    if not WORKFLOW.is_file():
        pytest.skip(f"{WORKFLOW} is not part of this copy of the project")
    images = re.findall(r"^\s*image:\s*postgres:(\d+)\S*\s*$", WORKFLOW.read_text(), re.MULTILINE)
    assert images, f"{WORKFLOW} has no postgres service"
    assert set(images) == {str(postgresql_target())}


def test_the_message_names_both_versions_and_only_when_they_differ() -> None:
    assert off_target_message(15, "TEST_DATABASE_URL", 15) is None
    message = off_target_message(16, "embedded pgserver (/tmp/x)", 15)
    assert message is not None
    assert message.startswith(
        "this run's PostgreSQL is 16 (embedded pgserver (/tmp/x)), but production's target "
        "is PostgreSQL 15 ([tool.items-service] postgresql-target in pyproject.toml)"
    )
    assert "run it on a PostgreSQL 15 server too" in message


@pytest.mark.postgresql_only("production's target is a PostgreSQL version")
def test_the_real_server_is_compared_with_the_target(postgres_server: PostgresServer) -> None:
    with postgres_server.admin_connection() as connection:
        major = server_major_version(connection)
        version = connection.dialect.server_version_info
        assert version is not None
        assert major == version[0]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warn_if_off_target(connection, postgres_server.origin, target=major)
        with pytest.warns(PostgresTargetWarning, match=f"this run's PostgreSQL is {major} "):
            warn_if_off_target(connection, postgres_server.origin, target=major + 1)


def test_the_warning_is_shown_and_does_not_fail_the_run() -> None:
    # pytest applied pyproject's filterwarnings ("error", then "default" for this category)
    # around this test; recording keeps the filters, so an error would raise here.
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn(PostgresTargetWarning("off target"), stacklevel=1)
    assert [type(warning.message) for warning in caught] == [PostgresTargetWarning]
    with warnings.catch_warnings(record=True), pytest.raises(UserWarning):
        warnings.warn(UserWarning("any other warning still fails"), stacklevel=1)
