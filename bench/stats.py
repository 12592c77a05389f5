"""Small statistics helpers: medians of rounds, because one noisy round must not decide."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median, or NaN when there is nothing to summarise (a skipped measurement)."""
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """`min..max` of the rounds, so a reader sees how noisy the median is."""
    if not values:
        return "n/a"
    return f"{min(values):.3f}..{max(values):.3f}"


def percent(value: float) -> str:
    """A ratio as a percentage with one decimal."""
    return f"{value * 100:.1f}%"
