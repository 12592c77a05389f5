"""`uv.lock` holds the tools that decide verdicts, from PyPI itself, so it installs anywhere.

A lock written on a machine whose uv points at a local mirror records that mirror's URLs, and
`uv sync --locked` on GitHub's runners (or any other machine) would then fail to download.
`nox -s relock` passes PyPI explicitly; this test catches a lock written some other way.
"""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from tests.support.migrations import PROJECT_ROOT

PYPI = "https://pypi.org/simple"
PYPI_FILES = "https://files.pythonhosted.org/"
# The tools whose release can change whether a schema change may merge.
VERDICT_TOOLS = {"squawk-cli", "alembic", "sqlalchemy", "pytest-alembic", "hypothesis", "pytest"}


@pytest.fixture(scope="module")
def lock() -> dict[str, Any]:
    return tomllib.loads((PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8"))


def test_every_locked_package_comes_from_pypi(lock: dict[str, Any]) -> None:
    elsewhere: list[str] = []
    for package in lock["package"]:
        source = package["source"]
        if "virtual" in source or "editable" in source:  # the project itself
            continue
        if source.get("registry") != PYPI:
            elsewhere.append(f"{package['name']}: source {source}")
        artifacts = [package.get("sdist", {}), *package.get("wheels", [])]
        elsewhere.extend(
            f"{package['name']}: {artifact['url']}"
            for artifact in artifacts
            if "url" in artifact and not artifact["url"].startswith(PYPI_FILES)
        )
    assert not elsewhere, "uv.lock names another index; rerun `nox -s relock`:\n" + "\n".join(
        elsewhere
    )


def test_the_verdict_tools_are_locked_to_one_version_each(lock: dict[str, Any]) -> None:
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        versions.setdefault(package["name"], set()).add(package["version"])
    assert {name: len(versions.get(name, set())) for name in VERDICT_TOOLS} == dict.fromkeys(
        VERDICT_TOOLS, 1
    )
