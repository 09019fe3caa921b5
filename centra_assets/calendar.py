"""The store day: the one rule that cuts time into the days the warehouse is partitioned by.

A store day runs from the store's local midnight to the next, cut in UTC (23 or 25 hours on the days the clock
changes). Every path that files a record under a day (the full sync, a refresh, the sensors and the sweep), every
schedule that picks a store's days, and the freshness policy's longest day use these functions; the dbt macro
`local_day` (dbt_models/macros/local_day.sql) is the same rule in SQL.

It also holds the product's one clock, `now`: every reading of the current date or time that decides a day, a
window or a timestamp stored goes through it, so CENTRA_CLOCK_OFFSET (settings.clock_offset) shifts them all
together. Durations and real-time mechanics (pacing by Centra's rate limits, webhook signature ages, stale temp
files) keep the machine's clock: they are measured against other real clocks. Imports only `settings`.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from centra_assets.settings import clock_offset

DAY = dt.timedelta(days=1)
# Two fixed instants, in winter and summer: a timezone's offsets compared at them are the same in every process.
WINTER_AND_SUMMER = (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 7, 1, tzinfo=dt.UTC))


def now(real: dt.datetime | float | None = None) -> dt.datetime:
    """The product's current time (aware, UTC): the machine's clock shifted by CENTRA_CLOCK_OFFSET. `real`: an
    instant read from the machine's clock elsewhere (a run's start time from Dagster, a schedule's tick, as a
    datetime or epoch seconds), shifted the same way."""
    if real is None:
        instant = dt.datetime.now(dt.UTC)
    elif isinstance(real, dt.datetime):
        instant = real.astimezone(dt.UTC)
    else:
        instant = dt.datetime.fromtimestamp(real, dt.UTC)
    return instant + clock_offset()


def day_start(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The first instant of a store day: its local midnight, the first of the two when the clock goes back over
    midnight, the end of the jump when the clock jumps over it (fold 0 reads a skipped time with the offset before
    the jump; tzdata's jumps over midnight all start at it)."""
    return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)


def day_window(day: dt.date, tz: ZoneInfo) -> tuple[str, str]:
    """The day as a Centra DateRange: its first instant to the second before the next day's, in absolute time (a
    day the clock changes lasts 23 or 25 hours), with explicit offsets so Centra's own timezone does not matter."""
    end = day_start(day + DAY, tz) - dt.timedelta(seconds=1)
    return day_start(day, tz).astimezone(tz).isoformat(), end.astimezone(tz).isoformat()


def day_of(instant: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The store day an instant belongs to: the day whose `day_window` holds it. The one rule for every path that
    files a record under a day (the full sync, a refresh, the webhook sensor)."""
    return instant.astimezone(tz).date()


def yesterday_and_today(instant: dt.datetime, tz: dt.tzinfo) -> tuple[dt.date, dt.date]:
    """The store day before the one `instant` belongs to, and that day."""
    today = day_of(instant, tz)
    return today - DAY, today


@cache
def longest_day(timezone: str) -> dt.timedelta:
    """The longest day of the timezone's calendar, from local midnight to local midnight: 25 hours where the clock
    goes back an hour (most of Europe and the Americas), 24 where it never changes. Read over fixed years (today's
    rules, and the years ahead they extend to), so every process builds the same definitions."""
    tz, first = ZoneInfo(timezone), dt.date(2025, 1, 1)
    days = (first + dt.timedelta(days=n) for n in range((dt.date(2036, 1, 1) - first).days))
    return max(day_start(d + DAY, tz) - day_start(d, tz) for d in days)


def utc_offsets(tz: dt.tzinfo) -> tuple[dt.timedelta | None, ...]:
    """The timezone's offsets from UTC in winter and in summer (fixed instants: the same in every process)."""
    return tuple(instant.astimezone(tz).utcoffset() for instant in WINTER_AND_SUMMER)
