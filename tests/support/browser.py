"""Headless Chromium with the network cut off: load a page, let its scripts run, read the DOM.

No Python browser driver: Debian's `chromium` can print the DOM after the page's scripts ran
(`--dump-dom` with a `--virtual-time-budget`), which is all a render check needs. Two flags cut
the network while leaving loopback open, so a page that reaches past 127.0.0.1 gets nothing,
exactly as on a machine without internet access:
- `--host-resolver-rules`: every host name but 127.0.0.1 resolves to nothing;
- `--proxy-server` at a closed loopback port: any request that still leaves goes nowhere
  (Chromium never proxies loopback, so 127.0.0.1 stays reachable).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DEAD_PROXY = "http://127.0.0.1:9"
"""The discard port: nothing listens there, so a proxied request fails at once."""
OFFLINE_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    f"--proxy-server={DEAD_PROXY}",
)
VIRTUAL_TIME_BUDGET_MS = 20_000
"""Virtual time the page gets for its scripts; Chromium skips ahead while nothing is pending."""


def find_chromium() -> str | None:
    """The first Chromium-family browser on PATH, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def offline_dom(
    browser: str,
    url: str,
    profile: Path,
    network_flags: Sequence[str] = OFFLINE_FLAGS,
    timeout: float = 120,
) -> str:
    """The DOM of `url` after its scripts ran, with every host but 127.0.0.1 unreachable.

    `network_flags` replaces the cut-off, for the test that proves the cut-off itself.
    """
    command = [browser, "--headless", "--disable-gpu", f"--user-data-dir={profile}"]
    if os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    command += [*network_flags, f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}", "--dump-dom"]
    finished = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=timeout, check=False
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{browser} exited with {finished.returncode}:\n{finished.stderr}")
    return finished.stdout


class SwaggerOperations(HTMLParser):
    """The operations Swagger UI rendered: (method, path) per `opblock-summary`, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: list[tuple[str, str]] = []
        self._method: str | None = None
        self._reading_method = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if "opblock-summary-method" in classes:
            self._reading_method = True
        path = attributes.get("data-path")
        if path is not None and self._method is not None:
            self.operations.append((self._method, path))
            self._method = None

    def handle_data(self, data: str) -> None:
        if self._reading_method:
            self._method = data.strip()
            self._reading_method = False


def swagger_operations(dom: str) -> list[tuple[str, str]]:
    """Every (method, path) Swagger UI rendered in `dom`."""
    parser = SwaggerOperations()
    parser.feed(dom)
    return parser.operations
