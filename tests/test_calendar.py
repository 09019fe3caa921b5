"""The store-day rule (centra_assets/calendar.py): a store's day runs from its local midnight to the second before
the next one, in absolute time, on every day of the year, in every timezone, including the days the clock changes
at midnight (Chile, Greenland)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from zoneinfo import ZoneInfo

import pytest

from centra_assets.calendar import day_of, day_window

SECOND, HOUR = dt.timedelta(seconds=1), dt.timedelta(hours=1)


def test_a_day_window_follows_the_store_timezone_across_dst():
    tz = ZoneInfo("Europe/Stockholm")
    assert day_window(dt.date(2026, 3, 29), tz) == ("2026-03-29T00:00:00+01:00", "2026-03-29T23:59:59+02:00")
    assert day_window(dt.date(2026, 10, 25), tz) == ("2026-10-25T00:00:00+02:00", "2026-10-25T23:59:59+01:00")


# Days the clock changes at local midnight in 2026 (tzdata on this machine; the first test checks they are), and
# each one's first and last instant as Centra is asked for them.
CLOCK_CHANGE_DAYS = {
    # 24:00 -03 becomes 23:00 -04: the day's last hour comes twice (25 hours)
    ("America/Santiago", "2026-04-04"): ("2026-04-04T00:00:00-03:00", "2026-04-04T23:59:59-04:00"),
    # 00:00 -04 becomes 01:00 -03: the day starts at one o'clock (23 hours)
    ("America/Santiago", "2026-09-06"): ("2026-09-06T01:00:00-03:00", "2026-09-06T23:59:59-03:00"),
    # 23:00 -02 becomes 00:00 -01 of the next day: the day ends at eleven (23 hours)
    ("America/Nuuk", "2026-03-28"): ("2026-03-28T00:00:00-02:00", "2026-03-28T22:59:59-02:00"),
    # 24:00 -01 becomes 23:00 -02: the day's last hour comes twice (25 hours)
    ("America/Nuuk", "2026-10-24"): ("2026-10-24T00:00:00-01:00", "2026-10-24T23:59:59-02:00"),
}


def window_of(zone: str, day: str) -> tuple[dt.datetime, dt.datetime]:
    return tuple(map(dt.datetime.fromisoformat, CLOCK_CHANGE_DAYS[zone, day]))


@pytest.mark.parametrize(("zone", "day"), CLOCK_CHANGE_DAYS)
def test_a_clock_change_day_runs_from_its_first_instant_to_the_second_before_the_next_days(zone, day):
    tz, date = ZoneInfo(zone), dt.date.fromisoformat(day)
    first, last = window_of(zone, day)
    offsets = {(first + n * HOUR).astimezone(tz).utcoffset() for n in range(-2, 27)}
    assert len(offsets) == 2, f"{zone} changes its clock around {day} (tzdata)"
    assert (last + SECOND - first) != dt.timedelta(days=1)

    window = day_window(date, tz)
    assert all(dt.datetime.fromisoformat(end).utcoffset() is not None for end in window), "explicit offsets"
    assert tuple(map(dt.datetime.fromisoformat, window)) == (first, last)  # the same instants
    assert day_of(first, tz) == day_of(last, tz) == date
    assert day_of(first - SECOND, tz) == date - dt.timedelta(days=1)
    assert day_of(last + SECOND, tz) == date + dt.timedelta(days=1)


def test_days_follow_each_other_without_gap_or_overlap_in_every_timezone():
    """For every day of 2026 in every timezone tzdata knows: a day starts the second after the previous one ends,
    and day_of (the rule a refreshed record and a webhook's record are filed by) files both ends under the day."""
    for zone in sorted(zoneinfo.available_timezones()):
        tz, previous_end = ZoneInfo(zone), None
        for n in range(365):
            date = dt.date(2026, 1, 1) + dt.timedelta(days=n)
            first, last = map(dt.datetime.fromisoformat, day_window(date, tz))
            assert day_of(first, tz) == date == day_of(last, tz), zone
            assert previous_end is None or first - previous_end == SECOND, (zone, date)
            previous_end = last
