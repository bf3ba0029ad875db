"""Numbers said for people: shares as percentages, intervals, durations (CLI and console)."""

from __future__ import annotations

from collections.abc import Sequence


def percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f} %"


def interval(pair: Sequence[float] | None, digits: int = 1) -> str:
    if pair is None:
        return "-"
    return f"{pair[0] * 100:.{digits}f}-{pair[1] * 100:.{digits}f} %"


def number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def count(value: int) -> str:
    return f"{value:,}"


def duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``2.1 d``."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
