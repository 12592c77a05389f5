"""A Python asyncio HTTP/1.1 keep-alive client: the stand-in where `wrk` is not installed.

Hand-written on asyncio streams rather than httpx, because httpx's per-request cost would make
the client, not the server, the bottleneck. It runs in its own process (uvloop when present)
so its CPU use shows up as such; on two cores its ceiling is lower than wrk's, which is why
every report names the generator that ran.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

from bench.loadgen import TIMEOUT_SECONDS, LoadResult, Request


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    unavailable: int = 0
    bad: int = 0
    timeouts: int = 0
    errors: int = 0


def _request_bytes(host: str, request: Request) -> bytes:
    head = f"{request.method} {request.path} HTTP/1.1\r\nHost: {host}\r\n"
    if request.body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(request.body)}\r\n"
    return (head + "\r\n").encode() + request.body


async def _one_connection(
    host: str, port: int, payload: bytes, deadline: float, tally: _Tally
) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    except (OSError, TimeoutError):
        tally.errors += 1
        return
    try:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                writer.write(payload)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT_SECONDS)
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                }
                await reader.readexactly(int(headers.get("content-length", "0")))
            except TimeoutError:
                tally.timeouts += 1
                return
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                tally.errors += 1
                return
            tally.latencies.append(time.monotonic() - started)
            if 200 <= status < 300:
                tally.ok += 1
            elif status == 503 and "retry-after" in headers:
                tally.unavailable += 1
            else:
                tally.bad += 1
    finally:
        writer.close()


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, math.ceil(fraction * len(sorted_values)) - 1)
    return sorted_values[max(index, 0)]


async def _drive(base_url: str, request: Request, connections: int, seconds: float) -> LoadResult:
    host, port = base_url.removeprefix("http://").split(":")
    payload = _request_bytes(host, request)
    tally = _Tally()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(_one_connection(host, int(port), payload, deadline, tally) for _ in range(connections))
    )
    latencies = sorted(tally.latencies)
    return LoadResult(
        requests=len(latencies),
        seconds=time.monotonic() - started,
        ok=tally.ok,
        unavailable=tally.unavailable,
        bad=tally.bad,
        timeouts=tally.timeouts,
        socket_errors=tally.errors,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
    )


def main() -> None:
    """Child-process entry point: arguments as JSON on argv, the result as JSON on stdout."""
    arguments = json.loads(sys.argv[1])
    request = Request(arguments["method"], arguments["path"], arguments["body"].encode())
    if importlib.util.find_spec("uvloop"):
        import uvloop  # noqa: PLC0415

        uvloop.install()
    result = asyncio.run(
        _drive(arguments["base_url"], request, arguments["connections"], arguments["seconds"])
    )
    print(json.dumps(asdict(result)))


class PythonClient:
    """The asyncio client, run in a child process."""

    name = "python-asyncio"

    def run(
        self,
        base_url: str,
        request: Request,
        connections: int,
        seconds: float,
        *,
        inspect: bool,  # noqa: ARG002  (the client parses every response anyway)
    ) -> LoadResult:
        """Run the client once (it always inspects every response: parsing is needed anyway)."""
        arguments = {
            "base_url": base_url,
            "method": request.method,
            "path": request.path,
            "body": request.body.decode(),
            "connections": connections,
            "seconds": seconds,
        }
        completed = subprocess.run(
            [sys.executable, "-m", "bench.loadgen_python", json.dumps(arguments)],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + TIMEOUT_SECONDS + 30,
        )
        return LoadResult(**json.loads(completed.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
