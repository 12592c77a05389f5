"""Which MariaDB driver: PyMySQL against mysql-connector-python, side by side in one run.

`python -m bench --only mariadb-drivers` (`--mariadb-url`, default mariadb://root@127.0.0.1:3306/)
measures, through SQLAlchemy's pooled engine as the app would use it, the three statements the
items API runs most: a single-row `INSERT … RETURNING`, a primary-key `SELECT`, and a page of 100
rows. Drivers
alternate round by round on one scratch database, so a noisy shared machine slows both alike and
the ratio is what counts. It also records how each driver reports a CHECK violation, because
the API turns that error into a 422 and must recognise it on either driver.

The seed tutorial names mysql-connector-python; SQLAlchemy's documentation recommends PyMySQL
(or mysqlclient) and does not run its CI on the mysqlconnector dialect. The figures are the
measurement half of that choice (issue 10); `bench/RESULTS.md` §5 records a run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (
    CheckConstraint,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from bench.stats import median

DRIVERS = ("pymysql", "mysqlconnector")
OPERATIONS_PER_ROUND = 300
PAGE_SIZE = 100

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("quantity", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("quantity >= 0", name="ck_items_quantity_non_negative"),
)


@dataclass(frozen=True)
class Figures:
    """Operations per second of one driver, one value per round, per statement."""

    driver: str
    insert: list[float]
    get: list[float]
    page: list[float]


@contextmanager
def scratch_database(server: URL) -> Iterator[str]:
    """A database of its own on `server`, dropped afterwards whatever happens."""
    name = f"bench_drivers_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(drivername="mysql+pymysql"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def _rate(operation: Callable[[], object], count: int) -> float:
    """`count` calls of `operation`, as calls per second."""
    started = time.perf_counter()
    for _ in range(count):
        operation()
    return count / (time.perf_counter() - started)


def one_round(engine: Engine, count: int) -> tuple[float, float, float]:
    """Inserts, primary-key reads and page reads per second, each `count` times."""
    ids: list[int] = []

    def insert_one() -> None:
        with engine.begin() as connection:
            row = connection.execute(
                insert(items).values(name="widget", quantity=1).returning(items.c.id)
            ).one()
            ids.append(int(row.id))

    def get_one() -> None:
        with engine.connect() as connection:
            connection.execute(select(items).where(items.c.id == ids[len(ids) // 2])).one()

    def page() -> None:
        with engine.connect() as connection:
            connection.execute(select(items).order_by(items.c.id).limit(PAGE_SIZE)).all()

    return _rate(insert_one, count), _rate(get_one, count), _rate(page, count)


def check_violation(engine: Engine) -> str:
    """How the driver reports a CHECK violation: exception class and server error code."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(items).values(name="bad", quantity=-1))
    except DBAPIError as error:
        code = error.orig.args[0] if error.orig is not None and error.orig.args else "?"
        return f"{type(error).__name__} (server error {code})"
    return "accepted: the CHECK was not enforced"


def measure(server: URL, rounds: int, count: int) -> tuple[list[Figures], dict[str, str]]:
    """Every driver, `rounds` alternating rounds of `count` operations per statement."""
    with scratch_database(server) as database:
        engines = {
            driver: create_engine(
                server.set(drivername=f"mysql+{driver}", database=database), pool_size=5
            )
            for driver in DRIVERS
        }
        try:
            metadata.create_all(engines[DRIVERS[0]])
            for engine in engines.values():  # warm the pools and the dialects' first connect
                one_round(engine, 10)
            rates: dict[str, list[tuple[float, float, float]]] = {d: [] for d in DRIVERS}
            for round_number in range(rounds):
                order = DRIVERS if round_number % 2 == 0 else tuple(reversed(DRIVERS))
                for driver in order:
                    rates[driver].append(one_round(engines[driver], count))
            errors = {driver: check_violation(engine) for driver, engine in engines.items()}
        finally:
            for engine in engines.values():
                engine.dispose()
    figures = [
        Figures(
            driver,
            [r[0] for r in rates[driver]],
            [r[1] for r in rates[driver]],
            [r[2] for r in rates[driver]],
        )
        for driver in DRIVERS
    ]
    return figures, errors


def _rates(values: list[float]) -> str:
    """The median rate and the range of the rounds, so a reader sees how noisy it is."""
    return f"{median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def render(figures: list[Figures], errors: dict[str, str]) -> str:
    """The Markdown table for `bench/RESULTS.md`: medians, spread, and the ratio to PyMySQL."""
    base = figures[0]
    lines = [
        "| driver | INSERT … RETURNING /s | SELECT by id /s | page of 100 /s | "
        f"ratio to {base.driver} (insert, get, page) | CHECK violation raised as |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for figure in figures:
        ratios = ", ".join(
            f"{median(mine) / median(theirs):.2f}"
            for mine, theirs in (
                (figure.insert, base.insert),
                (figure.get, base.get),
                (figure.page, base.page),
            )
        )
        lines.append(
            f"| {figure.driver} | {_rates(figure.insert)} | {_rates(figure.get)} | "
            f"{_rates(figure.page)} | {ratios} | "
            f"{errors[figure.driver]} |"
        )
    return "\n".join(lines)


def run_driver_benchmark(url: str, rounds: int, out: Callable[[str], None]) -> None:
    """`python -m bench --only mariadb-drivers`: measure and print the table."""
    out(f"## MariaDB drivers: {rounds} alternating rounds of {OPERATIONS_PER_ROUND} operations")
    figures, errors = measure(make_url(url), rounds, OPERATIONS_PER_ROUND)
    out(render(figures, errors))
