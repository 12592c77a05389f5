"""Connections to a gate database: a new one each time, or, during a walk, the same few reused.

A new connection costs a TCP handshake, a backend fork and SQLAlchemy's first-connect queries
(measured in bench/RESULTS.md); an Alembic command that builds its own engine pays that again on
top. The walk (`walk.py`) asks for a connection a dozen times per revision, so inside
`reusing_connections()` each database gets one small pool, kept until the block ends, and Alembic
commands run on a pooled connection too. Outside such a block nothing is kept: a lingering
connection would stop `DROP DATABASE` and `CREATE DATABASE … TEMPLATE` of that database.

The sessions that must be separate (a lock holder and the migration it blocks, two racing
upgraders) create their own engines and never come here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import URL, Connection, Engine, create_engine, pool

_REUSED: ContextVar[dict[str, Engine] | None] = ContextVar("gate_reused_engines", default=None)


@contextmanager
def reusing_connections() -> Iterator[None]:
    """Within the block, `connect(url)` hands out pooled connections, closed at the end."""
    engines: dict[str, Engine] = {}
    token = _REUSED.set(engines)
    try:
        yield
    finally:
        _REUSED.reset(token)
        for engine in engines.values():
            engine.dispose()


def reusing() -> bool:
    """Whether `connect` reuses connections here (inside `reusing_connections()`)."""
    return _REUSED.get() is not None


@contextmanager
def connect(url: URL) -> Iterator[Connection]:
    """A connection to `url`, outside any transaction; new, or pooled inside a walk."""
    engines = _REUSED.get()
    if engines is None:
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()
        return
    key = url.render_as_string(hide_password=False)
    if key not in engines:
        engines[key] = create_engine(url, pool_size=1, max_overflow=4)
    with engines[key].connect() as connection:
        yield connection
