"""Create the items table.

Revision ID: 3c1d9e4a7b20
Revises:
Create Date: 2026-11-28 20:10:00

Describe tables as they are at this revision: never import application code here.

One history for PostgreSQL and MariaDB: the two CHECKs PostgreSQL spells with `btrim()` and
`'Infinity'::float8` are spelled for MariaDB in its own branch (no `btrim()` there, and a DOUBLE
cannot hold NaN or an infinity); everything else is the same `create_table` on both, and the
PostgreSQL statements are byte for byte what they were before the MariaDB branch existed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c1d9e4a7b20"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Python's str.isspace() characters: the API and this CHECK agree on what "blank" means.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

# Read by the migration gate's squawk lint (tests/migrations/gate/checks/unsafe_ddl.py).
squawk_waivers = {
    "prefer-text-field": (
        "200 characters is the API's documented limit for name (app.models.NAME_MAX_LENGTH); "
        "the table is new here, and widening a varchar later is metadata-only in PostgreSQL "
        "(no rewrite, a brief lock bounded by env.py's lock_timeout)"
    ),
}


def upgrade() -> None:
    """Create `items`: a bigint identity key, a bounded non-blank name, a positive finite price."""
    if op.get_context().dialect.name in ("mariadb", "mysql"):
        # Blank = only WHITESPACE characters, as on PostgreSQL: REGEXP finds one that is not.
        not_blank = "name REGEXP '[^" + WHITESPACE.replace("'", "''") + "]'"
        positive_finite = "price > 0"  # a MariaDB DOUBLE holds no NaN and no infinity
    else:
        quoted_whitespace = "'" + WHITESPACE.replace("'", "''") + "'"
        not_blank = f"btrim(name, {quoted_whitespace}) <> ''"
        positive_finite = "price > 0 AND price < 'Infinity'::float8"
    op.create_table(
        "items",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.CheckConstraint(not_blank, name=op.f("ck_items_name_not_blank")),
        sa.CheckConstraint(positive_finite, name=op.f("ck_items_price_positive_finite")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
    )


def downgrade() -> None:
    """Drop `items` (its identity sequence goes with it)."""
    op.drop_table("items")
