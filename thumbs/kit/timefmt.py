"""Timestamps: stored as timezone-naive UTC, shown as ``YYYY-MM-DDTHH:MM:SSZ``.

Twilio's helper libraries parse dates only in that exact form (no fractions, no offset).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def as_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _to_naive_utc(value: datetime) -> datetime:
    try:
        return as_naive_utc(value)
    except OverflowError:
        raise ValueError("the date is out of range once converted to UTC") from None


# A date query parameter (DateCreatedAfter, …): ISO 8601, converted to naive UTC on input.
UtcDateTime = Annotated[datetime, AfterValidator(_to_naive_utc)]
