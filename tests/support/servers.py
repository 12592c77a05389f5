"""What the root conftest's database factories hand a test, whichever server the run uses."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import URL

DatabaseFactory = Callable[[str], AbstractContextManager[URL]]
"""`with factory("prefix") as url:` a private database for the block, dropped afterwards."""
