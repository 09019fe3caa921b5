"""Jobs and the schedules that keep the warehouse in step without anyone watching.

On by default, because without them nothing lands: the daily event sync (yesterday, to pick up the day's
late changes, and today so far) and the daily snapshots (Centra cannot tell past stock or past prices, so a
snapshot missed is missed for good), and the daily check that every raw file is sound (checks.py; it reads
footers, never Centra). Off by default: hourly inventory (intraday stock costs API budget on
every run; turn it on when you need it).

The three sync schedules serve any number of stores: each ticks at its cron (in UTC on a quarter-hour grid when the
stores are in several timezones) and asks for one run per store whose time has come in its own timezone. The
sweep, the sensors and the marts' automation live in realtime/ and marts/; crons and run policy in policy.py.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
from dagster._utils.schedules import cron_string_iterator, reverse_cron_string_iterator  # Dagster's own cron rules

from centra_assets import calendar
from centra_assets.calendar import yesterday_and_today
from centra_assets.entities import ALL
from centra_assets.settings import Settings, Store

from ..policy import FILE_CHECK_CRON, INVENTORY_CRON
from .partitions import key, snapshot_key


def _tables(partition: str, names: set[str] | None = None) -> dg.AssetSelection:
    specs = [s for s in ALL if s.partition == partition and (names is None or s.name in names)]
    return dg.AssetSelection.assets(*[["centra", t.name] for s in specs for t in s.tables])


def build_jobs(file_checks: dg.AssetChecksDefinition) -> dict[str, dg.UnresolvedAssetJobDefinition]:
    return {
        "centra_file_checks": dg.define_asset_job(
            "centra_file_checks",
            selection=dg.AssetSelection.checks(file_checks),
            description="Every raw file of every table, store and day is readable Parquet of its table",
        ),
        "centra_events": dg.define_asset_job(
            "centra_events",
            selection=_tables("event"),
            description="Orders, shipments, returns, purchase orders and deliveries for the chosen days: backfill "
            "any range since CENTRA_START_DATE",
        ),
        "centra_snapshots": dg.define_asset_job(
            "centra_snapshots",
            selection=_tables("snapshot"),
            description="Inventory, catalogue and reference data as they are now, into today's folder (Centra does "
            "not know the past)",
        ),
        "centra_stock": dg.define_asset_job(
            "centra_stock",
            selection=_tables("snapshot", {"inventory"}),
            description="Stock per size and warehouse, as it is now (today's folder, replaced each run)",
        ),
    }


def _days(when: dt.datetime, store: Store) -> tuple[str, str]:
    yesterday, today = yesterday_and_today(when, store.tz)
    return yesterday.isoformat(), today.isoformat()


def _grid(settings: Settings, cron: str) -> tuple[str, str]:
    """(cron, timezone) of a schedule serving every store at `cron` in its own timezone: the cron itself when the
    stores share one timezone; else every 15 minutes in UTC at the cron's minutes (every timezone in use is a
    whole number of quarter hours from UTC, so each store's time is one of these ticks)."""
    zones = {s.timezone for s in settings.stores}
    if len(zones) == 1:
        return cron, zones.pop()
    fires = cron_string_iterator(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp(), cron, "UTC")
    minutes = {next(fires).minute % 15 for _ in range(500)}
    return ",".join(str(m) for m in sorted({m + q for m in minutes for q in (0, 15, 30, 45)})) + " * * * *", "UTC"


def due(settings: Settings, cron: str, tick: dt.datetime, grid: tuple[str, str]) -> list[tuple[Store, dt.datetime]]:
    """The stores whose `cron` (in their timezone) came due since the schedule's previous tick, up to `tick`; and
    when it did. A time the grid misses (a timezone off the quarter hour) is served at the next tick."""
    ticks = reverse_cron_string_iterator(tick.timestamp(), *grid)
    next(ticks)  # the tick itself (or the last one before it)
    previous = next(ticks).timestamp()
    out = []
    for store in settings.stores:
        fire = next(cron_string_iterator(previous + 1, cron, store.timezone))
        if fire.timestamp() <= tick.timestamp():
            out.append((store, fire))
    return out


def build_schedules(settings: Settings, jobs: dict) -> list[dg.ScheduleDefinition]:
    """Three sync schedules whatever the number of stores: each fans out to a run per store whose cron came due, at
    that cron in the store's own timezone, for the store's own day. And the file check: every store's in one run."""

    def schedule(name: str, job: str, cron: str, status: dg.DefaultScheduleStatus, description: str, days: int):
        """`days`: 2 (yesterday and today), 1 (today), 0 (a snapshot, which has no day partition)."""
        grid = _grid(settings, cron)

        @dg.schedule(
            name=name,
            cron_schedule=grid[0],
            job=jobs[job],
            execution_timezone=grid[1],
            default_status=status,
            description=description,
        )
        def _schedule(context: dg.ScheduleEvaluationContext):
            tick = context.scheduled_execution_time or dt.datetime.now(dt.UTC)  # real: the grid is Dagster's cron
            requests = []
            for store, fire in due(settings, cron, tick, grid):
                yesterday, last = _days(calendar.now(fire), store)  # Dagster's cron fires on the machine's clock
                first = yesterday if days == 2 else last
                run_key = f"{name}-{store.name}-{fire.isoformat()}"
                if not days:  # a snapshot is always today's: no day to choose
                    requests.append(dg.RunRequest(run_key=run_key, partition_key=snapshot_key(settings, store)))
                elif first == last:
                    requests.append(dg.RunRequest(run_key=run_key, partition_key=key(settings, store, last)))
                else:  # one run for the store's days (a ranged run, as a backfill's)
                    requests.append(
                        dg.RunRequest(
                            run_key=run_key,
                            tags={
                                "dagster/asset_partition_range_start": str(key(settings, store, first)),
                                "dagster/asset_partition_range_end": str(key(settings, store, last)),
                            },
                        )
                    )
            return requests or dg.SkipReason("no store's time has come")

        return _schedule

    return [
        schedule(
            "centra_daily_events",
            "centra_events",
            settings.events_cron,
            dg.DefaultScheduleStatus.RUNNING,
            "Every day at CENTRA_EVENTS_CRON in each store's timezone, one run per store: yesterday's event data "
            "once more (late changes) and today's so far. On by default: it is the backbone of the sync.",
            2,
        ),
        schedule(
            "centra_daily_snapshots",
            "centra_snapshots",
            settings.snapshot_cron,
            dg.DefaultScheduleStatus.RUNNING,
            "Every day at CENTRA_SNAPSHOT_CRON in each store's timezone, one run per store: inventory, catalogue "
            "and reference data. On by default: a snapshot missed is missed for good.",
            0,
        ),
        schedule(
            "centra_inventory_hourly",
            "centra_stock",
            INVENTORY_CRON,
            dg.DefaultScheduleStatus.STOPPED,
            "Every hour, one run per store: stock per size and warehouse, replacing today's snapshot. Off by "
            "default: intraday stock costs API budget on every run.",
            0,
        ),
        dg.ScheduleDefinition(
            name="centra_daily_file_checks",
            cron_schedule=FILE_CHECK_CRON,
            job=jobs["centra_file_checks"],
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="Every day, the check files_are_sound of every raw table: a file no run wrote (truncated, or "
            "of another table) is named before a mart build fails on it. Reads each file's footer.",
        ),
    ]
