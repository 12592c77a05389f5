"""Which table locks a migration held, and for how long: pg_locks polled from another session.

A lock's danger is its length: while a revision holds ACCESS EXCLUSIVE on a table, every query on
that table (a plain SELECT included) queues behind it, and every query after those queues
behind them. The catalog cannot say how long a statement holds a lock; the running server can.
So while the upgrade on rows runs (`moves.upgrade_on_rows`, the one the checks of the step on
rows already judge: no extra migration), a thread on a connection of its own asks the dialect
every few milliseconds which locks the other sessions on the database hold (`relation_locks`)
and keeps, per (table, mode), the longest stretch of consecutive samples that saw it.

Resolution: a hold shorter than one interval may be missed, and a measured hold is short of the
real one by up to one interval at each end (`LockSamples.interval_ms` says how long that was).
Every other session on the working database counts as the migration's: during the walk there is
none that holds a table lock (pooled connections sit idle outside any transaction).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import URL, create_engine, pool

from tests.migrations.gate.dialects import dialect_for

EVERY_SECONDS = 0.005
"""How often pg_locks is read: fine enough for a budget of a tenth of a second and more."""
READY_SECONDS = 10.0
"""How long the migration waits for the sampler's first sample (its connection) at most."""


@dataclass(frozen=True)
class LockHold:
    """One lock mode on one table, and the longest stretch it was seen held without a break."""

    table: str
    mode: str
    ms: float


@dataclass(frozen=True)
class LockSamples:
    """Every lock seen during one migration, how finely it was sampled, and what went wrong."""

    holds: tuple[LockHold, ...]
    samples: int
    interval_ms: float
    """The mean time between two samples: the measurement's resolution."""
    error: str | None = None
    """Why sampling stopped early (the holds are then incomplete)."""

    def held(self, table: str, mode: str) -> float | None:
        """The longest hold of `mode` on `table`, in ms (None: never seen)."""
        return next((h.ms for h in self.holds if (h.table, h.mode) == (table, mode)), None)


@dataclass
class _Stretches:
    """Per (table, mode): the stretch being seen now, and the longest one already over."""

    open: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    longest: dict[tuple[str, str], float] = field(default_factory=dict)

    def saw(self, seen: set[tuple[str, str]], now: float) -> None:
        for key in seen:
            first, _ = self.open.get(key, (now, now))
            self.open[key] = (first, now)
        for key in set(self.open) - seen:
            self._close(key)

    def _close(self, key: tuple[str, str]) -> None:
        first, last = self.open.pop(key)
        self.longest[key] = max(self.longest.get(key, 0.0), (last - first) * 1000)

    def holds(self) -> tuple[LockHold, ...]:
        for key in list(self.open):
            self._close(key)
        return tuple(LockHold(t, m, round(ms, 1)) for (t, m), ms in sorted(self.longest.items()))


class _Sampler(threading.Thread):
    def __init__(self, url: URL, every: float) -> None:
        super().__init__(name="gate-lock-sampler", daemon=True)
        self.url, self.every = url, every
        self.ready, self.done = threading.Event(), threading.Event()
        self.stretches = _Stretches()
        self.samples = 0
        self.started_at = self.ended_at = 0.0
        self.error: str | None = None

    def run(self) -> None:
        dialect = dialect_for(self.url)
        engine = create_engine(self.url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                while True:
                    last = self.done.is_set()
                    seen = set(dialect.relation_locks(connection))
                    now = time.monotonic()
                    if not self.samples:
                        self.started_at = now
                    self.stretches.saw(seen, now)
                    self.samples, self.ended_at = self.samples + 1, now
                    self.ready.set()
                    if last:
                        break
                    self.done.wait(self.every)
        except Exception as error:  # reported by the check (`LockSamples.error`), never lost
            first = (str(error).strip().splitlines() or [""])[0]
            self.error = f"{type(error).__name__}: {first}"
        finally:
            self.ready.set()
            engine.dispose()

    def result(self) -> LockSamples:
        span = (self.ended_at - self.started_at) * 1000
        return LockSamples(
            holds=self.stretches.holds(),
            samples=self.samples,
            interval_ms=round(span / (self.samples - 1), 1) if self.samples > 1 else 0.0,
            error=self.error,
        )


@dataclass
class Sampling:
    """What `sampled_locks` yields: `samples` is set when its block ends."""

    samples: LockSamples | None = None


@contextmanager
def sampled_locks(url: URL, *, every: float = EVERY_SECONDS) -> Iterator[Sampling]:
    """Sample the table locks held on the database at `url` while the block runs.

    The block starts once the first sample is taken, and one more is taken after it ends (the
    migration committed by then), so every lock the block took and held for a sampling interval
    or longer is seen.
    """
    sampler = _Sampler(url, every)
    sampling = Sampling()
    sampler.start()
    sampler.ready.wait(READY_SECONDS)
    try:
        yield sampling
    finally:
        sampler.done.set()
        sampler.join()
        sampling.samples = sampler.result()
