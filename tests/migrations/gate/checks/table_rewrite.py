"""Check 9: no revision rewrites a table (or rebuilds an index) that already holds rows, unless
it says so.

A rewrite copies every row into a new file while holding ACCESS EXCLUSIVE: on a big table that
is minutes of downtime, and it is easy to trigger by accident (a type change, a volatile
default, SET LOGGED). A linter guesses from the SQL text; this check asks the server
(`Dialect.stored_relations`): each existing relation keeps its identity across ALTER TABLE but
gets new storage when its data is rewritten (on PostgreSQL, the same OID with a new
`relfilenode`). The history is stepped one revision at a time on one database, with rows
inserted into every table before each step.

A revision that rewrites on purpose declares it next to the code:

    rewrites_tables = {"items": "items holds under 1000 rows in production; a second of lock"}

An index rebuilt because its table was rewritten is covered by the table's declaration.
A declaration without a real reason, or for a table the revision does not rewrite, fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic.script import Script
from sqlalchemy import URL, Connection, text

from tests.migrations.gate.dialects import dialect_for
from tests.migrations.gate.dialects.base import StoredRelation
from tests.migrations.gate.engine.declarations import read_declaration
from tests.migrations.gate.engine.fill import FillReport, fill_tables
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.relevance import tables_in_play
from tests.migrations.gate.engine.render import display_path
from tests.migrations.gate.engine.sessions import connect
from tests.migrations.gate.engine.steps import steps
from tests.migrations.gate.failure import GateFailure

CHECK = "table-rewrite"
DECLARATION = "rewrites_tables"


def row_counts(connection: Connection, tables: set[str]) -> dict[str, int]:
    """Rows per table, to tell the reader how much a rewrite copied."""
    quote = connection.dialect.identifier_preparer.quote
    return {
        table: int(connection.execute(text(f"SELECT count(*) FROM {quote(table)}")).scalar_one())
        for table in sorted(tables)
    }


@dataclass
class StepRewrites:
    """What one revision rewrote, and what it declared."""

    script: Script
    path: str
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)
    indexes: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    declared: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    filled: FillReport = field(default_factory=FillReport)
    in_play: tuple[str, ...] = ()
    """The tables the revision can touch (`relevance.py`): the ones given rows before it ran."""

    def undeclared(self) -> list[str]:
        """Readable lines for each rewrite the revision did not declare."""
        lines: list[str] = []
        for table, (old, new) in sorted(self.tables.items()):
            if table in self.declared:
                continue
            rebuilt = sorted(i for i, (owner, _, _) in self.indexes.items() if owner == table)
            suffix = f"; indexes rebuilt with it: {', '.join(rebuilt)}" if rebuilt else ""
            lines.append(
                f"table {table} rewritten ({self.rows.get(table, 0)} rows copied, relfilenode "
                f"{old} -> {new}){suffix}"
            )
        for index, (owner, old, new) in sorted(self.indexes.items()):
            if owner in self.tables or owner in self.declared or index in self.declared:
                continue
            lines.append(f"index {index} on {owner} rebuilt (relfilenode {old} -> {new})")
        return lines


def compare(
    before: dict[int, StoredRelation], after: dict[int, StoredRelation], step: StepRewrites
) -> None:
    """Record in `step` every relation present before and after whose data file changed."""
    for oid, old in before.items():
        new = after.get(oid)
        if new is None or new.storage == old.storage:
            continue
        if old.kind == "i":
            step.indexes[new.name] = (new.table, old.storage, new.storage)
        else:
            step.tables[new.name] = (old.storage, new.storage)


def _declaration_problems(step: StepRewrites) -> None:
    for name in step.declared:
        if name not in step.tables and name not in step.indexes:
            step.problems.append(
                f"`{DECLARATION}[{name!r}]` declares a rewrite that did not happen: delete it"
            )


def observe_rewrites(history: History, url: URL, rows: int = 50) -> list[StepRewrites]:
    """Step `history` from base to head on the empty database `url`, filling tables first.

    Only the tables a revision can touch get rows before it runs (`relevance.py`): filling all
    of them at every step made this walk grow with the square of the history. Every relation's
    relfilenode is still compared, so a table rewritten without rows is caught all the same;
    the rows make the report say how much a rewrite copies.
    """
    result: list[StepRewrites] = []
    scripts = {script.revision: script for script in history.revisions()}
    for step in steps(history):
        script = scripts[step.revision]
        declaration = read_declaration(script, DECLARATION)
        observed = StepRewrites(
            script=script,
            path=display_path(script, history),
            declared=declaration.entries,
            problems=list(declaration.problems),
        )
        with connect(url) as connection:
            observed.in_play = tables_in_play(history, step, connection)
            observed.filled = fill_tables(connection, rows, only=observed.in_play)
            before = dialect_for(url).stored_relations(connection)
        history.upgrade(url, step.revision)
        with connect(url) as connection:
            compare(before, dialect_for(url).stored_relations(connection), observed)
            observed.rows = row_counts(connection, set(observed.tables))
        _declaration_problems(observed)
        result.append(observed)
    return result


def rewrite_failure(steps: list[StepRewrites]) -> GateFailure | None:
    """One failure naming every revision with an undeclared rewrite or a bad declaration."""
    bad = [step for step in steps if step.undeclared() or step.problems]
    if not bad:
        return None
    details: list[str] = []
    for step in bad:
        details.append(f"revision {step.script.revision} ({step.path}):")
        details.extend(f"  {line}" for line in step.undeclared())
        details.extend(f"  declaration problem: {problem}" for problem in step.problems)
    example = next((t for step in bad for t in step.tables), "items")
    return GateFailure(
        check=CHECK,
        problem=(
            "a revision rewrote a table that holds rows: PostgreSQL copies every row while "
            "holding ACCESS EXCLUSIVE, so every read and write of the table waits until it ends"
        ),
        revision=bad[0].script.revision,
        revision_file=bad[0].path,
        direction="up",
        also_revisions=[step.script.revision for step in bad[1:]],
        details=details,
        how_to_fix=(
            "Make the change without a rewrite: ALTER COLUMN … TYPE to a type that is not "
            "binary-compatible, ADD COLUMN … DEFAULT <volatile>, SET LOGGED/UNLOGGED, CLUSTER "
            "and VACUUM FULL all rewrite. Instead add a new column, backfill it in batches, "
            "switch reads, then drop the old one; add volatile defaults after a backfill. If "
            "the rewrite is acceptable (the table is small everywhere), declare it next to the "
            f'code: {DECLARATION} = {{"{example}": "why a rewrite of {example} is acceptable"}}.'
        ),
    )


def check_rewrites(history: History, url: URL, rows: int = 50) -> list[StepRewrites]:
    """Raise `GateFailure` unless no revision rewrites an existing table without declaring it."""
    steps = observe_rewrites(history, url, rows)
    failure = rewrite_failure(steps)
    if failure is not None:
        raise failure
    return steps
