"""What a load generator is asked and what it answers, whichever one runs.

`wrk` (Debian's package) is preferred: it is written in C and takes little of the two shared
cores from the server under test. Where it is absent, a Python asyncio client with keep-alive
connections stands in; every report says which one ran, since the ceilings differ.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Protocol

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Request:
    """One HTTP request, repeated on every connection for the whole run."""

    method: str
    path: str
    body: bytes = b""


@dataclass(frozen=True)
class LoadResult:
    """What came back. `bad` counts anything neither 2xx nor 503-with-Retry-After."""

    requests: int
    seconds: float
    ok: int
    unavailable: int
    bad: int
    timeouts: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def all_answered(self) -> bool:
        """Every request got a 2xx or a 503 with Retry-After; none timed out or broke."""
        return self.requests > 0 and not (self.bad or self.timeouts or self.socket_errors)


class LoadGenerator(Protocol):
    """Runs `connections` keep-alive connections against `base_url` for `seconds`."""

    name: str

    def run(
        self, base_url: str, request: Request, connections: int, seconds: float, *, inspect: bool
    ) -> LoadResult:
        """`inspect` also sorts every response by status and checks 503s for Retry-After
        (slower in wrk, so throughput runs leave it off and only count non-2xx answers)."""
        ...


def choose(preference: str) -> LoadGenerator:
    """`wrk` when asked or available ('auto'), else the Python client."""
    from bench.loadgen_python import PythonClient  # noqa: PLC0415  (avoid an import cycle)
    from bench.loadgen_wrk import Wrk  # noqa: PLC0415

    executable = shutil.which("wrk")
    if preference == "python":
        return PythonClient()
    if executable is None:
        if preference == "wrk":
            raise RuntimeError("--loadgen wrk asked for, but `wrk` is not on PATH")
        return PythonClient()
    return Wrk(executable)
