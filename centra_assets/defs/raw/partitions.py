"""Partitions: the day (one store), or day by store (several stores, from CENTRA_STORES_FILE).

Event data is partitioned by day: any past day can be asked of Centra again. Snapshots are not: Centra only
knows the present, so a past day's snapshot can never be fetched, and a daily partition for it would read
"missing" for ever and fail when asked for. A snapshot asset is therefore one partition per store (none with a
single store): each materialization takes today's snapshot, stored under today's date in the warehouse, and
the history of snapshots is the asset's history of materializations.

Everything that makes or reads a partition key goes through `key()`, `snapshot_key()` and `store_days()`, so
the rest of the code does not care which of them it is.
"""

import datetime as dt

import dagster as dg

from centra_assets import calendar
from centra_assets.calendar import day_of, utc_offsets
from centra_assets.settings import Settings, Store

DATE, STORE = "date", "store"


def partitions(settings: Settings) -> dg.PartitionsDefinition:
    """Event data: by day, or by day and store."""
    if not settings.multi_store:
        return dg.DailyPartitionsDefinition(start_date=settings.start_date, timezone=settings.timezone, end_offset=1)

    # One date dimension for every store: from the earliest start, and "today" as the store furthest east
    # sees it, so each store's today exists. A store's day is still cut in its own timezone when synced.
    # Offsets are compared in January and July (fixed instants: the definition is the same in every process):
    # when daylight saving makes no store furthest east all year (Santiago and Halifax swap), the dimension
    # runs a day further, so no store's today is ever missing.
    east = max(settings.stores, key=lambda s: max(utc_offsets(s.tz)))
    always_east = all(
        a >= b for s in settings.stores for a, b in zip(utc_offsets(east.tz), utc_offsets(s.tz), strict=True)
    )
    return dg.MultiPartitionsDefinition(
        {
            DATE: dg.DailyPartitionsDefinition(
                start_date=min(s.start_date for s in settings.stores),
                timezone=east.timezone,
                end_offset=1 if always_east else 2,
            ),
            STORE: dg.StaticPartitionsDefinition([s.name for s in settings.stores]),
        }
    )


def snapshot_partitions(settings: Settings) -> dg.PartitionsDefinition | None:
    """Snapshots: one partition per store (several stores), or none (one store); never by day."""
    return dg.StaticPartitionsDefinition([s.name for s in settings.stores]) if settings.multi_store else None


def partitions_for(settings: Settings, kind: str) -> dg.PartitionsDefinition | None:
    return partitions(settings) if kind == "event" else snapshot_partitions(settings)


def key(settings: Settings, store: str | Store, day: str | dt.date) -> str | dg.MultiPartitionKey:
    """The partition of an event data type's day."""
    if not settings.multi_store:
        return str(day)
    return dg.MultiPartitionKey({DATE: str(day), STORE: getattr(store, "name", store)})


def snapshot_key(settings: Settings, store: str | Store) -> str | None:
    """The partition of a store's snapshot: the store's name, or None with a single store."""
    return getattr(store, "name", store) if settings.multi_store else None


def store_days(settings: Settings, keys: list[str]) -> list[tuple[Store, dt.date]]:
    """(store, day) for each partition key of an event data type's run."""
    if not settings.multi_store:
        store = settings.stores[0]
        return [(store, dt.date.fromisoformat(k)) for k in keys]
    definition = partitions(settings)
    out = []
    for k in keys:
        by = definition.get_partition_key_from_str(k).keys_by_dimension
        out.append((settings.store(by[STORE]), dt.date.fromisoformat(by[DATE])))
    return out


def snapshot_days(settings: Settings, keys: list[str], now: float | None = None) -> list[tuple[Store, dt.date]]:
    """(store, today in its timezone) for each store a snapshot run takes (every store when unpartitioned).
    `now`: the run's start (epoch seconds), so every step of a run that crosses midnight stores under one day."""
    stores = [settings.store(k) for k in keys] if keys else list(settings.stores)
    instant = calendar.now(now)  # the run's start on the product's clock (CENTRA_CLOCK_OFFSET)
    return [(s, day_of(instant, s.tz)) for s in stores]
