"""The ORM model of the `items` table: the single source of truth that the migrations must match.

Every rule the API enforces is also a CHECK constraint here, so a row written by any client (a
psql session, a data migration, another service) is always one the API can read back.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Double,
    Identity,
    Integer,
    MetaData,
    String,
    Table,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAME_MAX_LENGTH = 200
QUANTITY_MAX = 2**31 - 1  # PostgreSQL `integer`
ID_MAX = 2**63 - 1  # PostgreSQL `bigint`

# What Python's `str.isspace()` calls whitespace, spelled out so that PostgreSQL's `btrim`
# strips exactly the same characters: "blank" must mean the same thing on both sides. A literal,
# not a scan of every code point at import (which cost every alembic process half a second);
# tests/api/test_name_rule.py proves it equals `str.isspace()` on this Python.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

# Constraint names come from this convention, so every migration can drop them by a name we
# chose rather than one PostgreSQL invented.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


MYSQL_FAMILY: Any = ("mysql", "mariadb")
"""The dialect names SQLAlchemy gives MariaDB (`mariadb://`) and MySQL (`mysql://`).

Typed `Any` because `ddl_if(dialect=…)` is annotated `str | None` although SQLAlchemy documents
(and implements) "a string name of a dialect, or a tuple of string names"."""


def sql_string_literal(value: str) -> str:
    """Quote `value` as a standard SQL string literal (quotes doubled, no backslash escapes).

    MariaDB reads it the same way: none of the characters it quotes here is a backslash.
    """
    return "'" + value.replace("'", "''") + "'"


NOT_BLANK_POSTGRESQL = f"btrim(name, {sql_string_literal(WHITESPACE)}) <> ''"
"""Not blank on PostgreSQL: something is left once every `WHITESPACE` character is trimmed."""

NOT_BLANK_MARIADB = f"name REGEXP {sql_string_literal('[^' + WHITESPACE + ']')}"
"""Not blank on MariaDB, which has no `btrim()`: some character is not one of `WHITESPACE`.

The same definition as PostgreSQL's: a name is blank iff every character is one of
`WHITESPACE` (an empty name included). The bracket expression holds the characters themselves,
none of which is special inside brackets (`]`, `^`, `-`, `\\`); tests/api/test_name_rule.py
runs it on MariaDB over every code point and finds exactly `str.isspace()`.
"""


class Base(DeclarativeBase):
    """Declarative base whose metadata names every constraint through `NAMING_CONVENTION`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Item(Base):
    """One item for sale.

    `id` is a `bigint` identity column: identity (not `serial`) because it is the SQL standard
    and its sequence belongs to the column; `bigint` because an `integer` key runs out at 2.1
    billion inserts and widening a primary key later rewrites the table under an exclusive lock.
    """

    __tablename__ = "items"
    # Each rule PostgreSQL and MariaDB spell differently is two constraints of one name, each
    # emitted only on its own server (`ddl_if`); revision 3c1d9e4a7b20 spells them the same way.
    __table_args__ = (
        CheckConstraint(NOT_BLANK_POSTGRESQL, name="name_not_blank").ddl_if(dialect="postgresql"),
        CheckConstraint(NOT_BLANK_MARIADB, name="name_not_blank").ddl_if(dialect=MYSQL_FAMILY),
        # NaN sorts above every number in PostgreSQL, so `< 'Infinity'` also rejects NaN.
        CheckConstraint(
            "price > 0 AND price < 'Infinity'::float8", name="price_positive_finite"
        ).ddl_if(dialect="postgresql"),
        # MariaDB's DOUBLE cannot hold NaN or an infinity at all (a strict-mode error), so
        # positive is all that is left to check there.
        CheckConstraint("price > 0", name="price_positive_finite").ddl_if(dialect=MYSQL_FAMILY),
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    price: Mapped[float] = mapped_column(Double, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


items_table = cast(Table, Item.__table__)
