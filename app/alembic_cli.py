"""`python -m app.alembic_cli <alembic arguments>`: Alembic against the service's database.

The same database `python -m app.serve` uses: `DATABASE_URL` when set, else the embedded
PostgreSQL in `.pgdata/`, so `revision --autogenerate` works on a machine with only Python.
`nox -s alembic -- revision --autogenerate -m "add items.colour"` is the usual way in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from alembic.config import main as alembic_main

from app.serve import PROJECT_ROOT, database
from app.settings import get_settings


def main(argv: Sequence[str] | None = None) -> None:
    """Run the Alembic command line with `DATABASE_URL` pointing at the service's database."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    with database(get_settings().database_url) as url:
        os.environ["DATABASE_URL"] = url
        get_settings.cache_clear()
        alembic_main(["-c", str(PROJECT_ROOT / "alembic.ini"), *arguments], prog="alembic")


if __name__ == "__main__":
    main()
