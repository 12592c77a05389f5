"""PostgreSQL, the gate's first dialect: the catalog, relfilenodes, `LOCK TABLE`, squawk.

Each method answers one question of `dialects.base.Dialect` in PostgreSQL's terms; the longer
answers have a module of their own here (`catalog.py`, `locks.py`, `squawk.py`, `bulk_fill.py`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager

from sqlalchemy import URL, Connection, create_engine, pool, text
from sqlalchemy.exc import DataError, IntegrityError

from tests.migrations.gate.dialects.base import (
    VERSION_TABLE,
    CatalogSnapshot,
    FillReport,
    GeneratedKey,
    HeldLocks,
    LintFinding,
    LockMode,
    StoredRelation,
)
from tests.migrations.gate.dialects.postgresql import (
    bulk_fill,
    catalog,
    locks,
    privileges,
    squawk,
    squawk_advice,
)

_TABLES = text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> :version_table "
    "ORDER BY 1"
)
_FOREIGN_KEYS = text(
    "SELECT child.relname, parent.relname FROM pg_constraint k "
    "JOIN pg_class child ON child.oid = k.conrelid "
    "JOIN pg_class parent ON parent.oid = k.confrelid "
    "JOIN pg_namespace n ON n.oid = child.relnamespace "
    "WHERE k.contype = 'f' AND n.nspname = 'public'"
)
_STORED_RELATIONS = text("""
SELECT c.oid, c.relname, c.relkind, pg_relation_filenode(c.oid), coalesce(t.relname, c.relname)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index x ON x.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = x.indrelid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm', 'i')
  AND coalesce(t.relname, c.relname) <> :version_table
""")
_GENERATED_KEYS = text("""
SELECT c.relname, a.attname,
       CASE WHEN a.attidentity <> '' THEN 'identity' ELSE pg_get_expr(d.adbin, d.adrelid) END
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = ANY(:tables)
  AND a.attnum > 0 AND NOT a.attisdropped
  AND (a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%')
ORDER BY 1, 2
""")
# This project's env.py never blocks inside pg_advisory_lock(): it polls pg_try_advisory_lock()
# between commits, and while it polls its application_name says so. An env.py that blocks
# instead shows as an ungranted advisory lock in pg_locks; either counts as waiting.
_MIGRATION_LOCK_WAITERS = text("""
SELECT a.pid,
       l.pid IS NOT NULL
       OR a.application_name = 'alembic: waiting for the migration lock',
       coalesce(a.query, '')
FROM pg_stat_activity a
LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND NOT l.granted
WHERE a.datname = :database AND a.pid <> pg_backend_pid()
""")


class PostgreSQL:
    """`Dialect` for PostgreSQL 11 and later, schema `public`."""

    name = "postgresql"
    linter = "squawk"
    app_privileges_advice = privileges.APP_PRIVILEGES_ADVICE
    row_address: str | None = "ctid"
    lint_waivers = "squawk_waivers"
    migration_lock = "a session-level advisory lock, polled with pg_try_advisory_lock()"
    exclusive_lock = locks.ACCESS_EXCLUSIVE
    lock_hold_advice = (
        "keep only metadata changes under ACCESS EXCLUSIVE (a column with a constant default, "
        "not a type change that rewrites), build indexes CONCURRENTLY, add constraints NOT VALID "
        "and VALIDATE them in autocommit_block(), backfill in batches outside the DDL "
        "transaction, or split the revision"
    )
    transactional_ddl = True

    def snapshot(self, connection: Connection) -> CatalogSnapshot:
        """The catalog of schema public (`catalog.py`)."""
        return catalog.take_snapshot(connection)

    def stored_relations(self, connection: Connection) -> dict[int, StoredRelation]:
        """Tables, materialized views and indexes by OID, with their relfilenode."""
        rows = connection.execute(_STORED_RELATIONS, {"version_table": VERSION_TABLE})
        return {
            int(oid): StoredRelation(name, kind, int(filenode or 0), table)
            for oid, name, kind, filenode, table in rows
        }

    def user_tables(self, connection: Connection) -> list[str]:
        """Ordinary and partitioned tables of public, but alembic_version."""
        return [str(name) for name in connection.scalars(_TABLES, {"version_table": VERSION_TABLE})]

    def foreign_keys(self, connection: Connection) -> list[tuple[str, str]]:
        """(child, parent) of every foreign key of public."""
        return [(str(child), str(parent)) for child, parent in connection.execute(_FOREIGN_KEYS)]

    def current_revision(self, connection: Connection) -> str | None:
        """`alembic_version`'s row, or None."""
        exists = connection.scalar(
            text("SELECT to_regclass(:name)"), {"name": f"public.{VERSION_TABLE}"}
        )
        if exists is None:
            return None
        version = connection.scalar(text(f"SELECT max(version_num) FROM {VERSION_TABLE}"))
        return None if version is None else str(version)

    def empty_schema(self, url: URL) -> None:
        """Schema public dropped and recreated: milliseconds, where `CREATE DATABASE` forces a
        checkpoint (everything the gate compares lives in public, alembic_version included)."""
        engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        finally:
            engine.dispose()

    def empty_tables(self, connection: Connection, tables: Collection[str] | None) -> None:
        """One `TRUNCATE … RESTART IDENTITY CASCADE`."""
        quote = connection.dialect.identifier_preparer.quote
        names = [
            quote(name) for name in self.user_tables(connection) if tables is None or name in tables
        ]
        if names:
            connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))

    def bulk_fill(
        self, connection: Connection, rows: int, only: Collection[str] | None
    ) -> FillReport:
        """`INSERT … SELECT … FROM generate_series()`, values by type category (`bulk_fill.py`)."""
        return bulk_fill.bulk_fill(connection, rows, only)

    def hold_locks(
        self, url: URL, tables: Sequence[str], mode: LockMode, *, patience: float
    ) -> AbstractContextManager[HeldLocks]:
        """`LOCK TABLE` in another session (`locks.py`)."""
        return locks.held_locks(url, tables, mode, patience=patience)

    def is_lock_timeout(self, error: BaseException | None) -> bool:
        """SQLSTATE 55P03."""
        return locks.is_lock_timeout(error)

    def sessions_waiting_for_migration_lock(
        self, connection: Connection, database: str
    ) -> list[tuple[int, bool, str]]:
        """From pg_stat_activity and pg_locks."""
        rows = connection.execute(_MIGRATION_LOCK_WAITERS, {"database": database})
        return [(int(pid), bool(waits), str(query)) for pid, waits, query in rows]

    def generated_keys(self, connection: Connection, tables: Collection[str]) -> list[GeneratedKey]:
        """Identity columns, and columns whose default calls `nextval()` (serial)."""
        rows = connection.execute(_GENERATED_KEYS, {"tables": list(tables)})
        return [GeneratedKey(table=t, column=c, how=h) for t, c, h in rows]

    def autogenerate_noise(self, operation: object) -> bool:  # noqa: ARG002 (protocol)
        """None known: what autogenerate proposes on PostgreSQL is a difference."""
        return False

    def refuses_row(self, error: BaseException) -> bool:
        """An IntegrityError or DataError (classes 23 and 22): psycopg2 maps every one."""
        return isinstance(error, (IntegrityError, DataError))

    def is_duplicate_key(self, error: BaseException, column: str) -> bool:
        """SQLSTATE 23505 with `DETAIL: Key (column)=(…) already exists.`"""
        original = getattr(error, "orig", error)
        if getattr(original, "pgcode", None) != "23505":
            return False
        detail = getattr(getattr(original, "diag", None), "message_detail", None) or ""
        return detail.startswith(f"Key ({column})=")

    def lint(self, files: Mapping[str, str]) -> list[LintFinding]:
        """squawk, for the target PostgreSQL version (`squawk.py`)."""
        return squawk.run_squawk(files)

    def knows_lint_rule(self, rule: str) -> bool:
        """Asked of the squawk binary."""
        return squawk.is_squawk_rule(rule)

    def lint_rule_names(self) -> Collection[str]:
        """The squawk rules the gate has advice for (`squawk_advice.py`)."""
        return squawk_advice.ADVICE.keys()

    def lint_advice(self, rule: str) -> str | None:
        """strong_migrations-style advice (`squawk_advice.py`)."""
        return squawk_advice.ADVICE.get(rule)

    def stops_every_query(self, mode: str) -> bool:
        """ACCESS EXCLUSIVE, the one mode that conflicts with ACCESS SHARE (any SELECT)."""
        return mode == locks.ACCESS_EXCLUSIVE

    def relation_locks(self, connection: Connection) -> list[tuple[str, str]]:
        """From pg_locks, named as `LOCK TABLE` names the modes (`locks.py`)."""
        return locks.relation_locks(connection)

    def prepare_app_role(self, connection: Connection) -> None:
        """`CREATE ROLE` if missing, grants and default privileges (`privileges.py`)."""
        privileges.prepare_app_role(connection)

    def acting_as_app_role(self, connection: Connection) -> AbstractContextManager[Connection]:
        """`SET LOCAL ROLE` (`privileges.py`): the user must be a superuser or a member."""
        return privileges.acting_as_app_role(connection)

    def missing_app_privileges(
        self, connection: Connection, tables: list[str]
    ) -> dict[str, list[str]]:
        """From `has_table_privilege` and `has_sequence_privilege` (`privileges.py`)."""
        return privileges.missing_privileges(connection, tables)

    def row_security(self, connection: Connection, tables: list[str]) -> dict[str, str]:
        """From `pg_class.relrowsecurity` and `pg_policy`."""
        return privileges.row_security(connection, tables)

    def is_insufficient_privilege(self, error: BaseException) -> bool:
        """SQLSTATE 42501."""
        return privileges.is_insufficient_privilege(error)
