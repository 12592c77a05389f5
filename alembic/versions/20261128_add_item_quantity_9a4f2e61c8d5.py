"""Add items.quantity, 0 for every existing row.

Revision ID: 9a4f2e61c8d5
Revises: 3c1d9e4a7b20
Create Date: 2026-11-28 20:12:00

Describe tables as they are at this revision: never import application code here.

Safe on a live, populated table:
- `ADD COLUMN … NOT NULL DEFAULT 0` is metadata-only on PostgreSQL >= 11: no rewrite, constant
  time in rows; existing rows read the default.
- The CHECK is added `NOT VALID` (constant time, new writes are checked at once), then validated
  outside the DDL transaction, where the scan holds only SHARE UPDATE EXCLUSIVE and reads and
  writes go on. Every existing row holds 0, so validation cannot fail.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9a4f2e61c8d5"
down_revision: str | Sequence[str] | None = "3c1d9e4a7b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK_NAME = "ck_items_quantity_non_negative"


def upgrade() -> None:
    """Add `quantity` (integer, NOT NULL, default 0) and its non-negative CHECK."""
    op.add_column(
        "items",
        sa.Column("quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(
        op.f(CHECK_NAME), "items", "quantity >= 0", postgresql_not_valid=True
    )
    with op.get_context().autocommit_block():
        op.execute(f"ALTER TABLE items VALIDATE CONSTRAINT {CHECK_NAME}")


def downgrade() -> None:
    """Drop `quantity` and its CHECK."""
    op.drop_constraint(op.f(CHECK_NAME), "items", type_="check")
    op.drop_column("items", "quantity")
