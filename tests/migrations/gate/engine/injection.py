"""An upgrade made to fail after its k-th statement: what a deploy killed part-way leaves.

On a server without transactional DDL (MariaDB) each statement of a revision commits, so a
revision that fails at statement k+1 leaves statements 1 to k applied while `alembic_version`
still names the previous revision. `run_upgrade` runs `alembic upgrade` on a connection of its
own and, through SQLAlchemy's `before_cursor_execute` event, counts the revision's statements
and, if asked, raises `InjectedFailure` before the statement after the k-th is sent: for the
server, the revision stopped right after statement k. Alembic and env.py react as to any
failure (the open transaction rolled back, the migration lock released).

The revision's statements are those that change something: not SELECT/SHOW/SET (reads, env.py's
timeouts, reflection), not transaction control or GET_LOCK, not Alembic's bookkeeping on
`alembic_version`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import URL, create_engine, event, pool

from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.render import is_version_table_statement

_NOT_A_CHANGE = re.compile(
    r"^(SELECT|SHOW|SET|DESCRIBE|DESC|EXPLAIN|USE|BEGIN|START\s+TRANSACTION|COMMIT|ROLLBACK|"
    r"SAVEPOINT|RELEASE|XA|DO|WITH)\b",
    re.IGNORECASE,
)
_LEADING_COMMENTS = re.compile(r"^(\s+|--[^\n]*(\n|$)|/\*.*?\*/)+", re.DOTALL)


class InjectedFailure(Exception):
    """Raised by the gate in place of the statement after the k-th: the revision stops there."""


def is_revision_change(statement: str) -> bool:
    """Whether `statement` is one of the revision's own changes (not a read, not bookkeeping)."""
    bare = _LEADING_COMMENTS.sub("", statement)
    return bool(bare) and not _NOT_A_CHANGE.match(bare) and not is_version_table_statement(bare)


@dataclass
class UpgradeRun:
    """One upgrade: the revision's statements that ran, and how it ended."""

    statements: list[str] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def injected(self) -> bool:
        """Whether it ended by the gate's `InjectedFailure`."""
        return isinstance(self.error, InjectedFailure)


def run_upgrade(history: History, url: URL, revision: str, *, stop_after: int | None) -> UpgradeRun:
    """`alembic upgrade <revision>` on `url`, stopped after statement `stop_after` (None: not)."""
    run = UpgradeRun()
    engine = create_engine(url, poolclass=pool.NullPool)

    def before_cursor_execute(*arguments: Any) -> None:
        statement = str(arguments[2])
        if not is_revision_change(statement):
            return
        if stop_after is not None and len(run.statements) >= stop_after:
            raise InjectedFailure(
                f"the gate stopped the upgrade after statement {stop_after}, before: "
                f"{_first_line(statement)}"
            )
        run.statements.append(statement)

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        with engine.connect() as connection:
            config = history.config(url)
            config.attributes["connection"] = connection
            try:
                history.run(config, "upgrade", revision)
            except Exception as error:
                run.error = error
    finally:
        engine.dispose()
    return run


def _first_line(statement: str) -> str:
    text = " ".join(_LEADING_COMMENTS.sub("", statement).split())
    return text if len(text) <= 200 else text[:197] + "..."


def describe(statement: str) -> str:
    """A statement on one line, shortened, for failures."""
    return _first_line(statement)
