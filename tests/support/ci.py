"""Whether this run is CI's, where nothing may be skipped for want of a database or a browser."""

from __future__ import annotations

import os


def running_in_ci() -> bool:
    """CI sets `CI=true`; there, a missing prerequisite fails the test instead of skipping it."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
