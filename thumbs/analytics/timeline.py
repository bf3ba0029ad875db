"""Time buckets of a series: hours, days, ISO weeks (from Monday) or months, in an IANA time
zone, with boundaries at the zone's local midnight (or hour) on each side of a daylight
saving change.

A day, week or month starts at the first instant of its first local date: where midnight
does not exist (a clock moved forward at 00:00) that is the first instant after the gap;
where a clock moves back, the repeated hour belongs to the day it is in. A day is therefore
23, 24 or 25 hours long. Hour buckets follow the zone's hour boundaries: whole UTC hours
for most zones, UTC half hours for India, UTC quarter hours for Nepal. Boundaries are
returned as naive UTC datetimes, the form in which the store keeps times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from thumbs.kit import errors as E

INTERVALS = ("hour", "day", "week", "month")
MAX_BUCKETS = 1000
# the range of a series when none is given: this many buckets, ending with the current one
DEFAULT_BUCKETS = {"hour": 48, "day": 30, "week": 12, "month": 12}


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  # aware, in the series' time zone
    start_utc: datetime  # naive UTC
    end_utc: datetime  # naive UTC, exclusive


def zone(name: str, *, field: str = "TimeZone") -> ZoneInfo:
    """The IANA time zone called ``name`` (e.g. ``Europe/Berlin``, ``UTC``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise E.InvalidField(
            E.INVALID_VALUE,
            field,
            f"{field} {name[:64]!r} is not an IANA time zone (like Europe/Berlin or UTC)",
        ) from None


def _utc(local: datetime) -> datetime:
    """Naive UTC of an aware local time (a wall time in a gap counts from before the gap)."""
    return local.astimezone(UTC).replace(tzinfo=None)


def _local(utc: datetime, tz: ZoneInfo) -> datetime:
    return utc.replace(tzinfo=UTC).astimezone(tz)


def _floor_date(local: datetime, interval: str) -> datetime:
    """The wall time (aware, fold 0) that starts the day, week or month of ``local``."""
    day = datetime(local.year, local.month, local.day, tzinfo=local.tzinfo)
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def _next_date(start: datetime, interval: str) -> datetime:
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month)


def _hour_floor(utc: datetime, tz: ZoneInfo) -> datetime:
    return _utc(_local(utc, tz).replace(minute=0, second=0, microsecond=0))


def boundaries(interval: str, tz: ZoneInfo, since: datetime, until: datetime) -> list[datetime]:
    """The naive-UTC starts of the buckets that meet ``[since, until)``, then the end of the
    last one."""
    if interval not in INTERVALS:
        raise E.InvalidField(
            E.INVALID_VALUE, "Interval", f"Interval must be one of {', '.join(INTERVALS)}"
        )
    out: list[datetime] = []
    if interval == "hour":
        t = _hour_floor(since, tz)
        while True:
            out.append(t)
            if t >= until:
                return out
            _check(out)
            step = _hour_floor(t + timedelta(hours=1), tz)
            t = step if step > t else t + timedelta(hours=1)
    wall = _floor_date(_local(since, tz), interval)
    while True:
        t = _utc(wall)
        out.append(t)
        if t >= until:
            return out
        _check(out)
        wall = _next_date(wall, interval)


def _check(out: list[datetime]) -> None:
    if len(out) > MAX_BUCKETS:
        raise E.InvalidField(
            E.INVALID_QUERY,
            "Interval",
            f"The range holds more than {MAX_BUCKETS} buckets: choose a longer interval "
            "or a shorter range",
        )


def buckets(interval: str, tz: ZoneInfo, since: datetime, until: datetime) -> list[Bucket]:
    edges = boundaries(interval, tz, since, until)
    return [
        Bucket(start=_local(a, tz), start_utc=a, end_utc=b) for a, b in pairwise(edges) if b > a
    ]


def default_range(
    interval: str, tz: ZoneInfo, since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The range of a series: as given, else ``DEFAULT_BUCKETS`` buckets up to now."""
    end = until or now
    if since is not None:
        return since, end
    edges = boundaries(interval, tz, end, end)
    start = edges[0]
    for _ in range(DEFAULT_BUCKETS.get(interval, 30) - 1):
        start = boundaries(interval, tz, start - timedelta(microseconds=1), start)[0]
    return start, end


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The naive-UTC first instant of a local date."""
    return _utc(datetime(day.year, day.month, day.day, tzinfo=tz))
