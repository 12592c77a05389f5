"""The offline browser of `tests/support/browser.py` really is offline.

`/docs` rendering offline proves something only if the browser could not have fetched the CDN.
Here a page on 127.0.0.1 loads a script from another host name that does resolve (to a local
server, through a resolver rule): Chromium runs it when the network is open, and must not when
the dead proxy of the cut-off is added. Without this, a machine with no internet (like this one)
would pass the docs test even if the cut-off flags did nothing.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import DEAD_PROXY, OFFLINE_FLAGS, offline_dom

OTHER_HOST = "assets.example.test"
LOADED = 'data-loaded="yes"'


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test's output clean."""


@pytest.fixture
def page(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A page on 127.0.0.1 whose one script comes from `OTHER_HOST`, and that server's port."""
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    (site / "app.js").write_text('document.body.setAttribute("data-loaded", "yes");\n')
    (site / "index.html").write_text(
        f'<html><body><script src="http://{OTHER_HOST}:{port}/app.js"></script></body></html>\n'
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/index.html", port
    finally:
        server.shutdown()
        server.server_close()


def test_another_host_that_resolves_is_reached_with_the_network_open(
    browser: str, page: tuple[str, int], tmp_path: Path
) -> None:
    url, _ = page
    resolve = f"--host-resolver-rules=MAP {OTHER_HOST} 127.0.0.1"
    assert LOADED in offline_dom(browser, url, tmp_path / "profile", network_flags=[resolve])


def test_the_cut_off_stops_another_host_even_when_it_resolves(
    browser: str, page: tuple[str, int], tmp_path: Path
) -> None:
    url, _ = page
    resolve = f"--host-resolver-rules=MAP {OTHER_HOST} 127.0.0.1"
    flags = [resolve, f"--proxy-server={DEAD_PROXY}"]
    assert LOADED not in offline_dom(browser, url, tmp_path / "profile", network_flags=flags)


def test_the_cut_off_still_reaches_loopback(
    browser: str, page: tuple[str, int], tmp_path: Path
) -> None:
    """The page itself (on 127.0.0.1) loads under the full cut-off: only other hosts are cut."""
    url, _ = page
    dom = offline_dom(browser, url, tmp_path / "profile", network_flags=OFFLINE_FLAGS)
    assert "<script" in dom
    assert LOADED not in dom
