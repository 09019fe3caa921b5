"""Where announced records live, and the refresh run that re-fetches them.

Webhooks, events and the sweep are hints, not truth: each record they name is re-fetched from the API by a
targeted refresh run (`SyncConfig.refresh_keys`) of the partition it belongs to. The partition comes from what the
warehouse already holds, with one light API call for keys it has never seen (new orders). Run keys are derived
from the records they cover: re-evaluating a tick asks for the same runs.
"""

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple
from zoneinfo import ZoneInfo

import dagster as dg

from centra_assets.calendar import day_of
from centra_assets.centra.client import CentraClient
from centra_assets.centra.pagination import fetch_pages
from centra_assets.entities import ALL, BY_NAME
from centra_assets.entities.query import plan_for
from centra_assets.entities.spec import EntitySpec, flatten
from centra_assets.settings import Settings, Store
from centra_assets.warehouse import files, layout
from centra_assets.warehouse.parquet import table_files

from ..policy import REFRESH_PRIORITY
from ..raw.partitions import key
from ..raw.sync import filed_day

CHANGING = tuple(s for s in ALL if s.partition == "event" and s.refresh_field)  # data types refreshed by key
TAG = "centra/refresh"  # a refresh run's tag: its run key, by which the sensor that asked for it follows it up
LOOKUP_CHUNK = 200


def light_records(client: CentraClient, spec: EntitySpec, where: dict, tz: dt.tzinfo = dt.UTC) -> list[dict]:
    """Every record matching `where`, as the light query fitted to the store (`spec.changes`) reads it: rows of
    the key, creation time, last change and state columns (None where the store lacks the field)."""
    light = spec.changes
    plan = plan_for(client, light)
    table = light.tables[0]
    records = [
        r
        for page in fetch_pages(
            lambda p: client.execute(plan.document, {"where": where, "limit": LOOKUP_CHUNK, "page": p}).data[spec.root],
            LOOKUP_CHUNK,
            2,
        )
        for r in page
    ]
    return flatten(table, records, plan.paths[table.name], tz=tz)


def has_column(client: CentraClient, spec: EntitySpec, column: str | None) -> str | None:
    """`column` if the store's schema has its field (the fitted light query selects it), else None."""
    light = spec.changes
    return column if column and plan_for(client, light).paths[light.tables[0].name].get(column) else None


def light_by_key(client: CentraClient, spec: EntitySpec, keys: Iterable, tz: dt.tzinfo = dt.UTC) -> list[dict]:
    ordered = sorted(keys)
    return [
        r
        for i in range(0, len(ordered), LOOKUP_CHUNK)
        for r in light_records(client, spec, {spec.refresh_field: ordered[i : i + LOOKUP_CHUNK]}, tz)
    ]


def held_in_warehouse(root: str, spec: EntitySpec, select: str, where: str, params: list) -> list[tuple]:
    """Rows of the data type's first table, from every file of it that is sound. A file that is not (truncated, or
    another table's) is skipped and named in the log, once per process, so every other day's records are still
    found; the check `files_are_sound` fails on it, and a sync of its day replaces it."""
    table = spec.tables[0]
    with files.connect(root) as con:
        sound, bad = table_files(con, layout.partition_path(root, table.name, "*"), table.schema, table.key)
        for path, problem in bad.items():
            if (path, problem) not in _REPORTED:
                _REPORTED.add((path, problem))
                dg.get_dagster_logger().warning(
                    f"Skipped {path} in locating {spec.name} records ({problem}). Re-sync that day to replace it."
                )
        if not sound:
            return []
        return con.execute(
            f"SELECT {select} FROM read_parquet(?, hive_partitioning = true) WHERE {where}", [sound, *params]
        ).fetchall()


_REPORTED: set[tuple[str, str]] = set()  # the bad files this process has named already


def locate(
    spec: EntitySpec, keys: Iterable[int], root: str, tz: ZoneInfo, client: CentraClient | None
) -> dict[str, set[int]]:
    """day -> keys: from the warehouse where the record was seen, else from Centra (one call per 200 keys)."""
    keys = set(keys)
    column = spec.tables[0].key[0]
    days: dict[str, set[int]] = defaultdict(set)
    if keys:
        for day, key in held_in_warehouse(
            root, spec, f"DISTINCT CAST(date AS VARCHAR), {column}", f"{column} IN (SELECT unnest(?))", [sorted(keys)]
        ):
            days[day].add(key)
            keys.discard(key)
    if keys and client is not None:
        created = spec.column_of(spec.date_field)
        for row in light_by_key(client, spec, keys, tz):
            days[day_of(row[created], tz).isoformat()].add(row[column])
    return days


def refresh_request(
    settings: Settings,
    store: Store,
    keys: dict[str, Iterable],
    days: Iterable[str],
    reason: str,
    attempt: int = 1,
) -> dg.RunRequest:
    """One run refreshing the given records (data type -> keys) of one store, over the partitions from the first
    to the last of `days` (each op fetches its records once and merges each into its own day)."""
    keys = {name: sorted(set(k)) for name, k in sorted(keys.items()) if k}
    days = sorted(set(days))
    digest = hashlib.sha1(f"{store.name}|{days[0]}|{days[-1]}|{keys}".encode()).hexdigest()[:12]
    run_key = f"{reason}:{store.name}:{days[0]}..{days[-1]}:{digest}:{attempt}"
    first, last = str(key(settings, store, days[0])), str(key(settings, store, days[-1]))
    tags = {TAG: run_key, "centra/reason": reason, "dagster/priority": str(REFRESH_PRIORITY)}
    if first != last:
        tags |= {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    return dg.RunRequest(
        run_key=run_key,
        partition_key=None if first != last else key(settings, store, days[0]),
        asset_selection=[dg.AssetKey(["centra", t.name]) for name in keys for t in BY_NAME[name].tables],
        run_config={
            # a few records per data type: its steps one after the other in the run's own process (which has the
            # code loaded), not each forked from a forkserver that imports it again; one pool slot at a time
            "execution": {"config": {"in_process": {}}},
            "ops": {f"centra_{name}": {"config": {"refresh_keys": [str(k) for k in k_]}} for name, k_ in keys.items()},
        },
        tags=tags,
    )


class Planned(NamedTuple):
    request: dg.RunRequest
    keys: dict[str, list[int]]  # data type -> keys
    store: str
    days: list[str]


def plan_refresh(
    located: dict[str, dict[str, set[int]]], settings: Settings, store: Store, reason: str
) -> list[Planned]:
    """One refresh run per store for the located keys (data type -> day -> keys), over the days they span.
    A record created within its data type's reach before the store's CENTRA_START_DATE lives in the start date's
    partition (`filed_day`); records of days before that are not in the warehouse and are left out."""
    start = dt.date.fromisoformat(store.start_date)
    filed: dict[str, dict[str, set[int]]] = {}
    for name, by_day in located.items():
        filed[name] = defaultdict(set)
        for d, ks in by_day.items():
            day = filed_day(BY_NAME[name], dt.date.fromisoformat(d), start)
            if day >= start:
                filed[name][day.isoformat()] |= ks
    located = filed
    keys = {name: sorted({k for ks in by_day.values() for k in ks}) for name, by_day in located.items()}
    keys = {name: k for name, k in keys.items() if k}
    days = sorted({d for name, by_day in located.items() for d, ks in by_day.items() if ks})
    if not keys:
        return []
    return [Planned(refresh_request(settings, store, keys, days, reason), keys, store.name, days)]


def refresh_announced(
    announced: dict[str, set[int]], settings: Settings, store: Store, client, reason: str
) -> list[Planned]:
    """The refresh run for the announced keys (data type -> keys) that could be located."""
    root = layout.store_root(settings.warehouse_dir, store)
    located = {name: locate(BY_NAME[name], keys, root, store.tz, client) for name, keys in announced.items()}
    return plan_refresh(located, settings, store, reason)


def refreshable_keys(assets: list) -> list[dg.AssetKey]:
    """The asset keys a refresh run can target: every table of the event data types."""
    names = {f"centra_{s.name}" for s in CHANGING}
    return [key for a in assets if a.op.name in names for key in a.keys]
