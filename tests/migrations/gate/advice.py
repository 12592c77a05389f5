"""`GateAdvice`: what the gate reports without failing, as a warning pytest lists at the end.

A module of its own, importing nothing, because pytest resolves the warning category named in
`pyproject.toml`'s `filterwarnings` (`default::tests.migrations.gate.advice.GateAdvice`) while
it reads its configuration: every other warning there is an error, advice must not be.
"""

from __future__ import annotations


class GateAdvice(UserWarning):
    """A finding worth reading that does not block the change (see `engine/lint_policy.py`)."""
