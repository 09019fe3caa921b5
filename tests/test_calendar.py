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


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("", 0), ("-3600", -3600), ("+90m", 5400), ("3h", 10800), ("-42d", -42 * 86400), (" 1.5s ", 1.5)],
)
def test_the_clock_offset_is_seconds_or_a_number_with_a_unit(value, seconds):
    from centra_assets.settings import clock_offset

    assert clock_offset({"CENTRA_CLOCK_OFFSET": value}) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["yesterday", "2026-10-25", "-3w", "1 d 2h"])
def test_a_malformed_clock_offset_fails_when_the_settings_are_read_and_says_what_it_expects(value):
    from centra_assets.settings import settings_from_env

    with pytest.raises(ValueError, match="CENTRA_CLOCK_OFFSET=.* is not an offset such as -42d"):
        settings_from_env({"CENTRA_CLOCK_OFFSET": value})


def test_the_products_clock_runs_the_offset_away_from_the_machines_and_shifts_instants_read_elsewhere(monkeypatch):
    from centra_assets import calendar

    monkeypatch.setenv("CENTRA_CLOCK_OFFSET", "-42d")
    before = dt.datetime.now(dt.UTC)
    now = calendar.now()
    after = dt.datetime.now(dt.UTC)
    assert before - dt.timedelta(days=42) <= now <= after - dt.timedelta(days=42) and now.tzinfo == dt.UTC
    started = dt.datetime(2026, 12, 6, 14, 30, tzinfo=dt.UTC)  # a run's start, a schedule's tick: the machine's
    replayed = dt.datetime(2026, 10, 25, 14, 30, tzinfo=dt.UTC)
    assert calendar.now(started) == calendar.now(started.timestamp()) == replayed


def test_snapshots_and_the_daily_event_sync_take_their_days_from_the_shifted_clock(monkeypatch):
    """A replay 42 days back: a snapshot run that started on 6 December stores under 25 October, and the daily
    schedule's tick of 7 December asks for 25 and 26 October (yesterday and today on the product's clock)."""
    import dagster as dg

    from centra_assets.defs import build_definitions
    from centra_assets.defs.raw.partitions import snapshot_days
    from centra_assets.settings import Settings

    monkeypatch.setenv("CENTRA_CLOCK_OFFSET", "-42d")
    tz = ZoneInfo("Europe/Stockholm")
    settings = Settings(timezone=tz.key, start_date="2026-01-01")
    started = dt.datetime(2026, 12, 6, 15, 30, tzinfo=tz).timestamp()
    assert snapshot_days(settings, [], started) == [(settings.stores[0], dt.date(2026, 10, 25))]
    definitions = build_definitions(settings)
    schedule = definitions.get_schedule_def("centra_daily_events")
    tick = dt.datetime(2026, 12, 7, 0, 15, tzinfo=tz)
    context = dg.build_schedule_context(scheduled_execution_time=tick, repository_def=definitions.get_repository_def())
    (run,) = schedule.evaluate_tick(context).run_requests
    assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
        "2026-10-25",
        "2026-10-26",
    )
