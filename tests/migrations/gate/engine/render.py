"""Each revision's offline SQL (`alembic upgrade prev:rev --sql`), up and down, rendered once.

Offline SQL is what a DBA reviews, what squawk lints and what proves `env.py` emits its timeouts;
it must exist for every revision in both directions. Rendering goes through the project's own
`env.py` (via `History.config`), so the SQL is exactly what `alembic … --sql` prints, including
the `BEGIN`/`COMMIT` pairs of `transaction_per_migration` and the `COMMIT … BEGIN` that
`autocommit_block()` adds.

Alembic writes every statement with one `write()` call (`DefaultImpl.static_output`), so a
buffer that records those calls yields the statements exactly, with no SQL parsing. Results are
cached for the session: the lint, the timeout check and the `render` CLI share one rendering.

`commands/sql_review.py` writes every revision's SQL into a folder for review.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from alembic.script import Script

from tests.migrations.gate.dialects.base import VERSION_TABLE
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.failure import GateFailure

Direction = Literal["up", "down"]
DIRECTIONS: tuple[Direction, ...] = ("up", "down")

# Offline mode needs only a dialect: these URLs are never connected to.
OFFLINE_URLS = {
    "postgresql": "postgresql+psycopg2://offline@localhost/offline_render",
    "mariadb": "mariadb+pymysql://offline@localhost/offline_render",
}
OFFLINE_URL = OFFLINE_URLS["postgresql"]
"""The default: offline SQL for review is PostgreSQL's, the default server's."""

_VERSION_TABLE_STATEMENT = re.compile(
    rf"^\s*(CREATE TABLE|DROP TABLE|INSERT INTO|UPDATE|DELETE FROM)\s+{VERSION_TABLE}\b",
    re.IGNORECASE,
)
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")


class _StatementRecorder(io.StringIO):
    """An output buffer that keeps each `write()` (one statement each) separately."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str, /) -> int:
        self.writes.append(text)
        return super().write(text)


@dataclass(frozen=True)
class RevisionSql:
    """One revision's offline SQL in one direction, statement by statement."""

    revision: str
    down_revision: str | None
    path: Path
    message: str
    direction: Direction
    statements: tuple[str, ...]

    @property
    def commits_part_way(self) -> bool:
        """Whether it commits before its end (an `autocommit_block()`): it cannot be atomic."""
        return self.statements.count("COMMIT;") > 1

    @property
    def text(self) -> str:
        """The SQL as `alembic … --sql` prints it."""
        return "".join(f"{statement}\n\n" for statement in self.statements)

    def statement_lines(self) -> list[tuple[int, str]]:
        """Each statement with the 0-based line of `text` it starts on."""
        lines: list[tuple[int, str]] = []
        line = 0
        for statement in self.statements:
            lines.append((line, statement))
            line += statement.count("\n") + 2
        return lines


def is_version_table_statement(statement: str) -> bool:
    """Whether `statement` is Alembic's own bookkeeping on `alembic_version`, not the revision's."""
    return bool(_VERSION_TABLE_STATEMENT.match(statement))


def is_comment(statement: str) -> bool:
    """Alembic's `-- Running upgrade a -> b` markers."""
    return statement.lstrip().startswith("--")


def parent_of(script: Script) -> str | None:
    """The revision `script` upgrades from (the first parent of a merge), None at base."""
    down = script.down_revision
    if down is None:
        return None
    if isinstance(down, str):
        return down
    return down[0] if down else None


def slug(message: str) -> str:
    """A file-name-safe slug of a revision message, as Alembic would make one (≤ 40 chars)."""
    words = _SLUG_UNSAFE.sub("_", message.lower()).strip("_")
    return words[:40].rstrip("_") or "revision"


class OfflineRenderError(Exception):
    """A revision's SQL could not be rendered offline; carries the revision and direction."""

    def __init__(self, script: Script, direction: Direction, error: BaseException) -> None:
        self.script = script
        self.direction = direction
        self.error = error
        super().__init__(f"{script.revision} ({direction}): {type(error).__name__}: {error}")


def _range(script: Script, direction: Direction) -> str:
    parent = parent_of(script)
    if direction == "up":
        return f"{parent}:{script.revision}" if parent else script.revision
    return f"{script.revision}:{parent or 'base'}"


@functools.cache
def render_revision(
    history: History, revision: str, direction: Direction, backend: str = "postgresql"
) -> RevisionSql:
    """Render one revision's SQL in one direction for `backend` (a key of `OFFLINE_URLS`).

    Cached; failures raise OfflineRenderError.
    """
    script = history.script().get_revision(revision)
    if script is None:
        raise KeyError(f"no revision {revision} in {history.name}")
    config = history.config(OFFLINE_URLS[backend])
    recorder = _StatementRecorder()
    config.output_buffer = recorder
    try:
        history.run(
            config,
            "upgrade" if direction == "up" else "downgrade",
            _range(script, direction),
            sql=True,
        )
    except Exception as error:
        raise OfflineRenderError(script, direction, error) from error
    statements = tuple(
        write[:-2] if write.endswith("\n\n") else write for write in recorder.writes if write
    )
    return RevisionSql(
        revision=script.revision,
        down_revision=parent_of(script),
        path=Path(script.path),
        message=script.doc,
        direction=direction,
        statements=statements,
    )


def offline_render_failure(error: OfflineRenderError, history: History) -> GateFailure:
    """The readable failure for a revision that cannot be rendered offline."""
    verb = "upgrade" if error.direction == "up" else "downgrade"
    return GateFailure(
        check="offline-sql",
        problem=(
            f"`alembic {verb} {_range(error.script, error.direction)} --sql` fails: the "
            f"revision's {verb}() cannot be rendered as SQL for review"
        ),
        revision=error.script.revision,
        revision_file=display_path(error.script, history),
        direction=error.direction,
        details=[f"{type(error.error).__name__}: {error.error}"],
        how_to_fix=(
            "Offline mode has no database: op.get_bind() there returns a mock that executes "
            "nothing and returns no rows, so a migration that reads data (op.get_bind()."
            "execute(...).fetchall()/.scalar(), reflection, Python loops over rows) breaks it. "
            "Express the change as SQL the server runs itself (op.execute('UPDATE … SET … "
            "WHERE …'), INSERT … SELECT, a set-based backfill), or, if it truly needs "
            "Python, move the data work to a separate script run after the deploy."
        ),
    )


def display_path(script: Script, history: History) -> str:
    """The revision file as a reader finds it: `alembic/versions/<file>.py`."""
    path = Path(script.path)
    try:
        return f"{history.name}/{path.relative_to(history.versions).as_posix()}"
    except ValueError:
        return str(path)
