"""Drive `wrk` and read its figures back from a Lua `done()` hook.

One wrk thread holds every connection: on two cores, wrk's second thread would only take CPU
from the server it measures. The Lua script is generated per request; its `response()` hook
(which sorts statuses and checks Retry-After) is installed only when asked, because wrk then
parses every response in Lua and loses throughput.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from bench.loadgen import TIMEOUT_SECONDS, LoadResult, Request

_COMMON = """
wrk.method = {method}
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
"""

_INSPECT = """
function init(args) ok = 0; unavailable = 0; bad = 0 end
function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status == 503 and (headers["retry-after"] or headers["Retry-After"]) then
    unavailable = unavailable + 1
  else
    bad = bad + 1
  end
end
"""

_DONE = """
function done(summary, latency, requests)
  local ok, unavailable, bad = 0, 0, 0
  if {inspect} then
    for _, t in ipairs(threads) do
      ok = ok + t:get("ok"); unavailable = unavailable + t:get("unavailable")
      bad = bad + t:get("bad")
    end
  else
    bad = summary.errors.status; ok = summary.requests - bad
  end
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %d %d %d %d %d %.1f %.1f\\n",
    summary.requests, summary.duration, ok, unavailable, bad, e.timeout,
    e.connect + e.read + e.write, latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(value: bytes) -> str:
    return "[==[" + value.decode() + "]==]" if value else "nil"


def lua_script(request: Request, *, inspect: bool) -> str:
    """The wrk script for `request`, with or without per-response inspection."""
    script = _COMMON.format(
        method=_lua_string(request.method.encode()), body=_lua_string(request.body)
    )
    if inspect:
        script += _INSPECT
    return script + _DONE.format(inspect="true" if inspect else "false")


def parse(output: str) -> LoadResult:
    """Read the BENCH_RESULT line the script's `done()` printed."""
    for line in output.splitlines():
        if line.startswith("BENCH_RESULT "):
            fields = line.split()[1:]
            requests, duration_us, ok, unavailable, bad, timeouts, errors = map(int, fields[:7])
            p50_us, p99_us = map(float, fields[7:9])
            return LoadResult(
                requests=requests,
                seconds=duration_us / 1e6,
                ok=ok,
                unavailable=unavailable,
                bad=bad,
                timeouts=timeouts,
                socket_errors=errors,
                p50_ms=p50_us / 1000,
                p99_ms=p99_us / 1000,
            )
    raise RuntimeError(f"wrk printed no result:\n{output}")


class Wrk:
    """The `wrk` load generator."""

    name = "wrk"

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def run(
        self, base_url: str, request: Request, connections: int, seconds: float, *, inspect: bool
    ) -> LoadResult:
        """Run wrk once; bounded by `seconds` plus the request timeout."""
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(lua_script(request, inspect=inspect))
        try:
            completed = subprocess.run(
                [
                    self.executable,
                    "-t1",
                    f"-c{connections}",
                    f"-d{seconds:g}s",
                    f"--timeout={TIMEOUT_SECONDS:g}s",
                    "-s",
                    script.name,
                    base_url + request.path,
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + TIMEOUT_SECONDS + 30,
            )
        finally:
            Path(script.name).unlink(missing_ok=True)
        return parse(completed.stdout)
