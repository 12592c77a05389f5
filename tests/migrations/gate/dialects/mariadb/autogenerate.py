"""What Alembic's autogenerate proposes on MariaDB that is no difference at all.

A model column `BigInteger, Identity(), primary_key=True` is created on MariaDB as
`BIGINT NOT NULL AUTO_INCREMENT` (MariaDB has no identity columns). Reflection gives it back
without an `Identity`, so autogenerate proposes `alter_column(…, server_default=Identity())`
on every compare: a migration that changes nothing, which drift must not report.
"""

from __future__ import annotations

from alembic.operations import ops
from sqlalchemy import Identity


def is_noise(operation: object) -> bool:
    """Whether `operation` only re-adds an `Identity` to a column already AUTO_INCREMENT."""
    if isinstance(operation, ops.ModifyTableOps):
        return bool(operation.ops) and all(is_noise(inner) for inner in operation.ops)
    if not isinstance(operation, ops.AlterColumnOp):
        return False
    changes = {
        "modify_server_default": operation.modify_server_default,
        "modify_type": operation.modify_type,
        "modify_nullable": operation.modify_nullable,
        "modify_name": operation.modify_name,
        "modify_comment": operation.modify_comment,
    }
    identity = isinstance(changes.pop("modify_server_default"), Identity)
    untouched = all(value in (None, False) for value in changes.values())
    return identity and untouched and bool(operation.kw.get("autoincrement"))
