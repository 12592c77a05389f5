"""`History`: one Alembic revision tree, the project's or a fixture's, and how to run it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from sqlalchemy import URL

from tests.support.migrations import PROJECT_ROOT, alembic_config

PROJECT_VERSIONS = PROJECT_ROOT / "alembic" / "versions"
FIXTURE_HISTORIES = PROJECT_ROOT / "tests" / "migrations" / "fixtures"


@dataclass(frozen=True)
class History:
    """A versions folder run through the project's own `env.py`.

    Fixture histories reuse `alembic/env.py` (timeouts, advisory lock, per-revision
    transactions) with only `version_locations` swapped, so a check exercised on a fixture is
    exercised under exactly the conditions the real revisions meet.
    """

    versions: Path = PROJECT_VERSIONS

    @property
    def name(self) -> str:
        """How failures and test ids refer to this history."""
        if self.versions == PROJECT_VERSIONS:
            return "alembic/versions"
        if self.versions.is_relative_to(PROJECT_ROOT):
            return self.versions.relative_to(PROJECT_ROOT).as_posix()
        return str(self.versions)

    def config(self, url: URL | str | None = None) -> Config:
        """An Alembic config that runs this history against `url`."""
        config = alembic_config(url)
        config.set_main_option("version_locations", str(self.versions))
        return config

    def script(self) -> ScriptDirectory:
        """The revision graph."""
        return ScriptDirectory.from_config(self.config())

    def revisions(self) -> list[Script]:
        """Every revision from base to head, in upgrade order (a branch yields all heads)."""
        return list(reversed(list(self.script().walk_revisions("base", "heads"))))

    def upgrade(self, url: URL | str, revision: str = "head") -> None:
        """`alembic upgrade <revision>`."""
        command.upgrade(self.config(url), revision)

    def downgrade(self, url: URL | str, revision: str) -> None:
        """`alembic downgrade <revision>`."""
        command.downgrade(self.config(url), revision)


def fixture_history(name: str) -> History:
    """The fixture history `tests/migrations/fixtures/<name>` (broken on purpose, or clean)."""
    path = FIXTURE_HISTORIES / name
    if not path.is_dir():
        raise FileNotFoundError(f"no fixture history at {path}")
    return History(versions=path)
