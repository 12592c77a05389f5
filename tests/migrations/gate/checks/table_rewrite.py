"""Check 9: no revision rewrites a table (or rebuilds an index) that already holds rows, unless
it says so.

A rewrite copies every row into a new file, and on a big table that is minutes in which the
table is locked: on PostgreSQL under ACCESS EXCLUSIVE (no reads, no writes); on MariaDB an
`ALGORITHM=COPY` rebuild blocks every write. It is easy to trigger by accident (a type change,
a volatile default, SET LOGGED; on MariaDB also any ADD CONSTRAINT CHECK). A linter guesses from
the SQL text; this check asks the server (`Dialect.stored_relations`): each existing relation
keeps its key across ALTER TABLE but gets new storage when its data is rewritten (on
PostgreSQL, the same OID with a new `relfilenode`; on MariaDB, the same table name with a new
InnoDB table id, `dialects/mariadb/rebuilds.py`). The history is stepped one revision at a time
on one database, with rows inserted into every table before each step.

A revision that rewrites on purpose declares it next to the code, for every server or for one:

    rewrites_tables = {"items": "items holds under 1000 rows in production; a second of lock"}
    rewrites_tables_on = {"mariadb": {"items": "MariaDB has no NOT VALID: the CHECK copies"}}

An index rebuilt because its table was rewritten is covered by the table's declaration.
A declaration without a real reason, for a server the gate does not know, or for a table the
revision does not rewrite on the server at hand, fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic.script import Script
from sqlalchemy import URL, Connection, text

from tests.migrations.gate.dialects import DIALECT_NAMES, dialect_for
from tests.migrations.gate.dialects.base import StoredRelation
from tests.migrations.gate.engine.declarations import SERVER_SUFFIX, read_declaration_on
from tests.migrations.gate.engine.fill import FillReport, fill_tables
from tests.migrations.gate.engine.history import History
from tests.migrations.gate.engine.relevance import tables_in_play
from tests.migrations.gate.engine.render import display_path
from tests.migrations.gate.engine.sessions import connect
from tests.migrations.gate.engine.steps import steps
from tests.migrations.gate.failure import GateFailure

CHECK = "table-rewrite"
DECLARATION = "rewrites_tables"
PER_SERVER = DECLARATION + SERVER_SUFFIX


@dataclass(frozen=True)
class Wording:
    """How a failure of this check speaks of one server."""

    storage: str
    """The server's name for the storage identity that changes on a rewrite."""
    problem: str
    how_to_fix: str
    """Ways around a rewrite on this server; the declaration to write is appended."""


WORDING: dict[str, Wording] = {
    "postgresql": Wording(
        storage="relfilenode",
        problem=(
            "a revision rewrote a table that holds rows: PostgreSQL copies every row while "
            "holding ACCESS EXCLUSIVE, so every read and write of the table waits until it ends"
        ),
        how_to_fix=(
            "Make the change without a rewrite: ALTER COLUMN … TYPE to a type that is not "
            "binary-compatible, ADD COLUMN … DEFAULT <volatile>, SET LOGGED/UNLOGGED, CLUSTER "
            "and VACUUM FULL all rewrite. Instead add a new column, backfill it in batches, "
            "switch reads, then drop the old one; add volatile defaults after a backfill."
        ),
    ),
    "mariadb": Wording(
        storage="table id",
        problem=(
            "a revision rebuilt a table that holds rows: MariaDB copied every row into a new "
            "InnoDB table (a new table id). A rebuild with ALGORITHM=COPY (what ADD CONSTRAINT "
            "CHECK and a column type change get) blocks every write to the table until the copy "
            "ends; even an INPLACE rebuild copies every row and takes an exclusive metadata lock "
            "at its start and end"
        ),
        how_to_fix=(
            "Make the change without a rebuild, and say so in the statement so MariaDB refuses "
            "rather than silently copies: ALGORITHM=INSTANT (ADD COLUMN, a new DEFAULT, RENAME "
            "COLUMN, a longer VARCHAR within the same length bytes), or ALGORITHM=INPLACE, "
            "LOCK=NONE (CREATE INDEX, and a rebuild that cannot be avoided, which then lets "
            "writes go on). A column type change (MODIFY … BIGINT) always copies: add a new "
            "column instead, backfill it in batches, switch reads, then drop the old one. "
            "MariaDB has no NOT VALID, so ADD CONSTRAINT CHECK on a populated table always "
            "copies it: enforce the rule in the application first, or accept the rebuild."
        ),
    ),
}


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
    spelled: dict[str, str] = field(default_factory=dict)
    """How each declared entry is written (`rewrites_tables_on['mariadb']['items']`)."""
    problems: list[str] = field(default_factory=list)
    storage_name: str = "relfilenode"
    """What the server calls the storage identity (`Wording.storage`), for the report."""
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
                f"table {table} rewritten ({self.rows.get(table, 0)} rows copied, "
                f"{self.storage_name} {old} -> {new}){suffix}"
            )
        for index, (owner, old, new) in sorted(self.indexes.items()):
            if owner in self.tables or owner in self.declared or index in self.declared:
                continue
            lines.append(f"index {index} on {owner} rebuilt ({self.storage_name} {old} -> {new})")
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
            spelled = step.spelled.get(name, f"{DECLARATION}[{name!r}]")
            step.problems.append(f"`{spelled}` declares a rewrite that did not happen: delete it")


def observe_rewrites(history: History, url: URL, rows: int = 50) -> list[StepRewrites]:
    """Step `history` from base to head on the empty database `url`, filling tables first.

    Only the tables a revision can touch get rows before it runs (`relevance.py`): filling all
    of them at every step made this walk grow with the square of the history. Every relation's
    relation's storage is still compared, so a table rewritten without rows is caught all the
    same; the rows make the report say how much a rewrite copies. Declarations are read for the
    server at `url`: `rewrites_tables` plus its own part of `rewrites_tables_on`.
    """
    dialect = dialect_for(url)
    wording = WORDING[dialect.name]
    result: list[StepRewrites] = []
    scripts = {script.revision: script for script in history.revisions()}
    for step in steps(history):
        script = scripts[step.revision]
        declaration = read_declaration_on(script, DECLARATION, dialect.name, DIALECT_NAMES)
        observed = StepRewrites(
            script=script,
            path=display_path(script, history),
            declared=declaration.entries,
            spelled=dict(declaration.spelled),
            problems=list(declaration.problems),
            storage_name=wording.storage,
        )
        with connect(url) as connection:
            observed.in_play = tables_in_play(history, step, connection)
            observed.filled = fill_tables(connection, rows, only=observed.in_play)
            before = dialect.stored_relations(connection)
        history.upgrade(url, step.revision)
        with connect(url) as connection:
            compare(before, dialect.stored_relations(connection), observed)
            observed.rows = row_counts(connection, set(observed.tables))
        _declaration_problems(observed)
        result.append(observed)
    return result


def _declare_it(server: str, table: str) -> str:
    """The declaration a failure on `server` suggests for `table`."""
    reason = f"why a rewrite of {table} is acceptable"
    if server == "postgresql":  # the project's first server: the everywhere form, as before
        return f'{DECLARATION} = {{"{table}": "{reason}"}}'
    return (
        f'{PER_SERVER} = {{"{server}": {{"{table}": "{reason}"}}}} (on {server} only; '
        f'{DECLARATION} = {{"{table}": "…"}} for every server)'
    )


def rewrite_failure(steps: list[StepRewrites], server: str = "postgresql") -> GateFailure | None:
    """One failure naming every revision with an undeclared rewrite or a bad declaration,
    worded for `server` (a dialect name of `WORDING`)."""
    bad = [step for step in steps if step.undeclared() or step.problems]
    if not bad:
        return None
    details: list[str] = []
    for step in bad:
        details.append(f"revision {step.script.revision} ({step.path}):")
        details.extend(f"  {line}" for line in step.undeclared())
        details.extend(f"  declaration problem: {problem}" for problem in step.problems)
    example = next((t for step in bad for t in step.tables), "items")
    wording = WORDING[server]
    return GateFailure(
        check=CHECK,
        problem=wording.problem,
        revision=bad[0].script.revision,
        revision_file=bad[0].path,
        direction="up",
        also_revisions=[step.script.revision for step in bad[1:]],
        details=details,
        how_to_fix=(
            f"{wording.how_to_fix} If the rewrite is acceptable (the table is small "
            f"everywhere), declare it next to the code: {_declare_it(server, example)}."
        ),
    )


def check_rewrites(history: History, url: URL, rows: int = 50) -> list[StepRewrites]:
    """Raise `GateFailure` unless no revision rewrites an existing table without declaring it."""
    steps = observe_rewrites(history, url, rows)
    failure = rewrite_failure(steps, dialect_for(url).name)
    if failure is not None:
        raise failure
    return steps
