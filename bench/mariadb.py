"""Which MariaDB server the MariaDB benchmarks use (`--mariadb-url`), checked before they start.

The URL's scheme is made `mariadb://` whatever it was written as: a `mysql://` URL would give the
app SQLAlchemy's MySQL dialect, which does not know MariaDB's `INSERT … RETURNING`, and the
benchmark would measure an app that cannot create items.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.settings import normalise_database_url, require_driver
from tests.support.mariadb import MariaDBServer

DEFAULT_URL = "mariadb://root@127.0.0.1:3306/"


def mariadb_server(url: str) -> MariaDBServer:
    """The MariaDB server at `url`, reached through PyMySQL; a clear error if it does not answer."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "mysql":
        parsed = parsed.set(drivername=parsed.drivername.replace("mysql", "mariadb", 1))
    admin_url = normalise_database_url(parsed)
    require_driver(admin_url)
    server = MariaDBServer(admin_url=admin_url, origin="--mariadb-url")
    with server.admin_connection() as connection:
        connection.execute(text("SELECT 1"))
    return server
