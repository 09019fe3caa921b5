"""When the daily schedules serve each store (defs/raw/schedules.py `due`): at the cron's time on the store's own
clock, once, however many stores and timezones one schedule serves."""

from __future__ import annotations

import datetime as dt

from centra_assets.defs.raw.schedules import _grid, due
from centra_assets.settings import Settings, Store

CRON = "15 0 * * *"  # the daily event sync: 00:15 on each store's clock
UTC = dt.UTC
STORES = (
    Store("nordic", "Europe/Stockholm", "2026-01-01", "https://n.example/graphql", "T_NORDIC"),
    Store("us", "America/New_York", "2026-01-01", "https://u.example/graphql", "T_US"),
    Store("india", "Asia/Kolkata", "2026-01-01", "https://i.example/graphql", "T_IN"),  # UTC+05:30
)
SETTINGS = Settings(stores_file_stores=STORES, events_cron=CRON)
GRID = _grid(SETTINGS, CRON)


def served(tick: dt.datetime) -> list[tuple[str, str]]:
    return [(store.name, fire.isoformat()) for store, fire in due(SETTINGS, CRON, tick, GRID)]


def test_a_store_is_due_at_the_tick_that_reaches_its_local_time_and_at_no_other():
    # 00:15 in Stockholm on 17 November (UTC+1) is 23:15 UTC the day before
    assert served(dt.datetime(2026, 11, 16, 23, 15, tzinfo=UTC)) == [("nordic", "2026-11-17T00:15:00+01:00")]
    assert served(dt.datetime(2026, 11, 16, 23, 30, tzinfo=UTC)) == []
    assert served(dt.datetime(2026, 11, 17, 5, 15, tzinfo=UTC)) == [("us", "2026-11-17T00:15:00-05:00")]


def test_a_store_off_the_quarter_hour_grid_is_served_at_the_next_tick():
    # 00:15 in Kolkata is 18:45 UTC: on the grid; an hour-and-a-half zone would fall between ticks and wait
    assert served(dt.datetime(2026, 11, 16, 18, 45, tzinfo=UTC)) == [("india", "2026-11-17T00:15:00+05:30")]


def test_each_store_is_due_once_a_day_across_a_whole_day_of_ticks():
    ticks = [dt.datetime(2026, 11, 16, 12, tzinfo=UTC) + n * dt.timedelta(minutes=15) for n in range(96)]
    names = sorted(name for tick in ticks for name, _ in served(tick))
    assert names == ["india", "nordic", "us"]
