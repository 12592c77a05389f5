"""The one definition of "blank" that the API, the model's CHECKs and revision 1 all share, on
PostgreSQL (`btrim`) and on MariaDB (`REGEXP`) alike."""

from __future__ import annotations

import ast

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from app.models import MYSQL_FAMILY, NOT_BLANK_MARIADB, NOT_BLANK_POSTGRESQL, WHITESPACE
from tests.support.migrations import PROJECT_ROOT

FIRST_REVISION = PROJECT_ROOT / "alembic/versions/20261128_create_items_3c1d9e4a7b20.py"


def test_whitespace_is_exactly_what_python_calls_whitespace() -> None:
    everything = "".join(chr(code) for code in range(0x110000) if chr(code).isspace())
    assert everything == WHITESPACE


def test_revision_1_spells_the_same_whitespace() -> None:
    """Revisions never import app code, so the literal is copied; the copies must agree."""
    tree = ast.parse(FIRST_REVISION.read_text(encoding="utf-8"))
    literals = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(
            isinstance(target, ast.Name) and target.id == "WHITESPACE" for target in node.targets
        )
    ]
    assert literals == [WHITESPACE]


CODE_POINTS_POSTGRESQL = """
    SELECT cp FROM (
        SELECT cp, chr(cp)::varchar AS name FROM generate_series(1, 1114111) AS cp
        WHERE cp NOT BETWEEN 55296 AND 57343
    ) AS chars WHERE NOT ({rule}) ORDER BY cp
"""
"""Every code point PostgreSQL can store (not NUL, not a surrogate) that `rule` calls blank."""

CODE_POINTS_MARIADB = """
    SELECT cp FROM (
        SELECT seq AS cp, CONVERT(CHAR(seq USING utf32) USING utf8mb4) COLLATE {collation} AS name
        FROM seq_0_to_1114111 WHERE seq NOT BETWEEN 55296 AND 57343
    ) AS chars WHERE NOT ({rule}) ORDER BY cp
"""
"""The same on MariaDB (its SEQUENCE engine's `seq_0_to_1114111`), in the name column's
collation, since REGEXP follows the collation it compares in."""


def test_the_servers_rule_calls_blank_exactly_what_python_does(api_engine: Engine) -> None:
    """Run the model's rule for this server on every single-character name it can store.

    PostgreSQL's `btrim` and MariaDB's REGEXP are different code over the same `WHITESPACE`;
    this proves, on the server itself, that each leaves exactly `str.isspace()` blank.
    """
    with api_engine.connect() as connection:
        if connection.dialect.name in MYSQL_FAMILY:
            collation = connection.execute(
                text(
                    "SELECT collation_name FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND table_name = 'items' "
                    "AND column_name = 'name'"
                )
            ).scalar_one()
            query = CODE_POINTS_MARIADB.format(collation=collation, rule=NOT_BLANK_MARIADB)
        else:
            query = CODE_POINTS_POSTGRESQL.format(rule=NOT_BLANK_POSTGRESQL)
        blank = connection.execute(text(query.replace(":", r"\:"))).scalars().all()
    assert [chr(code) for code in blank] == list(WHITESPACE)


def test_the_table_refuses_every_blank_name_and_keeps_the_others(db: Connection) -> None:
    """The CHECK the migrations created, not only the expression: blank refused, rest kept."""
    insert = text("INSERT INTO items (name, price) VALUES (:name, 1)")
    for blank in [*WHITESPACE, WHITESPACE, ""]:
        with pytest.raises(DBAPIError), db.begin_nested():
            db.execute(insert, {"name": blank})
    for kept in ["a", f"{WHITESPACE}a{WHITESPACE}", "\u200b"]:  # U+200B is not whitespace
        with db.begin_nested():
            db.execute(insert, {"name": kept})
