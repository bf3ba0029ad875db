"""Timestamps: stored as timezone-naive UTC, shown as ``YYYY-MM-DDTHH:MM:SSZ``.

Twilio's helper libraries parse dates only in that exact form (no fractions, no offset).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator


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


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ].*)?")


def _iso_only(value: Any) -> Any:
    # pydantic would also read numbers as Unix timestamps ("0.5" is 1970); the API says ISO
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("give an ISO 8601 date, like 2026-01-31 or 2026-01-31T12:00:00Z")
    return value


def _to_naive_utc(value: datetime) -> datetime:
    try:
        return as_naive_utc(value)
    except OverflowError:
        raise ValueError("the date is out of range once converted to UTC") from None


# A date query parameter (DateCreatedAfter, …): ISO 8601, converted to naive UTC on input.
UtcDateTime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_to_naive_utc)]
