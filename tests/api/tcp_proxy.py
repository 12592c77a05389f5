"""A loopback TCP proxy in front of PostgreSQL that a test can cut and restore: an outage on cue.

The service under test is pointed at the proxy. `stop()` closes every proxied connection and
stops listening, which to the service is PostgreSQL going away (connections reset, new ones
refused); `start()` listens on the same port again, which is PostgreSQL coming back. The
service is never restarted, so recovering is up to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

from sqlalchemy import URL

from tests.api.live_server import LOOPBACK, free_port

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
CHUNK = 64 * 1024
TIMEOUT_SECONDS = 10.0


class TcpProxy:
    """Forwards `127.0.0.1:port` to the server behind `upstream` (TCP or a Unix socket)."""

    def __init__(self, upstream: URL) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread.start()

    def url(self) -> URL:
        """`upstream`, reached through this proxy."""
        query = {key: value for key, value in self.upstream.query.items() if key != "host"}
        return self.upstream.set(host=LOOPBACK, port=self.port, query=query)

    def start(self) -> None:
        """Listen (again): the database is reachable."""
        self._run(self._start())

    def stop(self) -> None:
        """Cut every connection and stop listening: the database is gone."""
        self._run(self._stop())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT_SECONDS)
        self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(TIMEOUT_SECONDS)

    async def _start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._forward, LOOPBACK, self.port, reuse_address=True
            )

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _open_upstream(self) -> Streams:
        socket_directory = self.upstream.query.get("host")
        if isinstance(socket_directory, str) and socket_directory.startswith("/"):
            path = f"{socket_directory}/.s.PGSQL.{self.upstream.port or 5432}"
            return await asyncio.open_unix_connection(path)
        default_port = 3306 if self.upstream.get_backend_name() in {"mariadb", "mysql"} else 5432
        return await asyncio.open_connection(self.upstream.host, self.upstream.port or default_port)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            upstream_reader, upstream_writer = await self._open_upstream()
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(
            _pump(reader, upstream_writer), _pump(upstream_reader, writer), return_exceptions=True
        )
        for end in (writer, upstream_writer):
            end.transport.abort()
            self._writers.discard(end)


async def _pump(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await source.read(CHUNK):
            target.write(data)
            await target.drain()
    target.transport.abort()


@contextlib.contextmanager
def tcp_proxy(upstream: URL) -> Iterator[TcpProxy]:
    """A started proxy to `upstream`, closed on exit."""
    proxy = TcpProxy(upstream)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
