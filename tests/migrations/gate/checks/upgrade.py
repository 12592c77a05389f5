"""Check 2: base → head, one revision at a time, on an empty database.

Walking one step at a time (not `upgrade head` in one go) is what lets a failure name the
revision that broke. It returns a `RevisionTemplates`: a test that needs a database at some
revision gets a copy of a template built once for it (`CREATE DATABASE … TEMPLATE`) instead of
replaying the history each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import URL

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.steps import BASE, run_step, steps
from tests.migrations.gate.failure import GateFailure, NotRun
from tests.support.postgres import PostgresServer, unique_database_name
from tests.support.servers import DatabaseServer

CHECK = "upgrade"
EMPTY_TEMPLATE = "template0"


@dataclass
class RevisionTemplates:
    """Template databases of one history, one per revision it reached (plus base = empty)."""

    server: DatabaseServer
    history: History
    templates: dict[str, str] = field(default_factory=lambda: {BASE: EMPTY_TEMPLATE})
    reached: list[str] = field(default_factory=list)
    """Every revision the walk upgraded to, in order (a template may be built later, on demand)."""
    failure: GateFailure | None = None
    owned: set[str] = field(default_factory=set)
    """The templates this object created (and drops); adopted ones belong to someone else."""

    def raise_failure(self) -> None:
        """Raise the upgrade failure, if any: the upgrade check reports it, once."""
        if self.failure is not None:
            raise self.failure

    @property
    def broken(self) -> str | None:
        """The revision that does not upgrade (None: every revision does)."""
        return None if self.failure is None else self.failure.revision

    def blocked(self) -> list[str]:
        """The revisions no check can judge: the broken one and every one after it."""
        every = [step.revision for step in steps(self.history)]
        broken = self.broken
        return every[every.index(broken) :] if broken in every else []

    def require(self, *checks: str) -> None:
        """Skip the calling test of `checks` (`NotRun`) when a revision does not upgrade.

        The upgrade check has reported that failure; a check that needs a database at some
        revision would only report it again, so it says "not run" instead, and the matrix
        shows its cells from the broken revision on as blocked.
        """
        if self.failure is not None:
            raise NotRun(
                checks,
                self.blocked(),
                f"revision {self.broken} does not upgrade (see [upgrade])",
            )

    def template_for(self, revision: str) -> str:
        """The template database at `revision`, built now if the walk did not keep one."""
        self.require()
        if revision not in self.templates:
            if revision not in self.reached:
                raise KeyError(f"{revision} is not a revision of {self.history.name}")
            name = unique_database_name(f"gate_tpl_{revision[:12]}")
            url = self.server.create_database(name)
            self.templates[revision] = name
            self.owned.add(name)
            self.history.upgrade(url, revision)
        return self.templates[revision]

    def adopt(self, revision: str, name: str) -> None:
        """Use `name`, a database at `revision` that someone else built and will drop."""
        self.templates[revision] = name

    @contextmanager
    def database_at(self, revision: str, prefix: str = "gate") -> Iterator[URL]:
        """A throwaway copy of the database at `revision`, dropped on exit.

        On a server without template databases (MariaDB) it is a new database migrated to
        `revision`: seconds instead of milliseconds, so such a run asks for few of them.
        """
        if not isinstance(self.server, PostgresServer):
            self.require()
            if revision != BASE and revision not in self.reached:
                raise KeyError(f"{revision} is not a revision of {self.history.name}")
            with self.server.temporary_database(prefix) as url:
                if revision != BASE:
                    self.history.upgrade(url, revision)
                yield url
            return
        template = self.template_for(revision)
        with self.server.temporary_database(prefix, template=template) as url:
            yield url

    def drop(self) -> None:
        """Drop every template this object created."""
        for name in self.owned:
            self.server.drop_database(name)
        self.owned.clear()
        self.templates = {BASE: EMPTY_TEMPLATE}


def walk_upgrades(
    history: History,
    server: DatabaseServer,
    *,
    empty: URL | None = None,
) -> RevisionTemplates:
    """Upgrade an empty database revision by revision; record the first failure, if any.

    The walk runs on `empty` when given (an empty database the caller provides), else on a
    new one. It keeps no template: each one costs a `CREATE DATABASE`, so `template_for` builds
    one only when a check asks for it.
    """
    result = RevisionTemplates(server=server, history=history)
    with ExitStack() as stack:
        url = empty or stack.enter_context(server.temporary_database("gate_walk"))
        for step in steps(history):
            try:
                run_step(
                    partial(history.upgrade, url, step.revision),
                    check=CHECK,
                    problem=(
                        f"upgrading an empty database from {step.before} to {step.revision} "
                        f"failed ({history.name})"
                    ),
                    how_to_fix=(
                        "run `alembic upgrade head` on an empty database to reproduce; fix the "
                        "revision's upgrade() so it runs against the schema its predecessors "
                        "leave (describe tables as they are at that revision, not as the models "
                        "say today)"
                    ),
                    revision=step.revision,
                )
            except GateFailure as failure:
                result.failure = failure.located(history.revision_file(step.revision))
                result.failure.direction = "up"
                return result
            result.reached.append(step.revision)
    return result


def check_upgrade(history: History, server: DatabaseServer, empty: URL | None = None) -> None:
    """Fail with the revision and PostgreSQL's error if base → head breaks anywhere."""
    walk_upgrades(history, server, empty=empty).raise_failure()
