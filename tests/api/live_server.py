"""Run the real service (uvicorn in a subprocess) on a free loopback port, for load tests.

A subprocess rather than a thread: the service reads its settings and builds its engine once per
process, exactly as in production, and a hung server can always be killed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
STARTUP_SECONDS = 30.0


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def live_server(database_url: str, **settings: str) -> Iterator[str]:
    """Serve `app.main:app` on `database_url`; yield its base URL; stop it on exit.

    `settings` become environment variables (`DB_POOL_SIZE="4"` ...), as an operator sets them.
    """
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, **settings}
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", LOOPBACK]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    # The log goes to a file, not a pipe: a pipe nobody reads fills up and blocks the server.
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_listening(process, f"http://{LOOPBACK}:{port}", log)
            yield f"http://{LOOPBACK}:{port}"
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        process.terminate()
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_until_listening(process: subprocess.Popen[bytes], base_url: str, log: IO[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read()}")
        try:
            httpx.get(f"{base_url}/openapi.json", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS} s")
