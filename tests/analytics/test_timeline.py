"""Bucket boundaries in IANA time zones: local midnights across daylight saving changes
(23- and 25-hour days, a midnight that does not exist), repeated hours, and zones whose
offset is not a whole hour."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from thumbs.analytics import timeline
from thumbs.kit import errors as E


def lengths(zone: str, interval: str, since: datetime, until: datetime) -> list[tuple[str, float]]:
    found = timeline.buckets(interval, timeline.zone(zone), since, until)
    return [(b.start.isoformat(), (b.end_utc - b.start_utc) / timedelta(hours=1)) for b in found]


def test_days_are_23_and_25_hours_long_across_the_clock_changes() -> None:
    spring = lengths("Europe/Berlin", "day", datetime(2026, 3, 28), datetime(2026, 3, 30))
    assert spring == [
        ("2026-03-28T00:00:00+01:00", 24),
        ("2026-03-29T00:00:00+01:00", 23),
        ("2026-03-30T00:00:00+02:00", 24),
    ]
    autumn = lengths(
        "America/New_York", "day", datetime(2026, 11, 1, 12), datetime(2026, 11, 1, 13)
    )
    assert autumn == [("2026-11-01T00:00:00-04:00", 25)]


def test_a_day_whose_midnight_does_not_exist_starts_after_the_gap() -> None:
    # Sao Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04
    found = lengths(
        "America/Sao_Paulo", "day", datetime(2018, 11, 4, 12), datetime(2018, 11, 4, 13)
    )
    assert found == [("2018-11-04T01:00:00-02:00", 23)]


def test_the_repeated_hour_is_two_hour_buckets() -> None:
    found = lengths("America/New_York", "hour", datetime(2026, 11, 1, 5), datetime(2026, 11, 1, 7))
    assert found == [("2026-11-01T01:00:00-04:00", 1), ("2026-11-01T01:00:00-05:00", 1)]


@pytest.mark.parametrize(
    ("zone", "first_utc"),
    [
        ("Asia/Kolkata", datetime(2025, 12, 31, 18, 30)),
        ("Asia/Kathmandu", datetime(2025, 12, 31, 18, 15)),
    ],
)
def test_zones_off_the_whole_hour_have_their_own_boundaries(zone: str, first_utc: datetime) -> None:
    found = timeline.buckets(
        "day", timeline.zone(zone), datetime(2026, 1, 1), datetime(2026, 1, 1, 1)
    )
    assert [b.start_utc for b in found] == [first_utc]


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    weeks = timeline.buckets(
        "week", timeline.zone("UTC"), datetime(2026, 12, 2), datetime(2026, 12, 9)
    )
    assert [b.start.date().isoformat() for b in weeks] == ["2026-11-30", "2026-12-07"]
    months = timeline.buckets(
        "month", timeline.zone("UTC"), datetime(2026, 11, 15), datetime(2027, 1, 2)
    )
    assert [b.start.date().isoformat() for b in months] == [
        "2026-11-01",
        "2026-12-01",
        "2027-01-01",
    ]


def test_unknown_zones_and_too_many_buckets_are_refused() -> None:
    with pytest.raises(E.InvalidField) as unknown:
        timeline.zone("Europe/Atlantis")
    assert unknown.value.code == E.INVALID_VALUE
    with pytest.raises(E.InvalidField) as many:
        timeline.buckets("hour", timeline.zone("UTC"), datetime(2026, 1, 1), datetime(2026, 3, 1))
    assert many.value.code == E.INVALID_QUERY


def test_the_default_range_ends_with_the_current_bucket() -> None:
    now = datetime(2026, 11, 30, 15, 20)
    since, until = timeline.default_range("day", timeline.zone("UTC"), None, None, now)
    assert (since, until) == (datetime(2026, 11, 1), now)
