"""`GateFailure`: a failed check that says which revision, what differs and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class GateFailure(AssertionError):
    """Raised by every gate check; its text is what a developer reads in the pytest report.

    An `AssertionError`, so pytest reports it as a failed check rather than an error in the
    harness.
    """

    check: str
    problem: str
    how_to_fix: str
    revision: str | None = None
    details: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"[{self.check}] {self.problem}"]
        if self.revision is not None:
            lines.append(f"  revision: {self.revision}")
        if self.details:
            lines.append("  what differs:")
            lines.extend(f"    {line}" for line in self.details)
        lines.append(f"  how to fix: {self.how_to_fix}")
        return "\n".join(lines)
