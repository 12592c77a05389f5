"""Which fixture histories run on which server, said once: `fixtures(*names)` for parametrize.

Most fixture histories are plain Alembic operations and judge the gate on both servers. Those
written in PostgreSQL's SQL (or that MariaDB refuses for a reason of its own) are listed in
`POSTGRESQL_ONLY` with that reason: on a MariaDB run their cases carry `postgresql_only`, so
they are skipped with the reason (a failure under `CI=true` unless deselected), never passed.
"""

from __future__ import annotations

from typing import Any

import pytest

POSTGRESQL_ONLY: dict[str, str] = {
    "correct_new_column": "its CHECK is added NOT VALID, then VALIDATEd (PostgreSQL SQL)",
    "correct_new_table": (
        "an enum type, a now() default, and a downgrade that drops an index before the foreign "
        "key needing it (MariaDB refuses: error 1553)"
    ),
    "enum_left_behind": "enum types are PostgreSQL objects; MariaDB's ENUM is a column type",
    "newcomer_colour": "its revisions are frozen from before MariaDB was supported (btrim)",
    "prev_renamed_column": (
        "its rename is alter_column(new_column_name=…) without existing_type, which Alembic "
        "cannot render for MariaDB (CHANGE COLUMN needs the type)"
    ),
    "not_null_no_default": (
        "MariaDB fills a new NOT NULL column without a default with the type's implicit "
        "default ('' or 0) instead of failing; its MariaDB rule is the lint's "
        "require-explicit-default"
    ),
}


def fixtures(*names: str) -> list[Any]:
    """`names` as parametrize values, each PostgreSQL-only one marked with its reason."""
    return [
        pytest.param(name, marks=pytest.mark.postgresql_only(POSTGRESQL_ONLY[name]))
        if name in POSTGRESQL_ONLY
        else name
        for name in names
    ]


def postgresql_only_fixture(name: str) -> pytest.MarkDecorator:
    """The mark of a test that walks one PostgreSQL-only fixture history."""
    return pytest.mark.postgresql_only(POSTGRESQL_ONLY[name])
