"""What the gate needs from a database server, and nothing else: the `Dialect` protocol.

Checks and the engine speak only this interface; everything specific to one server (catalog
queries, how a table rewrite shows, which lock a reader takes, which error means "gave up on a
lock", the unsafe-DDL linter, how to empty a schema) lives in `dialects/<server>/`. A second
server is one new package there, registered in `dialects/__init__.py`.
"""

from __future__ import annotations

import difflib
import enum
import threading
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import URL, Connection

VERSION_TABLE = "alembic_version"
"""Alembic's bookkeeping table: present after any upgrade, kept by a downgrade to base."""


@dataclass(frozen=True)
class CatalogSnapshot:
    """Sorted, self-describing lines; equal snapshots mean the server sees the same schema."""

    lines: tuple[str, ...]

    def diff(self, other: CatalogSnapshot, *, before: str, after: str) -> list[str]:
        """A unified diff from this snapshot to `other` (empty when they are equal)."""
        return list(
            difflib.unified_diff(
                self.lines, other.lines, fromfile=before, tofile=after, lineterm="", n=1
            )
        )


@dataclass(frozen=True)
class StoredRelation:
    """A table or index and the identity of the storage holding its rows.

    A new storage identity for the same relation means the server copied every row into a new
    file: a table rewrite, under the strongest lock.
    """

    name: str
    kind: str
    storage: int
    table: str


class LockMode(enum.Enum):
    """The two ways the gate gets in a migration's way, named for what they stand for."""

    READERS = "what a long-running SELECT holds on a table"
    VERSION_WRITERS_BLOCKED = "readers of the version table pass, its UPDATE cannot"


@dataclass
class HeldLocks:
    """Another session holding locks in an open transaction, ended by a watchdog if need be."""

    session: int
    tables: tuple[str, ...]
    mode: str
    """The server's own name for the lock held (shown in failures)."""
    ended_by_watchdog: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class LintFinding:
    """One finding of the dialect's unsafe-DDL linter; `line` and `column` are 0-based."""

    file: str
    line: int
    column: int
    rule: str
    message: str
    help: str | None
    docs: str


@dataclass(frozen=True)
class GeneratedKey:
    """A column the database fills from a sequence when an INSERT leaves it out."""

    table: str
    column: str
    how: str
    """The server's own words for it (`identity`, `nextval('widgets_id_seq'::regclass)`)."""


@dataclass
class FillReport:
    """Rows inserted per table, and why a table stayed empty."""

    inserted: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


class Dialect(Protocol):
    """Everything the gate asks of one database server."""

    name: str
    """SQLAlchemy's backend name (`postgresql`)."""
    linter: str
    """The unsafe-DDL linter's name, for reports (`squawk`)."""
    lint_waivers: str
    """The revision attribute that waives this linter's rules (`squawk_waivers`): one per
    linter, since a rule name means something only to its own linter."""
    migration_lock: str
    """How `env.py` serialises concurrent upgraders on this server, for reports."""
    transactional_ddl: bool
    """Whether DDL runs inside the revision's transaction and rolls back with it (PostgreSQL),
    or commits statement by statement (MariaDB): there a revision failing at statement k leaves
    1 to k-1 applied, so atomic failure means rerunnable failure (`checks/atomic_failure.py`)."""
    exclusive_lock: str
    """The server's name for the table locks that stop every reader and writer (`ACCESS
    EXCLUSIVE`), for reports: the lock-holds check budgets how long they are held."""
    lock_hold_advice: str
    """How to keep such a lock short on this server (the lock-holds check's how-to-fix)."""
    app_privileges_advice: str
    """How to give the app role what check 19 found it lacks, in this server's terms."""
    row_address: str | None
    """A column every table has naming a row's physical place (`ctid`), so the app-privileges
    probe finds the row it wrote on any table; None: it finds it by primary key."""

    def snapshot(self, connection: Connection) -> CatalogSnapshot:
        """Every object of the schema the gate compares, one line each."""
        ...

    def stored_relations(self, connection: Connection) -> dict[int, StoredRelation]:
        """Tables and indexes holding data, by a key that survives ALTER TABLE."""
        ...

    def user_tables(self, connection: Connection) -> list[str]:
        """The tables of the schema, except the version table, sorted."""
        ...

    def foreign_keys(self, connection: Connection) -> list[tuple[str, str]]:
        """(child table, parent table) for every foreign key of the schema."""
        ...

    def current_revision(self, connection: Connection) -> str | None:
        """What the version table says (None: missing or empty)."""
        ...

    def empty_schema(self, url: URL) -> None:
        """Drop everything in the database at `url`, as good as a new database for the gate."""
        ...

    def empty_tables(self, connection: Connection, tables: Collection[str] | None) -> None:
        """Delete every row of `tables` (None: all but the version table), restart keys."""
        ...

    def bulk_fill(
        self, connection: Connection, rows: int, only: Collection[str] | None
    ) -> FillReport:
        """Insert `rows` rows into each table (`only` those, if given) in one statement each.

        Tables it cannot fill are left empty and named in `FillReport.skipped`, with why.
        """
        ...

    def hold_locks(
        self, url: URL, tables: Sequence[str], mode: LockMode, *, patience: float
    ) -> AbstractContextManager[HeldLocks]:
        """Hold `mode` on `tables` from another session until the block exits.

        After `patience` seconds a watchdog ends that session and sets `ended_by_watchdog`: a
        migration still waiting by then was queueing, not giving up.
        """
        ...

    def is_lock_timeout(self, error: BaseException | None) -> bool:
        """Whether `error` is the server giving up on a lock because of the lock timeout."""
        ...

    def sessions_waiting_for_migration_lock(
        self, connection: Connection, database: str
    ) -> list[tuple[int, bool, str]]:
        """Other sessions on `database`: (id, waiting for the migration lock, their query)."""
        ...

    def generated_keys(self, connection: Connection, tables: Collection[str]) -> list[GeneratedKey]:
        """The columns of `tables` filled from a sequence by default (identity, serial)."""
        ...

    def autogenerate_noise(self, operation: object) -> bool:
        """Whether an operation Alembic's autogenerate proposes changes nothing on this server
        (a known reflection gap), so drift leaves it out."""
        ...

    def refuses_row(self, error: BaseException) -> bool:
        """Whether `error` is the server refusing a row it was asked to store (a constraint,
        a value out of range), so a row generator drops that row and goes on."""
        ...

    def is_duplicate_key(self, error: BaseException, column: str) -> bool:
        """Whether `error` is the server refusing a row because another row has its `column`."""
        ...

    def lint(self, files: Mapping[str, str]) -> list[LintFinding]:
        """Lint each file's SQL (name → text) for unsafe DDL."""
        ...

    def knows_lint_rule(self, rule: str) -> bool:
        """Whether `rule` is a rule of the linter (so a waiver can name it)."""
        ...

    def lint_rule_names(self) -> Collection[str]:
        """The rules a misspelt waiver is compared with, to suggest the one meant."""
        ...

    def lint_advice(self, rule: str) -> str | None:
        """The safe way to make the change `rule` objects to, if the linter's help lacks it."""
        ...

    def relation_locks(self, connection: Connection) -> list[tuple[str, str]]:
        """(table, lock mode) granted right now to the other sessions on this database.

        Tables of the schema only, not the version table (every upgrade writes it). Polled
        while a migration runs, on a connection of its own, to see which locks it holds.
        """
        ...

    def stops_every_query(self, mode: str) -> bool:
        """Whether a table lock of `mode` (as `relation_locks` names it) makes every query on
        the table wait, a plain SELECT too: what the lock-holds check budgets."""
        ...

    def prepare_app_role(self, connection: Connection) -> None:
        """Create the app role if missing; give it this database as production gives it one:
        connect, use the schema, and the migrating user's default privileges (commits)."""
        ...

    def acting_as_app_role(self, connection: Connection) -> AbstractContextManager[Connection]:
        """A connection acting as the app role, seeing what `connection` sees, whose work is
        rolled back: `connection` itself under `SET LOCAL ROLE` (PostgreSQL), or a connection
        of the app's own user in a transaction rolled back at exit (MariaDB, which cannot
        switch a connection to another user)."""
        ...

    def missing_app_privileges(
        self, connection: Connection, tables: list[str]
    ) -> dict[str, list[str]]:
        """What is wrong with the app role on each of `tables`: a privilege it lacks to use the
        rows, or ownership that would let it change the table (empty: nothing)."""
        ...

    def row_security(self, connection: Connection, tables: list[str]) -> dict[str, str]:
        """The tables of `tables` with row-level security on, described."""
        ...

    def is_insufficient_privilege(self, error: BaseException) -> bool:
        """Whether `error` is the server refusing a statement for lack of privilege."""
        ...
