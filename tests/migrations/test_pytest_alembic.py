"""pytest-alembic's built-in tests, on a fresh empty PostgreSQL database each.

They overlap with the gate's own checks on purpose: they are the community's reference, run
through the project's env.py, and a second opinion costs a second. What they cannot see
(a `pass` downgrade, leftovers of a downgrade, CHECK drift, populated tables) is what the gate's
checks add. Collected by import because pytest-alembic's own collector breaks pytest 9 when
`tests/conftest.py` exists (never create that file).
"""

import pytest
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from tests.migrations.gate.checks.upgrade import RevisionTemplates

pytestmark = pytest.mark.history


@pytest.fixture(autouse=True)
def _history_upgrades(project_templates: RevisionTemplates) -> None:
    """Not run when a revision does not upgrade: the gate's upgrade check reports it once."""
    project_templates.require("pytest-alembic")


__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]
