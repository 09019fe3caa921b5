"""Jobs and the schedules that keep the warehouse in step without anyone watching.

On by default, because without them nothing lands: the daily event sync (yesterday, to pick up the day's
late changes, and today so far) and the daily snapshots (Centra cannot tell past stock or past prices, so a
snapshot missed is missed for good). Off by default: hourly inventory (intraday stock costs API budget on
every run; turn it on when you need it). The sweep, the sensors and the marts' automation live in
realtime.py and analytics.py.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from centra_assets.entities import ALL
from centra_assets.settings import Settings, Store

from .partitions import key, snapshot_key


def _tables(partition: str, names: set[str] | None = None) -> dg.AssetSelection:
    specs = [s for s in ALL if s.partition == partition and (names is None or s.name in names)]
    return dg.AssetSelection.assets(*[["centra", t.name] for s in specs for t in s.tables])


def build_jobs() -> dict[str, dg.UnresolvedAssetJobDefinition]:
    return {
        "centra_events": dg.define_asset_job(
            "centra_events",
            selection=_tables("event"),
            description="Orders, shipments, returns, purchase orders and deliveries for the chosen days: backfill "
            "any range since CENTRA_START_DATE",
        ),
        "centra_snapshots": dg.define_asset_job(
            "centra_snapshots",
            selection=_tables("snapshot"),
            description="Inventory, catalogue and reference data as they are now (today's partition only: Centra "
            "does not know the past)",
        ),
        "centra_stock": dg.define_asset_job(
            "centra_stock",
            selection=_tables("snapshot", {"inventory"}),
            description="Stock per size and warehouse, as it is now (today's partition, replaced each run)",
        ),
    }


def _days(context: dg.ScheduleEvaluationContext, store: Store) -> tuple[str, str]:
    now = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).astimezone(store.tz)
    return (now.date() - dt.timedelta(days=1)).isoformat(), now.date().isoformat()


def build_schedules(settings: Settings, jobs: dict) -> list[dg.ScheduleDefinition]:
    """The daily schedules, once per store (named `<schedule>_<store>` when there are several), each running at
    its cron in the store's own timezone."""
    schedules = []
    for store in settings.stores:
        suffix = f"_{store.name}" if settings.multi_store else ""
        schedules += _store_schedules(settings, store, suffix, jobs)
    return schedules


def _store_schedules(settings: Settings, store: Store, suffix: str, jobs: dict) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name=f"centra_daily_events{suffix}",
        cron_schedule=settings.events_cron,
        job=jobs["centra_events"],
        execution_timezone=store.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every day: yesterday's event data once more (late changes) and today's so far. On by "
        "default: it is the backbone of the sync.",
    )
    def centra_daily_events(context: dg.ScheduleEvaluationContext):
        yesterday, today = _days(context, store)
        return [
            dg.RunRequest(
                run_key=f"events-{store.name}-{day}-{context.scheduled_execution_time}",
                partition_key=key(settings, store, day),
            )
            for day in (yesterday, today)
        ]

    def snapshot(name: str, job: str, cron: str, status: dg.DefaultScheduleStatus, description: str):
        @dg.schedule(
            name=f"{name}{suffix}",
            cron_schedule=cron,
            job=jobs[job],
            execution_timezone=store.timezone,
            default_status=status,
            description=description,
        )
        def _schedule(context: dg.ScheduleEvaluationContext):
            return dg.RunRequest(
                run_key=f"{name}-{store.name}-{context.scheduled_execution_time}",
                partition_key=snapshot_key(settings, store),  # a snapshot is always today's: no day to choose
            )

        return _schedule

    return [
        centra_daily_events,
        snapshot(
            "centra_daily_snapshots",
            "centra_snapshots",
            settings.snapshot_cron,
            dg.DefaultScheduleStatus.RUNNING,
            "Every day at CENTRA_SNAPSHOT_CRON: inventory, catalogue and reference data. On by default: a "
            "snapshot missed is missed for good.",
        ),
        snapshot(
            "centra_inventory_hourly",
            "centra_stock",
            "5 * * * *",
            dg.DefaultScheduleStatus.STOPPED,
            "Every hour: stock per size and warehouse, replacing today's snapshot. Off by default: intraday stock "
            "costs API budget on every run.",
        ),
    ]
