"""The PostgreSQL major version production runs, declared once in `pyproject.toml`.

    [tool.items-service]
    postgresql-target = 15

squawk lints for it (`--pg-version`), testcontainers starts it, CI's server job runs it, and
a run on a server of another major version (the embedded `pgserver` is PostgreSQL 16) says so
with a `PostgresTargetWarning` in pytest's warnings summary: the verdicts stand, but some
behaviour the gate measures (what rewrites a table, which DDL is metadata-only) differs
between majors.

It lives in `pyproject.toml`, not in the app's `Settings`: settings come from each machine's
environment, and a target that could differ between a laptop and CI would let the same
history get two verdicts. The target is a fact about production that changes by commit.
"""

from __future__ import annotations

import functools
import tomllib
import warnings
from pathlib import Path

from sqlalchemy import Connection, text

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
TABLE = "tool.items-service"
KEY = "postgresql-target"


class PostgresTargetWarning(UserWarning):
    """The tests ran on a PostgreSQL major version other than production's target.

    `pyproject.toml`'s filterwarnings shows it (`default::…`) rather than failing the run.
    """


@functools.cache
def postgresql_target(pyproject: Path = PYPROJECT) -> int:
    """The major version under `[tool.items-service] postgresql-target`."""
    table = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    value = table.get("tool", {}).get("items-service", {}).get(KEY)
    if isinstance(value, bool) or not isinstance(value, int) or value < 10:
        raise ValueError(
            f"{pyproject}: [{TABLE}] {KEY} must be production's PostgreSQL major version, an "
            f"integer such as 15 (found {value!r})"
        )
    return value


def server_major_version(connection: Connection) -> int:
    """The major version of the server `connection` is on (160004 → 16)."""
    return int(connection.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def off_target_message(server_major: int, origin: str, target: int) -> str | None:
    """What to say when the tests run on `server_major` rather than `target` (None: same)."""
    if server_major == target:
        return None
    return (
        f"this run's PostgreSQL is {server_major} ({origin}), but production's target is "
        f"PostgreSQL {target} ([{TABLE}] {KEY} in pyproject.toml): squawk lints for "
        f"{target}, yet every check and test that runs SQL runs on {server_major}. Before "
        f"trusting the gate's verdict, run it on a PostgreSQL {target} server too "
        "(TEST_DATABASE_URL, or Docker for testcontainers); CI's server job does."
    )


def warn_if_off_target(connection: Connection, origin: str, target: int | None = None) -> None:
    """Issue a `PostgresTargetWarning` if `connection`'s server is not the `target` major
    (production's, from `pyproject.toml`, unless given)."""
    wanted = postgresql_target() if target is None else target
    message = off_target_message(server_major_version(connection), origin, wanted)
    if message is not None:
        warnings.warn(PostgresTargetWarning(message), stacklevel=2)
