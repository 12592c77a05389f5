"""The catalog snapshot sees every kind of object the no-trace and drift checks promise to."""

from __future__ import annotations

import pytest
from sqlalchemy import URL, create_engine, pool, text

from tests.migrations.gate.engine.snapshots import snapshot_of

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE SEQUENCE tickets START 100 INCREMENT 5;
CREATE TABLE things (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label varchar(20) NOT NULL DEFAULT 'x',
    feeling mood,
    size positive,
    doubled integer GENERATED ALWAYS AS (size * 2) STORED
);
COMMENT ON COLUMN things.label IS 'shown to users';
ALTER TABLE things ADD CONSTRAINT ck_things_label CHECK (label <> '') NOT VALID;
CREATE INDEX ix_things_label ON things (lower(label));
CREATE VIEW happy_things AS SELECT id FROM things WHERE feeling = 'happy';
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER things_touch BEFORE UPDATE ON things FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
"""

EXPECTED = [
    "type mood AS ENUM ('sad', 'ok', 'happy')",
    "domain positive AS integer CONSTRAINT positive_check CHECK (VALUE > 0)",
    "sequence tickets AS bigint START 100 INCREMENT 5 MINVALUE 1 "
    "MAXVALUE 9223372036854775807 CACHE 1 NO CYCLE",
    "sequence things_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 "
    "MAXVALUE 9223372036854775807 CACHE 1 NO CYCLE OWNED BY things.id (identity)",
    "table things",
    "table things: column id bigint NOT NULL GENERATED ALWAYS AS IDENTITY",
    "table things: column label character varying(20) NOT NULL "
    "DEFAULT 'x' COMMENT 'shown to users'",
    "table things: column feeling mood NULL",
    "table things: column doubled integer NULL GENERATED ALWAYS AS (((size)::integer * 2)) STORED",
    "view happy_things: column id bigint NULL",
    "table things: constraint ck_things_label CHECK (label::text <> ''::text) "
    "NOT VALID [not validated]",
    "table things: index ix_things_label CREATE INDEX ix_things_label ON public.things "
    "USING btree (lower((label)::text))",
    "table things: trigger things_touch CREATE TRIGGER things_touch BEFORE UPDATE ON things "
    "FOR EACH ROW EXECUTE FUNCTION touch()",
]

pytestmark = pytest.mark.postgresql_only(
    "the PostgreSQL catalog snapshot (MariaDB's: test_mariadb_dialect.py)"
)


def test_snapshot_lists_every_object(scratch_database_url: URL) -> None:
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        connection.execute(text(SCHEMA))
    engine.dispose()
    lines = snapshot_of(scratch_database_url).lines
    for expected in EXPECTED:
        assert expected in lines, "\n".join(lines)
    assert any(line.startswith("function touch(): CREATE OR REPLACE FUNCTION") for line in lines)
    (view,) = (line for line in lines if line.startswith("view happy_things AS SELECT"))
    assert "'happy'::mood" in view
    assert not any("alembic_version" in line for line in lines)
    assert list(lines) == sorted(lines)


def test_snapshots_differ_exactly_where_the_schema_does(scratch_database_url: URL) -> None:
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n integer)"))
    before = snapshot_of(scratch_database_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE t ALTER COLUMN n SET NOT NULL"))
    engine.dispose()
    after = snapshot_of(scratch_database_url)
    assert before.diff(after, before="a", after="b") == [
        "--- a",
        "+++ b",
        "@@ -1,2 +1,2 @@",
        " table t",
        "-table t: column n integer NULL",
        "+table t: column n integer NOT NULL",
    ]


SAME_VALUES = """
CREATE TABLE widened (q integer NOT NULL DEFAULT 0, s varchar(20) DEFAULT 'x',
    m integer DEFAULT -1, r real DEFAULT 0, b boolean DEFAULT false, at timestamptz DEFAULT now());
ALTER TABLE widened ALTER COLUMN q TYPE bigint;
CREATE TABLE built (q bigint NOT NULL DEFAULT '0', s varchar(20) DEFAULT 'x'::text,
    m integer DEFAULT '-1', r real DEFAULT '0', b boolean DEFAULT 'false',
    at timestamptz DEFAULT now());
CREATE TABLE other (q bigint NOT NULL DEFAULT 1, s varchar(20) DEFAULT 'y',
    m integer DEFAULT 1, r real DEFAULT 0.5, b boolean DEFAULT true,
    at timestamptz DEFAULT clock_timestamp());
"""


def _columns(lines: tuple[str, ...], table: str) -> list[str]:
    return [line.removeprefix(f"table {table}: ") for line in lines if f"{table}: column" in line]


def test_constant_defaults_compare_by_value(scratch_database_url: URL) -> None:
    """`DEFAULT 0` left by widening equals a new bigint's `'0'::bigint`; 0 and 1 still differ.

    PostgreSQL prints the same constant differently by how it was written (`0`, `'0'::bigint`,
    `'x'::character varying`, `'x'::text`), so the text alone would report drift that is not.
    Expressions (`now()`, `clock_timestamp()`) are compared as written.
    """
    engine = create_engine(scratch_database_url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        connection.execute(text(SAME_VALUES))
        raw = connection.execute(
            text(
                "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef "
                "WHERE adrelid = 'built'::regclass"
            )
        ).scalars()
        assert "'0'::bigint" in list(raw)  # what the text comparison tripped over
    engine.dispose()
    lines = snapshot_of(scratch_database_url).lines
    assert _columns(lines, "widened") == _columns(lines, "built")
    assert "column q bigint NOT NULL DEFAULT 0" in _columns(lines, "built")
    assert "column s character varying(20) NULL DEFAULT 'x'" in _columns(lines, "built")
    assert "column at timestamp with time zone NULL DEFAULT now()" in _columns(lines, "built")
    different = set(_columns(lines, "other")) - set(_columns(lines, "built"))
    assert len(different) == 6, different
