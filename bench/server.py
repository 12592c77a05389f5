"""Run an ASGI app under uvicorn in its own process, with the settings every run records.

Both the real app and the bare ceiling go through `uvicorn_process`, so they always share one
set of server settings (HTTP parser, event loop, access log): a ratio between them compares
the apps, not the servers.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ServerSettings:
    """uvicorn's knobs that change throughput; `describe()` prints them with the figures."""

    http: str = "auto"
    loop: str = "auto"
    access_log: bool = False

    def arguments(self) -> list[str]:
        """The uvicorn command-line options for these settings."""
        return [
            "--http",
            self.http,
            "--loop",
            self.loop,
            "--access-log" if self.access_log else "--no-access-log",
            "--log-level",
            "warning",
        ]

    def describe(self) -> str:
        """One line for the report."""
        log = "on" if self.access_log else "off"
        return f"uvicorn 1 worker, http={self.http}, loop={self.loop}, access log {log}"


def fastest_settings() -> ServerSettings:
    """httptools and uvloop when installed (uvicorn[standard]), else h11 and asyncio."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return ServerSettings(http=http, loop=loop, access_log=False)


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(base_url: str, probe_path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(base_url + probe_path, timeout=2) as response:  # noqa: S310
                if response.status < 500:
                    return
        except (URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer {probe_path} within {READY_TIMEOUT_SECONDS}s")


@contextmanager
def uvicorn_process(
    app: str,
    settings: ServerSettings,
    *,
    env: Mapping[str, str] | None = None,
    probe_path: str = "/items/1",
    source: Path = PROJECT_ROOT,
) -> Iterator[str]:
    """Serve `app` ("module:attribute") from the tree `source` on 127.0.0.1; yield its base
    URL; stop it on exit. Another `source` (an older commit) lets a change be measured against
    its baseline in the same run."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, *settings.arguments()],
        cwd=source,
        env={**os.environ, "PYTHONPATH": str(source), **(env or {})},
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base_url, probe_path, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
