"""The app user in the gate's MariaDB databases: who it is, what it is granted, what it lacks.

MariaDB has no default privileges and no owner of a table; its counterpart of PostgreSQL's
`ALTER DEFAULT PRIVILEGES` is a grant on the whole database: `GRANT SELECT, INSERT, UPDATE,
DELETE ON items.* TO items_app` covers every table a later revision creates there. That is the
setup production uses (README, Roles on MariaDB), and each working database of the gate gets it.
A revision that takes a privilege away (a REVOKE), or hands the app user one that changes the
schema (ALTER, DROP, …: what least privilege takes away, as owning a table does on PostgreSQL),
then fails check 19 (`checks/app_privileges.py`).

MariaDB cannot switch a connection to another user (SET ROLE only adds a role's privileges to
the user's own), so the probe runs on a connection of its own as `items_app`, in a transaction
rolled back at the end. The user is server-wide and has a fixed password known to the test
code: it exists only on servers the suite was given to create and drop databases on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.exc import DBAPIError

from app.roles import APP_ROLE, TABLE_PRIVILEGES

APP_HOST = "%"
APP_ACCOUNT = f"'{APP_ROLE}'@'{APP_HOST}'"
GATE_APP_PASSWORD = "gate-only-items-app"  # noqa: S105 - a test server's probe user
SCHEMA_CHANGING = ("ALTER", "DROP", "INDEX", "TRIGGER", "CREATE")
"""Table privileges that let a user change a table, not only its rows."""
_GRANTED = text("""
SELECT NULL, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = :grantee
UNION ALL
SELECT NULL, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES
WHERE GRANTEE = :grantee AND TABLE_SCHEMA = DATABASE()
UNION ALL
SELECT TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES
WHERE GRANTEE = :grantee AND TABLE_SCHEMA = DATABASE()
""")
USER_EXISTS = 1396
"""ER_CANNOT_USER: CREATE USER lost a race with another worker creating the same user."""
APP_PRIVILEGES_ADVICE = (
    "the app user (items_app) must be able to SELECT, INSERT, UPDATE and DELETE in every table, "
    "and do nothing else to them. It gets that from one grant on the whole database, which "
    "covers every table created later (`GRANT SELECT, INSERT, UPDATE, DELETE ON items.* TO "
    'items_app`, README "Roles"): do not REVOKE from items_app in a revision, nor GRANT it '
    "ALTER, DROP, INDEX, TRIGGER or CREATE; a table in another database needs its own grant"
)


_TABLE_GRANTS = text(
    "SELECT DISTINCT TABLE_NAME FROM information_schema.TABLE_PRIVILEGES "
    "WHERE GRANTEE = :grantee AND TABLE_SCHEMA = DATABASE()"
)
_SCHEMA_GRANTS = text(
    "SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES "
    "WHERE GRANTEE = :grantee AND TABLE_SCHEMA = DATABASE()"
)


def prepare_app_user(connection: Connection) -> None:
    """Create the app user if the server lacks it; grant it the rows of this database, and
    nothing else here (commits).

    Grants outlive the tables and databases they name on MariaDB, so what an earlier run left
    on this database (a revision's REVOKE or table GRANT) is taken back first: the setup is
    production's, exactly. Other databases' grants are left alone (parallel workers use them).
    A worker that loses the race to create the user goes on.
    """
    try:
        connection.execute(
            text(f"CREATE USER IF NOT EXISTS {APP_ACCOUNT} IDENTIFIED BY :password"),
            {"password": GATE_APP_PASSWORD},
        )
    except DBAPIError as error:
        if getattr(error.orig, "args", (None,))[0] != USER_EXISTS:
            raise
    connection.execute(  # a user left by something else may have another password
        text(f"ALTER USER {APP_ACCOUNT} IDENTIFIED BY :password"), {"password": GATE_APP_PASSWORD}
    )
    grantee = {"grantee": APP_ACCOUNT}
    quote = connection.dialect.identifier_preparer.quote
    for (table,) in connection.execute(_TABLE_GRANTS, grantee).all():
        connection.execute(text(f"REVOKE ALL PRIVILEGES ON {quote(str(table))} FROM {APP_ACCOUNT}"))
    if connection.scalar(_SCHEMA_GRANTS, grantee):
        connection.execute(text(f"REVOKE ALL PRIVILEGES ON * FROM {APP_ACCOUNT}"))
    connection.execute(text(f"GRANT {', '.join(TABLE_PRIVILEGES)} ON * TO {APP_ACCOUNT}"))
    connection.commit()


@contextmanager
def acting_as_app_user(connection: Connection) -> Iterator[Connection]:
    """A connection of `items_app` to `connection`'s database, its work rolled back at exit."""
    url = connection.engine.url.set(username=APP_ROLE, password=GATE_APP_PASSWORD)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as app:
            app.begin()
            try:
                yield app
            finally:
                app.rollback()
    finally:
        engine.dispose()


def missing_privileges(connection: Connection, tables: list[str]) -> dict[str, list[str]]:
    """For each of `tables` the app user cannot fully use, or could change: what is wrong."""
    everywhere: set[str] = set()
    by_table: dict[str, set[str]] = {}
    for table, privilege in connection.execute(_GRANTED, {"grantee": APP_ACCOUNT}):
        (everywhere if table is None else by_table.setdefault(str(table), set())).add(
            str(privilege)
        )
    wrong: dict[str, list[str]] = {}
    for table in tables:
        granted = everywhere | by_table.get(table, set())
        lacks = [privilege for privilege in TABLE_PRIVILEGES if privilege not in granted]
        if lacks:
            wrong.setdefault(table, []).append(f"lacks {', '.join(lacks)}")
        changes = [privilege for privilege in SCHEMA_CHANGING if privilege in granted]
        if changes:
            wrong.setdefault(table, []).append(
                f"is granted {', '.join(changes)}, so the app user could change the table"
            )
    return wrong
