"""Serve an app package from a folder in its own process, and exercise it through its OpenAPI.

`checks/base_release_app.py` runs the previous release's code against the new schema. That code
is not importable in the gate's own process (the head's `app` is), so it runs in a subprocess:
`python -I -B` (no current directory or `PYTHON*` variables on `sys.path`, no `.pyc` written
into the extracted tree) with the extracted folder first on `sys.path`, checked to be where
`app` was imported from, served by uvicorn on a free port of 127.0.0.1.

The requests come from the app's own `/openapi.json` through schemathesis, positive data only
(what the old release's clients may send), a fixed number of examples per operation and
derandomized, so a run is repeatable. Two outcomes are findings: any 5xx, and a write (POST,
PUT, PATCH) refused with a 4xx other than 404 (positive data is valid by the release's own
contract, so the database refused it). Only the first finding per operation is kept: one
defect in the schema gives one line per route it breaks, not one per example.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests
from sqlalchemy import URL

READY_TIMEOUT_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 15.0
EXAMPLES_PER_OPERATION = 50
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
NOT_A_REFUSAL = frozenset({404})
"""4xx answers positive data may rightly get: a generated id that does not exist."""
APP_TARGET = "app.main:app"
PROBE_HEADER = "X-Gate-Probe"
BODY_EXCERPT_CHARS = 300
STDERR_TAIL_LINES = 12

_LAUNCHER = """
import sys
root, target, port, token = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, root)
package = __import__(target.split(".", 1)[0])
where = getattr(package, "__file__", None) or ""
if not where.startswith(root):
    raise SystemExit(f"imported {package.__name__} from {where!r}, not from {root!r}")
import uvicorn
uvicorn.run(
    target,
    host="127.0.0.1",
    port=port,
    log_level="warning",
    access_log=False,
    headers=[("X-Gate-Probe", token)],
)
"""


class AppDidNotStartError(RuntimeError):
    """The served app exited or did not answer in time; the message ends with its stderr."""


@dataclass(frozen=True)
class Finding:
    """One operation that the app failed: the request, what came back, and why it counts."""

    method: str
    path: str
    status: int | None
    """None: no response at all (the connection broke, or it timed out)."""
    kind: str
    """`server error`, `valid write refused`, `no response`, or `invalid schema`."""
    request: str
    """The generated request, as `METHOD /path?query` and its body."""
    body: str
    """The response body's start (or the transport error)."""

    def lines(self) -> list[str]:
        """How a failure's details print it."""
        status = "no response" if self.status is None else str(self.status)
        return [
            f"{self.method} {self.path}: {self.kind} ({status})",
            f"  request: {self.request}",
            f"  response: {self.body}",
        ]


@dataclass
class ServedApp:
    """An app running in a subprocess: where it answers, and what it wrote to stderr."""

    base_url: str
    _stderr: IO[bytes]

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> list[str]:
        """The last `lines` lines the process wrote to stderr, traceback frames left out.

        Frames (the indented `File …` lines and their code) are the old release's internals;
        the exception, its message and the SQL it names say what the new schema broke.
        """
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        kept = [line for line in text.splitlines() if line.strip() and not line.startswith("  ")]
        return kept[-lines:]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_ready(
    process: subprocess.Popen[bytes], url: str, token: str, timeout: float
) -> str | None:
    """None once `url` answers 200 with our token; else why not (exited, or time ran out).

    The token (a header uvicorn adds to every response) proves the answer comes from this
    process: the port was free when chosen, but another server may have taken it since.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"it exited with status {process.returncode}"
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == requests.codes.ok:
                if response.headers.get(PROBE_HEADER) == token:
                    return None
                return f"another server answers on {url}"
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return f"it did not answer {url} within {timeout:.0f} s"


@contextmanager
def served(
    root: Path, database_url: URL, *, timeout: float = READY_TIMEOUT_SECONDS
) -> Iterator[ServedApp]:
    """Serve `APP_TARGET` imported from `root` on `database_url`; stop it when the block ends.

    The environment is the gate's, with `DATABASE_URL` replaced, so the app's other settings
    are its defaults or whatever the caller's environment sets.
    """
    port = _free_port()
    environment = dict(os.environ)
    environment["DATABASE_URL"] = database_url.render_as_string(hide_password=False)
    token = secrets.token_hex(8)
    command = [sys.executable, "-I", "-B", "-c", _LAUNCHER, str(root), APP_TARGET, str(port), token]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=stderr, cwd=root
        )
        try:
            app = ServedApp(base_url=f"http://127.0.0.1:{port}", _stderr=stderr)
            why = _wait_until_ready(process, f"{app.base_url}/openapi.json", token, timeout)
            if why is not None:
                tail = "\n".join(app.stderr_tail())
                raise AppDidNotStartError(f"the app from {root} did not start: {why}\n{tail}")
            yield app
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _excerpt(data: bytes | str | None) -> str:
    if data is None:
        return ""
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    text = " ".join(text.split())
    return text if len(text) <= BODY_EXCERPT_CHARS else text[:BODY_EXCERPT_CHARS] + "…"


def _described(case: Any) -> str:
    """The generated request: method, path with its parameters, query and body."""
    path = case.formatted_path
    query = "&".join(f"{k}={v}" for k, v in (case.query or {}).items())
    line = f"{case.method.upper()} {path}{'?' + query if query else ''}"
    body = getattr(case, "body", None)
    if body is not None and not type(body).__name__.startswith("NotSet"):
        line += f" {_excerpt(repr(body))}"
    return line


def classify(method: str, status: int) -> str | None:
    """Why this answer to a positive request is a finding, or None if it is not one."""
    if status >= 500:
        return "server error"
    if method in WRITE_METHODS and 400 <= status < 500 and status not in NOT_A_REFUSAL:
        return "valid write refused"
    return None


def exercise(base_url: str, *, examples: int = EXAMPLES_PER_OPERATION) -> list[Finding]:
    """Every operation of `base_url`'s OpenAPI, `examples` positive requests each; findings.

    Heavy imports (schemathesis, hypothesis) happen here, only when the check runs.
    """
    import schemathesis  # noqa: PLC0415
    from schemathesis.core.result import Err  # noqa: PLC0415

    schema = schemathesis.openapi.from_url(
        f"{base_url}/openapi.json", config=schemathesis.Config(), timeout=REQUEST_TIMEOUT_SECONDS
    )
    findings: list[Finding] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                error = result.err()
                where = str(getattr(error, "path", None) or "?")
                method = str(getattr(error, "method", None) or "?").upper()
                described = _excerpt(str(error))
                findings.append(Finding(method, where, None, "invalid schema", "", described))
                continue
            finding = _exercise_operation(result.ok(), base_url, session, examples)
            if finding is not None:
                findings.append(finding)
    return findings


def _exercise_operation(
    operation: Any, base_url: str, session: requests.Session, examples: int
) -> Finding | None:
    """The first finding among `examples` positive requests to `operation`, if any."""
    import hypothesis  # noqa: PLC0415
    from schemathesis.generation import GenerationMode  # noqa: PLC0415

    method = str(operation.method).upper()
    path = str(operation.path)
    found: list[Finding] = []

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
        report_multiple_bugs=False,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def one(case: Any) -> None:
        if found:
            return
        try:
            response = case.call(
                base_url=base_url, session=session, timeout=REQUEST_TIMEOUT_SECONDS
            )
        except requests.RequestException as error:
            found.append(
                Finding(method, path, None, "no response", _described(case), _excerpt(str(error)))
            )
            return
        kind = classify(method, response.status_code)
        if kind is not None:
            found.append(
                Finding(
                    method,
                    path,
                    response.status_code,
                    kind,
                    _described(case),
                    _excerpt(response.content),
                )
            )

    one()
    return found[0] if found else None
