"""Partitions: the day (one store), or day by store (several stores, from CENTRA_STORES_FILE).

Everything that makes or reads a partition key goes through `key()` and `store_days()`, so the rest of the
code does not care which of the two it is.
"""

import datetime as dt

import dagster as dg

from centra_assets.settings import Settings, Store

DATE, STORE = "date", "store"


def partitions(settings: Settings) -> dg.PartitionsDefinition:
    if not settings.multi_store:
        return dg.DailyPartitionsDefinition(start_date=settings.start_date, timezone=settings.timezone, end_offset=1)
    # One date dimension for every store: from the earliest start, and "today" as the store furthest east
    # sees it, so each store's today exists. A store's day is still cut in its own timezone when synced.
    # (compared at a fixed instant, so the definition is the same in every process)
    instant = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    east = max(settings.stores, key=lambda s: instant.astimezone(s.tz).utcoffset())
    return dg.MultiPartitionsDefinition(
        {
            DATE: dg.DailyPartitionsDefinition(
                start_date=min(s.start_date for s in settings.stores), timezone=east.timezone, end_offset=1
            ),
            STORE: dg.StaticPartitionsDefinition([s.name for s in settings.stores]),
        }
    )


def key(settings: Settings, store: str | Store, day: str | dt.date) -> str | dg.MultiPartitionKey:
    if not settings.multi_store:
        return str(day)
    return dg.MultiPartitionKey({DATE: str(day), STORE: getattr(store, "name", store)})


def store_days(settings: Settings, keys: list[str]) -> list[tuple[Store, dt.date]]:
    """(store, day) for each partition key of a run."""
    if not settings.multi_store:
        store = settings.stores[0]
        return [(store, dt.date.fromisoformat(k)) for k in keys]
    definition = partitions(settings)
    out = []
    for k in keys:
        by = definition.get_partition_key_from_str(k).keys_by_dimension
        out.append((settings.store(by[STORE]), dt.date.fromisoformat(by[DATE])))
    return out
