"""The safe way to make the same change, per squawk rule: what the unsafe-DDL check prints.

strong_migrations-style advice in PostgreSQL's terms (CONCURRENTLY, NOT VALID, autocommit
blocks); squawk's own `help` says what is wrong, this says what to write instead.
"""

from __future__ import annotations

ADVICE: dict[str, str] = {
    "adding-required-field": (
        "add the column nullable, or with a constant server_default (metadata-only on "
        "PostgreSQL 11+); backfill existing rows in batches; then enforce NOT NULL"
    ),
    "adding-field-with-default": (
        "a volatile default (random(), clock_timestamp(), gen_random_uuid()) rewrites the whole "
        "table under ACCESS EXCLUSIVE: add the column without it, backfill in batches, then "
        "ALTER COLUMN … SET DEFAULT for new rows"
    ),
    "require-concurrent-index-creation": (
        "build it with op.create_index(..., postgresql_concurrently=True) inside `with "
        "op.get_context().autocommit_block():` (drop it concurrently with if_exists=True first, "
        "so a rerun replaces an INVALID index left by a failed build)"
    ),
    "require-concurrent-index-deletion": (
        "op.drop_index(..., postgresql_concurrently=True) inside autocommit_block()"
    ),
    "ban-concurrent-index-creation-in-transaction": (
        "CONCURRENTLY cannot run in a transaction: put it inside "
        "`with op.get_context().autocommit_block():`"
    ),
    "changing-column-type": (
        "this rewrites the table and its indexes under ACCESS EXCLUSIVE: add a new column of "
        "the new type, write both, backfill in batches, switch reads, then drop the old one "
        "(varchar(n) -> varchar(m > n) and varchar -> text do not rewrite)"
    ),
    "adding-not-nullable-field": (
        "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it outside the DDL transaction, then "
        "SET NOT NULL (PostgreSQL 12+ skips the scan when a valid CHECK proves it)"
    ),
    "constraint-missing-not-valid": (
        "add it with postgresql_not_valid=True, then VALIDATE CONSTRAINT in an "
        "autocommit_block() or a later revision (validation blocks no reads or writes)"
    ),
    "adding-foreign-key-constraint": ("add the foreign key NOT VALID, then VALIDATE it separately"),
    "disallowed-unique-constraint": (
        "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE USING INDEX"
    ),
    "prefer-robust-stmts": (
        "a revision that commits part-way (autocommit_block) must be safe to rerun after a "
        "failure: use if_not_exists=True / if_exists=True, and drop-then-add for constraints "
        "and concurrent indexes"
    ),
    "require-lock-timeout": (
        "alembic/env.py must emit SET lock_timeout before any DDL (context.execute, so offline "
        "SQL shows it too); never RESET it inside a revision"
    ),
    "require-statement-timeout": (
        "alembic/env.py must emit SET statement_timeout before any DDL; never RESET it inside "
        "a revision"
    ),
    "ban-drop-column": (
        "stop reading and writing the column in a deployed release first, then drop it"
    ),
    "ban-drop-table": "stop using the table in a deployed release first, then drop it",
    "renaming-column": ("add the new column, write both, backfill, switch reads, drop the old one"),
    "renaming-table": "create the new table (or a view), migrate clients, then drop the old one",
    "prefer-bigint-over-int": "use BigInteger for anything that counts up without a bound",
    "prefer-text-field": "use Text with a CHECK (char_length(col) <= n) instead of String(n)",
}
