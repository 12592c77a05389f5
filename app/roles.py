"""Least privilege: the role that migrates owns the schema, the role that serves only uses it.

`items_owner` runs the migrations and owns every table, sequence and type they create.
`items_app` is what the API connects as: SELECT, INSERT, UPDATE and DELETE on the tables, USAGE
and SELECT on the sequences, and nothing else, so no request, bug or injection can drop, alter or
create anything. It gets those rights on tables that do not exist yet through
`ALTER DEFAULT PRIVILEGES FOR ROLE items_owner`: a new revision's table is usable by the app the
moment it is created, with no GRANT in the revision (the migration gate's check 19 proves that
for every revision).

`setup_statements` is the SQL, for the embedded server (`app.serve`) and for the README's
"Roles" section; on a real server a DBA runs it once, with passwords of their own.
"""

from __future__ import annotations

OWNER_ROLE = "items_owner"
"""Runs `alembic upgrade`; owns the schema (`MIGRATION_DATABASE_URL`)."""
APP_ROLE = "items_app"
"""Serves the API; reads and writes rows, nothing else (`DATABASE_URL`)."""
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
"""What the app may do on every table."""
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT")
"""What the app may do on every sequence (`nextval()` for serial keys needs USAGE)."""


def default_privilege_statements(owner: str = OWNER_ROLE, app: str = APP_ROLE) -> list[str]:
    """`ALTER DEFAULT PRIVILEGES`: what `app` gets on each table and sequence `owner` creates."""
    return [
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT {', '.join(TABLE_PRIVILEGES)} ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT {', '.join(SEQUENCE_PRIVILEGES)} ON SEQUENCES TO {app}",
    ]


def grant_statements(database: str, owner: str = OWNER_ROLE, app: str = APP_ROLE) -> list[str]:
    """Run as a superuser (or the database's owner) in `database`, after the roles exist.

    The schema belongs to `owner`, so migrations can create in it; PUBLIC may not create there
    and `app` may only use it. Tables that already exist get the app's grants now; those
    created later get them from the default privileges. Every statement is idempotent.
    """
    return [
        f'ALTER DATABASE "{database}" OWNER TO {owner}',
        f'REVOKE CREATE, TEMPORARY ON DATABASE "{database}" FROM PUBLIC',
        f"ALTER SCHEMA public OWNER TO {owner}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        *default_privilege_statements(owner, app),
        *app_grant_statements(database, app),
    ]


def app_grant_statements(database: str, app: str = APP_ROLE) -> list[str]:
    """What `app` needs on what exists now: connect, use schema public, rows and sequences."""
    return [
        f'GRANT CONNECT ON DATABASE "{database}" TO {app}',
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"GRANT {', '.join(TABLE_PRIVILEGES)} ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT {', '.join(SEQUENCE_PRIVILEGES)} ON ALL SEQUENCES IN SCHEMA public TO {app}",
    ]


CREATE_ROLE_IF_MISSING = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} {options};
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another session created it between the test and the CREATE
END
$$
"""
"""Creates role `{role}` (`{options}`: `LOGIN`, `NOLOGIN`) unless the cluster has it; safe when
two sessions race."""


ADOPT_OBJECTS = """
DO $$
DECLARE
    object record;
BEGIN
    FOR object IN
        SELECT format('ALTER %s %s OWNER TO {owner}',
                      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                     WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                      c.oid::regclass) AS statement
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> '{owner}'::regrole
          -- a serial or identity sequence follows its table
          AND NOT EXISTS (SELECT FROM pg_depend d
                          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                            AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
        UNION ALL
        SELECT format('ALTER %s %s OWNER TO {owner}',
                      CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype)
        FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')
          AND t.typowner <> '{owner}'::regrole
    LOOP
        EXECUTE object.statement;
    END LOOP;
END
$$
"""
"""Hands every table, view, sequence, enum and domain of public to `{owner}`.

For a database that was migrated as another role before the roles existed (an embedded
`.pgdata` from before least privilege): `items_owner` must own what it migrates, the version
table included. Functions and triggers' functions are left to a DBA.
"""


def mariadb_grant_statements(
    database: str, owner: str = OWNER_ROLE, app: str = APP_ROLE
) -> list[str]:
    """MariaDB's setup, run once by an admin after `CREATE USER` for both (README, Roles).

    MariaDB has no owner of a table and no default privileges: a grant on the whole database
    is what covers tables created later, so the app's rights need no GRANT in any revision.
    """
    return [
        f"GRANT ALL PRIVILEGES ON `{database}`.* TO {owner}",
        f"GRANT {', '.join(TABLE_PRIVILEGES)} ON `{database}`.* TO {app}",
    ]
