"""Timestamps: stored as timezone-naive UTC, shown as ``YYYY-MM-DDTHH:MM:SSZ``.

Twilio's helper libraries parse dates only in that exact form (no fractions, no offset).
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
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


ISO_DATE_PATTERN = r"\d{4}-\d{2}-\d{2}([T ].*)?"
_ISO_DATE = re.compile(ISO_DATE_PATTERN)


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


def stored_text(value: datetime) -> str:
    """A naive-UTC datetime in SQLAlchemy's storage format for DateTime on SQLite, which
    PostgreSQL reads as the same timestamp: what bulk writers bind instead of a datetime
    (the SQLite driver would convert it in Python; an import's parsers do it apart)."""
    return value.isoformat(" ", "microseconds")  # positional: a third cheaper


EPOCH = datetime(1970, 1, 1)  # naive UTC, as every stored date
_ONE_HOUR = timedelta(hours=1)


def epoch_hour(value: datetime) -> int:
    """Whole hours since 1970-01-01 of a naive-UTC datetime: the hour a feedback counts in
    (the analytics rollups' cells, and the rows an import's parsers prepare for them)."""
    return (value - EPOCH) // _ONE_HOUR


def from_iso(value: str) -> datetime:
    """An ISO 8601 date or date-time (``Z`` or an offset, or none for UTC) as naive UTC;
    ``ValueError`` when it is not one. The per-row reader of bulk inputs (imports), where
    UtcDateTime's validators would cost more than the rest of the row. A date-time in
    ``Z`` (what exports write) is read again without its ``Z``: the same fields, naive,
    for a fifth of the conversion's cost."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is UTC and value[-1:] == "Z":
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value[:-1])
    return _to_naive_utc(parsed)
