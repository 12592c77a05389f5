"""The app role in the gate's databases: who it is, what it is granted, what it lacks.

Production migrates as `items_owner` and serves as `items_app` (`app/roles.py`); the app gets
its rights on new tables from `ALTER DEFAULT PRIVILEGES FOR ROLE items_owner`, set once by
whoever sets the server up. The gate migrates as its own admin user instead, so each working
database gets the same setup for that user: the default privileges of *the migrating role*,
exactly what production relies on. A revision whose tables the app cannot use under that setup
(a table created as another role, a REVOKE, row-level security without a policy) is then the
revision's defect, and check 19 (`checks/app_privileges.py`) names it.

Roles are cluster-wide: parallel workers (and other runs on the same server) may create the
role at the same moment, so creating it tolerates losing that race.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from app.roles import APP_ROLE, CREATE_ROLE_IF_MISSING, TABLE_PRIVILEGES

APP_PRIVILEGES_ADVICE = (
    "the app role (items_app) must be able to SELECT, INSERT, UPDATE and DELETE in every table "
    "and USE its sequences, and own none of them. Create tables as the migrating role "
    "(items_owner), whose default privileges grant exactly that (`ALTER DEFAULT PRIVILEGES FOR "
    "ROLE items_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "
    'items_app` and `... GRANT USAGE, SELECT ON SEQUENCES TO items_app`, README "Roles"); do '
    "not REVOKE from items_app nor hand it a table (`ALTER TABLE … OWNER TO items_owner`); or "
    "grant in the revision: `GRANT SELECT, INSERT, UPDATE, DELETE ON <table> TO items_app`. With "
    "row-level security, add a policy for items_app (`CREATE POLICY … TO items_app USING (…) "
    "WITH CHECK (…)`)"
)
"""How to fix what check 19 finds, in PostgreSQL's terms (default privileges, owners, RLS)."""

_MISSING_TABLE_PRIVILEGES = text("""
SELECT c.relname, p.privilege
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN unnest(CAST(:privileges AS text[])) WITH ORDINALITY AS p(privilege, position)
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = ANY(:tables)
  AND NOT has_table_privilege(:role, c.oid, p.privilege)
ORDER BY c.relname, p.position
""")
# Sequences a column default calls nextval() on (serial): an INSERT needs USAGE on them.
# Identity columns need none (PostgreSQL advances their sequence without checking).
_MISSING_SEQUENCE_USAGE = text("""
SELECT DISTINCT c.relname, s.relname
FROM pg_attrdef d
JOIN pg_class c ON c.oid = d.adrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_depend dep ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid
    AND dep.refclassid = 'pg_class'::regclass
JOIN pg_class s ON s.oid = dep.refobjid AND s.relkind = 'S'
WHERE n.nspname = 'public' AND c.relname = ANY(:tables)
  -- CASE: the planner may test the privilege before the join has kept only sequences.
  AND CASE WHEN s.relkind = 'S' THEN NOT has_sequence_privilege(:role, s.oid, 'USAGE') END
ORDER BY 1, 2
""")
# A table the app role owns (or owns through a role it is a member of): it could ALTER or DROP
# it, which is exactly what least privilege takes away.
_OWNED_BY_THE_APP = text("""
SELECT c.relname, pg_get_userbyid(c.relowner)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = ANY(:tables)
  AND pg_has_role(:role, c.relowner, 'USAGE')
ORDER BY 1
""")
_ROW_SECURITY = text("""
SELECT c.relname, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relrowsecurity AND c.relname = ANY(:tables)
ORDER BY 1
""")


@contextmanager
def acting_as_app_role(connection: Connection) -> Iterator[Connection]:
    """`connection` itself, as the app role until its transaction ends (`SET LOCAL ROLE`)."""
    connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    yield connection


def prepare_app_role(connection: Connection) -> None:
    """Create the app role if the cluster lacks it and set this database up for it.

    CONNECT on the database, USAGE on schema public, and the default privileges of the
    connected (migrating) user: every table it creates in public grants the app SELECT,
    INSERT, UPDATE and DELETE, every sequence USAGE and SELECT. Idempotent; commits.
    """
    database = connection.dialect.identifier_preparer.quote(
        str(connection.scalar(text("SELECT current_database()")))
    )
    statements = [
        CREATE_ROLE_IF_MISSING.format(role=APP_ROLE, options="NOLOGIN"),
        f"GRANT CONNECT ON DATABASE {database} TO {APP_ROLE}",
        f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {', '.join(TABLE_PRIVILEGES)} "
        f"ON TABLES TO {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}",
    ]
    for statement in statements:
        connection.execute(text(statement))
    connection.commit()


def missing_privileges(connection: Connection, tables: list[str]) -> dict[str, list[str]]:
    """For each of `tables` the app role cannot fully use, or could change: what is wrong, one
    phrase each (`lacks INSERT, USAGE on sequence parts_id_seq`; `is owned by items_app …`)."""
    lacks: dict[str, list[str]] = {}
    role = {"role": APP_ROLE, "tables": tables}
    if not connection.scalar(text("SELECT has_schema_privilege(:role, 'public', 'USAGE')"), role):
        return {table: ["lacks USAGE on schema public"] for table in tables}
    privileges = {**role, "privileges": list(TABLE_PRIVILEGES)}
    for table, privilege in connection.execute(_MISSING_TABLE_PRIVILEGES, privileges):
        lacks.setdefault(str(table), []).append(str(privilege))
    for table, sequence in connection.execute(_MISSING_SEQUENCE_USAGE, role):
        lacks.setdefault(str(table), []).append(f"USAGE on sequence {sequence}")
    wrong = {table: [f"lacks {', '.join(what)}"] for table, what in lacks.items()}
    for table, owner in connection.execute(_OWNED_BY_THE_APP, role):
        wrong.setdefault(str(table), []).append(
            f"is owned by {owner}, so the app role could ALTER or DROP it"
        )
    return wrong


def row_security(connection: Connection, tables: list[str]) -> dict[str, str]:
    """Tables of `tables` with row-level security on, described (forced or not, policies)."""
    return {
        str(table): (
            f"row-level security enabled{' and forced' if forced else ''}, "
            f"{policies or 'no'} polic{'y' if policies == 1 else 'ies'}"
        )
        for table, forced, policies in connection.execute(_ROW_SECURITY, {"tables": tables})
    }


def is_insufficient_privilege(error: BaseException) -> bool:
    """SQLSTATE 42501: a missing privilege, or a row a row-level security policy refuses."""
    return getattr(getattr(error, "orig", error), "pgcode", None) == "42501"
