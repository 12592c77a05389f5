"""`History`: one Alembic revision tree, the project's or a fixture's, and how to run it."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any, Literal

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL

from tests.migrations.gate.engine.sessions import connect, reusing
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
        """The revision graph, loaded once for as long as the folder's files stay the same."""
        return _loaded_script(self.versions, _fingerprint(self.versions.glob("*.py")))

    def revision_file(self, revision: str) -> str | None:
        """The file of `revision`, relative to the project when inside it (None: unknown id)."""
        try:
            script = self.script().get_revision(revision)
        except CommandError:
            return None
        if script is None or script.path is None:
            return None
        path = Path(script.path).resolve()
        return (
            path.relative_to(PROJECT_ROOT).as_posix()
            if path.is_relative_to(PROJECT_ROOT)
            else str(path)
        )

    def revisions(self) -> list[Script]:
        """Every revision from base to head, in upgrade order (a branch yields all heads)."""
        return list(reversed(list(self.script().walk_revisions("base", "heads"))))

    def run(
        self, config: Config, command: Literal["upgrade", "downgrade"], target: str, **options: Any
    ) -> None:
        """`alembic upgrade|downgrade <target>` with `config`, on this history's loaded graph.

        What `alembic.command.upgrade`/`downgrade` do, minus building a new `ScriptDirectory`:
        that reads every revision file again, and where PYTHONDONTWRITEBYTECODE is set (our CI
        machines set it) compiles each one again, so a gate that runs a few commands per
        revision grew with the square of the history's length. `options`: `sql=True`.

        Why Alembic's private `_upgrade_revs`/`_downgrade_revs`: the public commands take no
        `ScriptDirectory` (they always call `ScriptDirectory.from_config`), and these two are
        exactly what their `upgrade`/`downgrade` pass to `EnvironmentContext` (alembic's
        `command.py`). Alembic's version comes from the lock file, so a rename cannot arrive
        unnoticed: every test that migrates would fail at once, and an upgrade is a
        deliberate commit.
        """
        script = self.script()
        sql = bool(options.get("sql", False))
        starting: str | None = None
        if ":" in target:
            if not sql:
                raise CommandError("Range revision not allowed")
            starting, target = target.split(":", 1)

        def steps_to(revision: Any, _: Any) -> Any:
            if command == "upgrade":
                return script._upgrade_revs(target, revision)
            return script._downgrade_revs(target, revision)

        with EnvironmentContext(
            config, script, fn=steps_to, as_sql=sql, starting_rev=starting, destination_rev=target
        ):
            run_env(script)

    def run_on(
        self, url: URL | str, config: Config, command: Literal["upgrade", "downgrade"], target: str
    ) -> None:
        """`run` against `url`: on a reused connection inside a walk, else as the CLI would."""
        if isinstance(url, URL) and reusing():
            with connect(url) as connection:
                config.attributes["connection"] = connection
                self.run(config, command, target)
            return
        self.run(config, command, target)

    def upgrade(self, url: URL | str, revision: str = "head") -> None:
        """`alembic upgrade <revision>`."""
        self.run_on(url, self.config(url), "upgrade", revision)

    def downgrade(self, url: URL | str, revision: str) -> None:
        """`alembic downgrade <revision>`."""
        self.run_on(url, self.config(url), "downgrade", revision)


Fingerprint = tuple[tuple[str, int, int], ...]


def _fingerprint(files: Iterable[Path]) -> Fingerprint:
    """Names, modification times and sizes: a changed revision file means a new graph."""
    return tuple(
        sorted(
            (path.name, stat.st_mtime_ns, stat.st_size) for path in files for stat in [path.stat()]
        )
    )


def run_env(script: ScriptDirectory) -> None:
    """`script.run_env()`, executing `env.py` from code compiled once per version of the file.

    Alembic loads `env.py` as a fresh module for every command, and where
    PYTHONDONTWRITEBYTECODE is set (this machine and CI set it) that compiles the file again each
    time: a few milliseconds that the walk pays about nine times per revision. The module is
    still new for every command, exactly as Alembic builds it (`alembic.util.load_python_file`:
    a spec from the file, `module_from_spec`, not put in `sys.modules`); only the compiled code
    is reused, and a changed file (mtime or size) is compiled again.
    """
    path = Path(script.dir) / "env.py"
    stat = path.stat()
    code = _compiled(path, stat.st_mtime_ns, stat.st_size)
    spec = importlib.util.spec_from_file_location("env_py", path)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(code, module.__dict__)  # noqa: S102 - the project's own env.py, as Alembic runs it


@functools.lru_cache(maxsize=8)
def _compiled(path: Path, _mtime_ns: int, _size: int) -> CodeType:
    return compile(path.read_bytes(), str(path), "exec")


@functools.lru_cache(maxsize=64)
def _loaded_script(versions: Path, _: Fingerprint) -> ScriptDirectory:
    script = ScriptDirectory.from_config(History(versions=versions).config())
    script.revision_map.get_revision("heads")  # load every file now, not in a caller's thread
    return script


def fixture_history(name: str) -> History:
    """The fixture history `tests/migrations/fixtures/<name>` (broken on purpose, or clean)."""
    path = FIXTURE_HISTORIES / name
    if not path.is_dir():
        raise FileNotFoundError(f"no fixture history at {path}")
    return History(versions=path)
