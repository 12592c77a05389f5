"""`python -m app.alembic_cli <alembic arguments>`: Alembic against the service's database.

The same database `python -m app.serve` uses, reached as the migrations reach it:
`MIGRATION_DATABASE_URL`, else `DATABASE_URL`, else the embedded PostgreSQL in `.pgdata/` as
`items_owner`, so `revision --autogenerate` works on a machine with only Python.
`nox -s alembic -- revision --autogenerate -m "add items.colour"` is the usual way in. The
settings (environment and `.env`) reach `env.py` as they are, through the Alembic config.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from alembic.config import CommandLine, Config

from app.serve import alembic_config, database
from app.settings import PROJECT_ROOT, get_settings


def main(argv: Sequence[str] | None = None) -> None:
    """Run the Alembic command line with the service's settings and database."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    ini = str(PROJECT_ROOT / "alembic.ini")
    command_line = CommandLine(prog="alembic")
    options = command_line.parser.parse_args(["-c", ini, *arguments])
    if not hasattr(options, "cmd"):
        command_line.parser.error("too few arguments")
    with database(get_settings()) as settings:
        config = Config(file_=ini, ini_section=options.name, cmd_opts=options)
        command_line.run_cmd(alembic_config(settings, config), options)


if __name__ == "__main__":
    main()
