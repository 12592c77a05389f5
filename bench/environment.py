"""What machine and which versions produced the figures: a ratio means little without them."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from sqlalchemy import URL, create_engine, pool, text

from app.settings import is_mysql_family

PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "psycopg2-binary",
    "psycopg",
    "pymysql",
    "uvicorn",
    "uvloop",
    "httptools",
    "alembic",
    "pytest",
    "pytest-alembic",
    "pytest-xdist",
)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> str:
    """Total memory in GiB from /proc/meminfo, or 'unknown'."""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the figures ('-' when absent)."""
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return versions


def server_version(admin_url: URL) -> str:
    """The version string of the server at `admin_url`, PostgreSQL or MariaDB."""
    query = "SELECT VERSION()" if is_mysql_family(admin_url) else "SHOW server_version"
    engine = create_engine(admin_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def describe(servers: Mapping[str, URL]) -> list[str]:
    """Lines describing the machine and the software, printed at the top of every run;
    `servers` maps a server's kind ("PostgreSQL", "MariaDB") to its admin URL."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    versions = package_versions()
    databases = "".join(f", {kind} {server_version(url)}" for kind, url in servers.items())
    return [
        f"machine: {os.cpu_count()} CPUs ({cpu_model()}), {memory_gib()}, load average {load}",
        f"python {platform.python_version()}{databases}",
        "packages: " + ", ".join(f"{name} {version}" for name, version in versions.items()),
    ]
