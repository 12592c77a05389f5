"""`/docs` renders without the internet: Swagger UI's assets come from the service itself.

A real browser (headless Chromium) loads the page from the served app while every host but
127.0.0.1 is unreachable, and must show the five operations. With FastAPI's default page, which
loads Swagger UI from cdn.jsdelivr.net, it shows none (seen failing so). Without a browser the
test is skipped, except under CI=true, where it fails: `.ci/run` installs Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import URL

from tests.api.live_server import live_server
from tests.support.browser import offline_dom, swagger_operations

OPERATIONS = [
    ("POST", "/items"),
    ("GET", "/items"),
    ("GET", "/items/{item_id}"),
    ("PUT", "/items/{item_id}"),
    ("DELETE", "/items/{item_id}"),
]


@pytest.fixture(scope="module")
def served(head_database_url: URL) -> Iterator[str]:
    """The real service, in its own process, as a user reaches it."""
    with live_server(head_database_url.render_as_string(hide_password=False)) as base_url:
        yield base_url


def test_docs_page_loads_nothing_from_another_host(served: str) -> None:
    """Every script, stylesheet and icon of /docs (and /redoc) is a path on this service."""
    for page in ("/docs", "/redoc"):
        html = httpx.get(f"{served}{page}").text
        references = re.findall(r'(?:src|href)="([^"]*)"', html)
        assert references, f"{page} references no asset at all:\n{html}"
        assert all(reference.startswith("/") for reference in references), (page, references)


def test_docs_render_every_operation_with_the_network_cut_off(
    browser: str, served: str, tmp_path: Path
) -> None:
    dom = offline_dom(browser, f"{served}/docs", profile=tmp_path / "profile")
    assert swagger_operations(dom) == OPERATIONS, dom
