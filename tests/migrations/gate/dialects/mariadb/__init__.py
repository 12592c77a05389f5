"""MariaDB (10.6 and later), the gate's second dialect: information_schema, AUTO_INCREMENT.

Every question the checks ask (the catalog snapshot, tables, foreign keys, the version table,
emptying, bulk fill, generated keys, duplicate keys, InnoDB table ids for rebuilds, holding
metadata locks from another session, lock-timeout errors, sampling metadata locks, who waits for
env.py's GET_LOCK, the unsafe-DDL rules, the app user's privileges) is answered here in
MariaDB's terms, one module per job.
"""

# ruff: noqa: ARG002  (the Dialect protocol's signatures; unanswered questions ignore them)

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
from tests.migrations.gate.dialects.mariadb import (
    autogenerate,
    bulk_fill,
    catalog,
    contention,
    lint,
    metadata_locks,
    privileges,
    rebuilds,
)

_TABLES = text(
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
    "AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME <> :version_table ORDER BY 1"
)
_FOREIGN_KEYS = text(
    "SELECT TABLE_NAME, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
    "WHERE CONSTRAINT_SCHEMA = DATABASE()"
)
# AUTO_INCREMENT keys, and columns defaulting to a SEQUENCE's NEXTVAL(): InnoDB moves an
# AUTO_INCREMENT past the rows by itself, a sequence stays where it is (measured).
_GENERATED_KEYS = text(
    "SELECT TABLE_NAME, COLUMN_NAME, IF(EXTRA LIKE '%auto_increment%', 'auto_increment', "
    "COLUMN_DEFAULT) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
    "AND (EXTRA LIKE '%auto_increment%' OR LOWER(COLUMN_DEFAULT) LIKE 'nextval(%') "
    "ORDER BY 1, 2"
)
_OBJECTS = text("""
SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()
UNION ALL
SELECT IF(TABLE_TYPE = 'SEQUENCE', 'SEQUENCE', 'TABLE'), TABLE_NAME
FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE <> 'VIEW'
UNION ALL
SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES
WHERE ROUTINE_SCHEMA = DATABASE()
""")
# env.py takes GET_LOCK() on MariaDB; a session blocked in it shows the state 'User lock'.
_MIGRATION_LOCK_WAITERS = text(
    "SELECT ID, COALESCE(STATE, '') = 'User lock' OR COALESCE(INFO, '') LIKE '%GET_LOCK(%', "
    "COALESCE(INFO, '') FROM information_schema.PROCESSLIST "
    "WHERE DB = :database AND ID <> CONNECTION_ID()"
)
LOCK_WAIT_TIMEOUT = 1205
"""ER_LOCK_WAIT_TIMEOUT: a row lock waited past innodb_lock_wait_timeout."""
STATEMENT_TIMEOUT = 1969
"""ER_STATEMENT_TIMEOUT: `max_statement_time` ended the statement."""
CHECK_FAILED = 4025
"""ER_CONSTRAINT_FAILED: `CONSTRAINT `ck_…` failed for …` (PyMySQL: an OperationalError)."""
MYSQL_CHECK_VIOLATED = 3819
"""MySQL 8's ER_CHECK_CONSTRAINT_VIOLATED, for a `mysql://` server."""
OUT_OF_RANGE = 167
"""HA_ERR_AUTOINC_ERANGE, "Out of range value for column": e.g. 0 or a negative number for an
AUTO_INCREMENT key (PyMySQL: an InternalError)."""
DUPLICATE_ENTRY = 1062
"""ER_DUP_ENTRY: `Duplicate entry '…' for key '…'`."""


def _error_code(error: BaseException | None) -> int | None:
    original = getattr(error, "orig", error)
    arguments = getattr(original, "args", ())
    return arguments[0] if arguments and isinstance(arguments[0], int) else None


class MariaDB:
    """`Dialect` for MariaDB; the schema is the URL's database (`DATABASE()`)."""

    name = "mariadb"
    linter = "mariadb-lint"
    lint_waivers = "mariadb_lint_waivers"
    migration_lock = "GET_LOCK() on a named user lock, held by env.py's session"
    exclusive_lock = "MDL_EXCLUSIVE or MDL_SHARED_NO_READ_WRITE"
    lock_hold_advice = (
        "keep the metadata lock short: no LOCK TABLES around a backfill (batch it in short "
        "transactions instead), ALTER TABLE with ALGORITHM=INSTANT or INPLACE and LOCK=NONE so "
        "the server refuses rather than locks, never LOCK=EXCLUSIVE, or split the revision"
    )
    transactional_ddl = False
    app_privileges_advice = privileges.APP_PRIVILEGES_ADVICE
    row_address: str | None = None

    def snapshot(self, connection: Connection) -> CatalogSnapshot:
        """information_schema of the current database (`catalog.py`)."""
        return catalog.take_snapshot(connection)

    def stored_relations(self, connection: Connection) -> dict[int, StoredRelation]:
        """InnoDB tables with their table id as storage, keyed by name (`rebuilds.py`)."""
        return rebuilds.stored_tables(connection)

    def user_tables(self, connection: Connection) -> list[str]:
        """Base tables of the database, but alembic_version (sequences are not tables here)."""
        rows = connection.scalars(_TABLES, {"version_table": VERSION_TABLE})
        return [str(name) for name in rows]

    def foreign_keys(self, connection: Connection) -> list[tuple[str, str]]:
        """(child, parent) from REFERENTIAL_CONSTRAINTS."""
        return [(str(child), str(parent)) for child, parent in connection.execute(_FOREIGN_KEYS)]

    def current_revision(self, connection: Connection) -> str | None:
        """`alembic_version`'s row, or None."""
        exists = connection.scalar(
            text(
                "SELECT COUNT(*) FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :name"
            ),
            {"name": VERSION_TABLE},
        )
        if not exists:
            return None
        version = connection.scalar(text(f"SELECT MAX(version_num) FROM {VERSION_TABLE}"))
        return None if version is None else str(version)

    def empty_schema(self, url: URL) -> None:
        """Every view, table, sequence and routine dropped, the database itself kept.

        Not `DROP DATABASE` + `CREATE DATABASE`: a pooled connection of the walk whose default
        database that was would be left with none ("No database selected").
        """
        engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                quote = connection.dialect.identifier_preparer.quote
                objects = [(str(kind), str(name)) for kind, name in connection.execute(_OBJECTS)]
                connection.execute(text("SET SESSION foreign_key_checks = 0"))
                for kind, name in objects:
                    connection.execute(text(f"DROP {kind} IF EXISTS {quote(name)}"))
        finally:
            engine.dispose()

    def empty_tables(self, connection: Connection, tables: Collection[str] | None) -> None:
        """`TRUNCATE` each (it restarts AUTO_INCREMENT), foreign key checks off meanwhile.

        TRUNCATE commits (it is DDL on MariaDB); nothing the gate empties is in a transaction.
        """
        quote = connection.dialect.identifier_preparer.quote
        names = [n for n in self.user_tables(connection) if tables is None or n in tables]
        if not names:
            return
        connection.execute(text("SET SESSION foreign_key_checks = 0"))
        try:
            for name in names:
                connection.execute(text(f"TRUNCATE TABLE {quote(name)}"))
        finally:
            connection.execute(text("SET SESSION foreign_key_checks = 1"))

    def bulk_fill(
        self, connection: Connection, rows: int, only: Collection[str] | None
    ) -> FillReport:
        """`INSERT … SELECT … FROM seq_1_to_<rows>` per table (`bulk_fill.py`)."""
        return bulk_fill.bulk_fill(connection, rows, only)

    def hold_locks(
        self, url: URL, tables: Sequence[str], mode: LockMode, *, patience: float
    ) -> AbstractContextManager[HeldLocks]:
        """An open transaction that read the tables, KILLed by a watchdog (`contention.py`)."""
        return contention.held_locks(url, tables, mode, patience=patience)

    def is_lock_timeout(self, error: BaseException | None) -> bool:
        """ER_LOCK_WAIT_TIMEOUT (lock_wait_timeout, innodb_lock_wait_timeout) or
        ER_STATEMENT_TIMEOUT (max_statement_time)."""
        return _error_code(error) in (LOCK_WAIT_TIMEOUT, STATEMENT_TIMEOUT)

    def sessions_waiting_for_migration_lock(
        self, connection: Connection, database: str
    ) -> list[tuple[int, bool, str]]:
        """From PROCESSLIST: a session inside GET_LOCK() is in state 'User lock'."""
        rows = connection.execute(_MIGRATION_LOCK_WAITERS, {"database": database})
        return [(int(pid), bool(waits), str(query)) for pid, waits, query in rows]

    def generated_keys(self, connection: Connection, tables: Collection[str]) -> list[GeneratedKey]:
        """AUTO_INCREMENT columns of `tables`, and those defaulting to `NEXTVAL(sequence)`."""
        rows = connection.execute(_GENERATED_KEYS)
        return [
            GeneratedKey(table=str(t), column=str(c), how=str(how))
            for t, c, how in rows
            if t in tables
        ]

    def autogenerate_noise(self, operation: object) -> bool:
        """An `Identity` re-added to an AUTO_INCREMENT column (`autogenerate.py`)."""
        return autogenerate.is_noise(operation)

    def refuses_row(self, error: BaseException) -> bool:
        """An IntegrityError or DataError, or a failed CHECK (ER_CONSTRAINT_FAILED, 4025),
        which PyMySQL raises as an OperationalError; and a float MariaDB cannot store at all
        (inf, nan), which PyMySQL refuses before sending the row."""
        if isinstance(error, (IntegrityError, DataError)):
            return True
        if "can not be used with MySQL" in str(getattr(error, "orig", error)):
            return True
        return _error_code(error) in (CHECK_FAILED, MYSQL_CHECK_VIOLATED, OUT_OF_RANGE)

    def is_duplicate_key(self, error: BaseException, column: str) -> bool:
        """ER_DUP_ENTRY on the primary key or on a key named for `column`.

        MariaDB names the key, not the column (`for key 'PRIMARY'`); the generated keys the
        gate asks about are primary keys.
        """
        if _error_code(error) != DUPLICATE_ENTRY:
            return False
        message = str(getattr(error, "orig", error))
        return "for key 'PRIMARY'" in message or f"{column}'" in message

    def lint(self, files: Mapping[str, str]) -> list[LintFinding]:
        """The gate's own MariaDB rules over sqlglot's MySQL tokens (`lint.py`)."""
        return lint.lint(files)

    def knows_lint_rule(self, rule: str) -> bool:
        """One of `lint.RULES`."""
        return rule in lint.RULES

    def lint_rule_names(self) -> Collection[str]:
        """`lint.RULES`."""
        return lint.RULES.keys()

    def lint_advice(self, rule: str) -> str | None:
        """None: each finding's help already says the safe way (`lint.RULES`)."""
        return None

    def stops_every_query(self, mode: str) -> bool:
        """MDL_EXCLUSIVE and MDL_SHARED_NO_READ_WRITE (`metadata_locks.py`, measured)."""
        return mode in metadata_locks.STOPS_EVERY_QUERY

    def relation_locks(self, connection: Connection) -> list[tuple[str, str]]:
        """Table metadata locks of other sessions (`metadata_locks.py`; loads its plugin)."""
        return metadata_locks.relation_locks(connection)

    def prepare_app_role(self, connection: Connection) -> None:
        """The `items_app` user, granted the rows of this whole database (`privileges.py`)."""
        privileges.prepare_app_user(connection)

    def acting_as_app_role(self, connection: Connection) -> AbstractContextManager[Connection]:
        """A connection of its own as `items_app`, rolled back at exit (`privileges.py`)."""
        return privileges.acting_as_app_user(connection)

    def missing_app_privileges(
        self, connection: Connection, tables: list[str]
    ) -> dict[str, list[str]]:
        """From information_schema's user, schema and table privileges (`privileges.py`)."""
        return privileges.missing_privileges(connection, tables)

    def row_security(self, connection: Connection, tables: list[str]) -> dict[str, str]:
        """MariaDB has no row-level security: no table has it on."""
        return {}

    def is_insufficient_privilege(self, error: BaseException) -> bool:
        """ER_TABLEACCESS_DENIED_ERROR (1142), ER_COLUMNACCESS_DENIED_ERROR (1143) or
        ER_DBACCESS_DENIED_ERROR (1044)."""
        return _error_code(error) in (1142, 1143, 1044)
