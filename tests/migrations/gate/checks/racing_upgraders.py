"""Check 12: two `alembic upgrade head` processes at once apply the schema exactly once.

Several replicas of a service often run `alembic upgrade head` on start. Without coordination
both see the same revision and both run it: one crashes on "already exists", or worse, both
half-apply. `env.py` takes the dialect's migration lock before looking at `alembic_version` (on
PostgreSQL a session-level advisory lock, which this project's env.py polls for with
`pg_try_advisory_lock()` between commits) and keeps it across every per-revision COMMIT,
including the ones `autocommit_block()` issues (a transaction-level lock would be released by
the first of them).

Here the upgraders are real processes (`python -m alembic upgrade head`, `DATABASE_URL` in their
environment, the project root as working directory), as in a deploy. While they run, the gate
polls the server's sessions (`Dialect.sessions_waiting_for_migration_lock`) and records every
moment a backend of the database waits for the migration lock, and what the other backends are
doing at that moment: that is the proof the second process waited rather than raced. Each
process logs `Running upgrade a -> b` for what it applied; across all of them, every revision
must appear exactly once.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import URL, create_engine, pool

from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.engine.contention import current_version
from tests.migrations.gate.engine.history import PROJECT_VERSIONS, History
from tests.migrations.gate.failure import GateFailure
from tests.support.migrations import ALEMBIC_INI, PROJECT_ROOT

CHECK = "racing-upgraders"
_APPLIED = re.compile(r"Running upgrade (\S*) -> ([^,\s]+)")


@dataclass(frozen=True)
class Upgrader:
    """One finished `alembic upgrade head` process."""

    returncode: int
    stdout: str
    stderr: str

    def applied(self) -> list[str]:
        """The revisions this process says it ran."""
        return [match[2] for match in _APPLIED.finditer(self.stderr)]


@dataclass(frozen=True)
class Moment:
    """One poll of the database: who waits for the migration lock, and what the others run."""

    waiting: tuple[int, ...]
    running: tuple[str, ...]


@dataclass
class Race:
    """The upgraders and what the database looked like while they ran."""

    upgraders: list[Upgrader] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)

    def waited_while(self, predicate: Callable[[str], bool] = lambda _: True) -> bool:
        """Whether a backend waited for the migration lock while another ran a matching query."""
        return any(
            moment.waiting and any(predicate(query) for query in moment.running)
            for moment in self.moments
        )


@contextmanager
def alembic_ini_for(history: History) -> Iterator[Path]:
    """The project's alembic.ini, pointed at `history`'s versions folder when it is a fixture."""
    if history.versions == PROJECT_VERSIONS:
        yield ALEMBIC_INI
        return
    parser = configparser.RawConfigParser()
    parser.read(ALEMBIC_INI, encoding="utf-8")
    parser.set("alembic", "script_location", str(PROJECT_ROOT / "alembic").replace("%", "%%"))
    parser.set("alembic", "version_locations", str(history.versions).replace("%", "%%"))
    with tempfile.TemporaryDirectory(prefix="gate-ini-") as folder:
        path = Path(folder) / "alembic.ini"
        with path.open("w", encoding="utf-8") as handle:
            parser.write(handle)
        yield path


def _environment(url: URL) -> dict[str, str]:
    environment = dict(os.environ)
    environment["DATABASE_URL"] = url.render_as_string(hide_password=False)
    # Blank, so env.py migrates `url` even if the environment or a .env names a migration URL.
    environment["MIGRATION_DATABASE_URL"] = ""
    return environment


def _start(ini: Path, url: URL) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
        cwd=PROJECT_ROOT,
        env=_environment(url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class _Observer(threading.Thread):
    """Polls the sessions of one database until stopped."""

    def __init__(self, url: URL, race: Race, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.race = race
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        engine = create_engine(self.url, poolclass=pool.NullPool)
        try:
            with engine.connect() as connection:
                while not self.stopped.is_set():
                    rows = dialect_for(self.url).sessions_waiting_for_migration_lock(
                        connection, str(self.url.database)
                    )
                    connection.rollback()
                    self.race.moments.append(
                        Moment(
                            waiting=tuple(int(pid) for pid, waits, _ in rows if waits),
                            running=tuple(str(q) for _, waits, q in rows if not waits),
                        )
                    )
                    self.stopped.wait(self.interval)
        finally:
            engine.dispose()


def race_upgraders(history: History, url: URL, *, count: int = 2, timeout: float = 120.0) -> Race:
    """Start `count` `alembic upgrade head` processes on `url` together; observe meanwhile."""
    race = Race()
    observer = _Observer(url, race)
    observer.start()
    processes: list[subprocess.Popen[str]] = []
    try:
        with alembic_ini_for(history) as ini:
            processes.extend(_start(ini, url) for _ in range(count))
            for process in processes:
                stdout, stderr = process.communicate(timeout=timeout)
                race.upgraders.append(Upgrader(process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
        observer.stopped.set()
        observer.join()
    return race


def _error_lines(stderr: str) -> list[str]:
    """The exception line (and PostgreSQL's DETAIL) a failed `alembic` process printed last."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if re.match(r"^[\w.]+(Error|Exception)\b", line)]
    if not errors:
        return lines[-3:]
    first = errors[-1]
    return [lines[first], *[line for line in lines[first + 1 :] if line.startswith("DETAIL")]]


def check_race(history: History, url: URL, race: Race) -> None:
    """Every upgrader exited 0; every revision was applied exactly once; the database is at head."""
    expected = [script.revision for script in history.revisions()]
    head = expected[-1] if expected else None
    applied = [revision for upgrader in race.upgraders for revision in upgrader.applied()]
    failed = [u for u in race.upgraders if u.returncode != 0]
    twice = sorted({revision for revision in applied if applied.count(revision) > 1})
    version = current_version(url)
    if not failed and sorted(applied) == sorted(expected) and version == head:
        return
    details = [
        f"upgrader {index} exited {upgrader.returncode}, applied: "
        f"{', '.join(upgrader.applied()) or 'nothing'}"
        for index, upgrader in enumerate(race.upgraders, start=1)
    ]
    for index, upgrader in enumerate(race.upgraders, start=1):
        if upgrader.returncode != 0:
            details.append(f"upgrader {index} said:")
            details.extend(f"  {line}" for line in _error_lines(upgrader.stderr))
    if twice:
        details.append(f"applied more than once: {', '.join(twice)}")
    details.append(f"alembic_version afterwards: {version} (head is {head})")
    raise GateFailure(
        check=CHECK,
        problem=(
            f"{len(race.upgraders)} concurrent `alembic upgrade head` runs did not apply the "
            f"history exactly once ({history.name})"
        ),
        revision=twice[0] if twice else None,
        also_revisions=twice[1:],
        details=details,
        how_to_fix=(
            f"alembic/env.py must take {dialect_for(url).migration_lock} before reading "
            "alembic_version and hold it until every revision is applied: never a "
            "transaction-scoped lock (the first COMMIT of transaction_per_migration or "
            "autocommit_block() releases it), and no revision may release it."
        ),
    )


def check_racing_upgraders(history: History, url: URL, *, count: int = 2) -> Race:
    """Race `count` upgraders on the empty database `url`; raise `GateFailure` if they clash."""
    race = race_upgraders(history, url, count=count)
    check_race(history, url, race)
    return race
