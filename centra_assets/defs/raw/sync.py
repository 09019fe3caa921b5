"""Pull one day of one Centra data type into the warehouse, or refresh given records in it.

Plain functions (no Dagster), so the asset factory stays thin and the logic is testable on its own.
Event data: the day is the store-timezone day the record was created, queried as a `DateRange` on the
spec's date field. Snapshots: Centra only knows the present, so only today's snapshot can be fetched.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from centra_assets import calendar
from centra_assets.calendar import day_of, day_window
from centra_assets.centra.client import CentraClient
from centra_assets.centra.pagination import fetch_pages
from centra_assets.entities.query import QueryPlan, lacking_fields, plan_for
from centra_assets.entities.spec import EntitySpec, Table, check_nested_limits, flatten, get, to_utc
from centra_assets.warehouse import turns
from centra_assets.warehouse.parquet import (
    PartitionWriter,
    partition_exists,
    partition_is_current,
    read_partition,
    replace_records,
)
from centra_assets.warehouse.publish import published_together
from centra_assets.warehouse.turns import TurnLock

log = logging.getLogger("centra_assets.sync")
REFRESH_CHUNK = 200  # keys per refresh query: the page size Centra allows
RECOUNTS = 3  # counts after the pages are read, while records keep arriving


class SnapshotUnavailable(RuntimeError):
    """A past snapshot day that was never stored: Centra cannot be asked about the past."""


@dataclass
class SyncResult:
    spec: str
    day: str
    rows: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    requests: int = 0
    complexity: int = 0
    seconds: float = 0.0
    window: tuple[str, str] | None = None
    centra_total: int | None = None
    kept_existing: bool = False
    root: str = ""  # the store's root in the warehouse
    store: str = ""
    lacking: list[str] = field(default_factory=list)  # columns left NULL: the store's schema lacks their field
    alternatives: dict[str, str] = field(default_factory=dict)  # table.column -> the alternative field used
    app_version: str | None = None
    refreshed: int | None = None  # a targeted refresh: the records merged into the partition (None: a full sync)
    # A targeted refresh: table -> the records whose rows it changed in the partition (None: a full sync, which
    # writes every table). A table with none keeps its partition, and its latest materialization, as they were.
    changed: dict[str, list] | None = None
    shared_by: int = 1  # the partitions one refresh's fetch served: its pages, requests and complexity are theirs

    def wrote(self, table: str) -> bool:
        """Whether this run wrote the table's partition: a full sync, or a refresh that changed records in it."""
        return not self.kept_existing and (self.changed is None or bool(self.changed.get(table)))

    def note(self, plan: QueryPlan) -> None:
        self.lacking, self.alternatives, self.app_version = lacking_fields(plan), plan.alternatives, plan.app_version


def _audit(rows: list[dict], audit: dict[str, str], loaded_at: dt.datetime) -> list[dict]:
    """Stamp rows with where they came from (`_store`, `_source`) and when they were loaded."""
    for row in rows:
        row.update(audit)
        row["_loaded_at"] = loaded_at
    return rows


def sync_partition(
    client: CentraClient,
    spec: EntitySpec,
    root: str,
    day: dt.date,
    tz: ZoneInfo,
    audit: dict[str, str],
    concurrency: int = 4,
    progress=None,
    today: dt.date | None = None,
    lock: TurnLock | None = None,
    start: dt.date | None = None,
) -> SyncResult:
    """Replace one day's partition of every table of `spec` with what Centra holds now: every table's partition
    published together, in a turn of `lock` (publish.published_together). `today`: the snapshot day the caller's
    run takes (its start's day; by default now's), so a step that passes midnight still stores it. `start`: the
    store's start date, whose partition also holds the records of the spec's reach before it (`filed_day`)."""
    with turns.writing(lock, [_written(root, spec, day)], f"{spec.name} {day}", "a sync"):
        result = SyncResult(spec.name, day.isoformat(), root=root, store=audit["_store"])
        if spec.partition == "snapshot":
            today = today or day_of(calendar.now(), tz)
            if day != today:
                if all(partition_exists(root, t.name, day) for t in spec.tables):
                    result.kept_existing = True
                    result.rows = {t.name: read_partition(root, t.name, day).num_rows for t in spec.tables}
                    return result
                raise SnapshotUnavailable(
                    f"Centra only knows the present: the {spec.name} snapshot for {day} was not stored on that day and "
                    f"cannot be fetched now. Only today's ({today}, {tz.key}) can be materialized."
                )
            where = None
        else:
            result.window = partition_window(spec, day, tz, start)
            where = {spec.date_field: {"from": result.window[0], "to": result.window[1]}}
        before = (client.stats.requests, client.stats.complexity)
        started = time.monotonic()

        def count() -> int:
            (counted,) = client.execute(spec.count_query, {"where": where}).data.values()
            return counted["totalCount"]

        with ThreadPoolExecutor(1) as pool:  # Centra counts while the store's schema is learnt (a new store)
            counting = pool.submit(count) if spec.count_query else None
            plan = plan_for(client, spec)
            result.centra_total = counting.result() if counting else None  # exact pages to fetch; the row-count check
        result.note(plan)
        loaded_at = calendar.now()
        writers = {t.name: PartitionWriter(root, t.name, day, t.schema, t.key) for t in spec.tables}
        # A record is known by its own table's key (the table read from the record itself, not from a list in it):
        # the first table may be a list's, written empty on a store that lacks the list (inventory without
        # ProductSize.stock)
        own = next((t for t in spec.tables if t.rows_at is None), spec.tables[0])
        key_path = own.record_path(plan.paths[own.name][own.key[0]])
        seen: set = set()  # the records written, by key
        records = 0

        def fetch(page: int) -> list[dict]:
            variables = {"where": where, "limit": spec.page_size, "page": page}
            return client.execute(plan.document, variables).data[spec.root]

        def read(total: int | None, first_page: int = 1) -> None:
            nonlocal records
            for page in fetch_pages(fetch, spec.page_size, spec.concurrency or concurrency, total, first_page):
                if first_page > 1:  # a page read again for the records added since: skip those already written
                    page = [r for r in page if get(r, key_path) not in seen]
                check_nested_limits(spec, page)
                result.pages += 1
                records += len(page)
                if spec.count_query:
                    seen.update(get(r, key_path) for r in page)
                for t in spec.tables:
                    writers[t.name].write(_audit(flatten(t, page, plan.paths[t.name], tz=tz), audit, loaded_at))
                if progress:
                    progress(records, result.centra_total, time.monotonic() - started)

        try:
            read(result.centra_total)
            # Counted again once the pages are read: records created meanwhile (today's partition) are read too, so
            # the row-count check compares with what Centra holds after the run, not before it. New records sort last
            # (numbers and ids are given out in order), so only the pages from the last one read are asked again.
            for _ in range(RECOUNTS if spec.count_query and _may_grow(result.window) else 0):
                result.centra_total = count()
                if result.centra_total <= records:
                    break
                read(result.centra_total, records // spec.page_size + 1)
            with published_together(lock):
                for t in spec.tables:
                    writers[t.name].commit()
                    result.rows[t.name] = writers[t.name].rows
        except BaseException:
            for writer in writers.values():
                writer.abort()
            raise
        result.requests = client.stats.requests - before[0]
        result.complexity = client.stats.complexity - before[1]
        result.seconds = time.monotonic() - started
        return result


def _may_grow(window: tuple[str, str] | None) -> bool:
    """Whether records can still be created in the window: it has not ended an hour ago (for clock skew)."""
    return window is not None and dt.datetime.fromisoformat(window[1]) > calendar.now() - dt.timedelta(hours=1)


def filed_day(spec: EntitySpec, created: dt.date, start: dt.date | None) -> dt.date:
    """The partition a record created on the store day `created` lives in: that day, or the start date's for a
    record created within the spec's reach before the start date (the start's sync reads those too). The one rule
    for the sync, a refresh and the sensors that locate a record."""
    reach = dt.timedelta(days=spec.reach_before_start)
    return start if start is not None and reach and start - reach <= created < start else created


def partition_window(spec: EntitySpec, day: dt.date, tz: ZoneInfo, start: dt.date | None) -> tuple[str, str]:
    """The creation window an event partition holds (`filed_day`): its store day, reaching back the spec's reach on
    the start date. A sync asks Centra for it; a refresh of a few of its records records it too (the soak test: a
    refresh of the start date's purchase orders said the start day alone, though the file holds 120 days)."""
    window = day_window(day, tz)
    if day == start and spec.reach_before_start:
        window = (day_window(day - dt.timedelta(days=spec.reach_before_start), tz)[0], window[1])
    return window


def record_day(spec: EntitySpec, record: dict, tz: ZoneInfo, start: dt.date | None = None) -> dt.date | None:
    value = get(record, spec.date_field)
    return filed_day(spec, day_of(to_utc(value, tz), tz), start) if value else None


def refresh_records(
    client: CentraClient,
    spec: EntitySpec,
    root: str,
    days: Iterable[dt.date],
    keys: Iterable,
    tz: ZoneInfo,
    audit: dict[str, str],
    concurrency: int = 4,
    progress_for: Callable[[dt.date], Callable] | None = None,
    lock: TurnLock | None = None,
    start: dt.date | None = None,
) -> list[SyncResult]:
    """Re-fetch the given records (order numbers, ids) once, and merge each into its partition among `days`.

    Produces exactly what a full re-materialization of those partitions would, for those records: rows of
    records Centra no longer returns, or that belong to another day, are not kept. A day whose partition was
    never synced whole is synced whole instead: a refresh never makes a partial partition look complete. Every
    partition it writes is published at the end, together, in one turn of `lock`: a dbt build sees the refresh
    whole or not at all. A partition none of whose records changed is left as it is, not rewritten, and its
    result says so (`changed`): only the days whose data changed become new versions in Dagster.
    """
    days = sorted(set(days))
    span = f"{days[0]}..{days[-1]}" if len(days) > 1 else "".join(map(str, days))
    with turns.writing(lock, [_written(root, spec, day) for day in days], f"{spec.name} {span}", "a refresh"):
        if spec.partition != "event" or not spec.refresh_field:
            raise ValueError(f"{spec.name} is not event data with a refresh key; materialize the partition instead")
        keys = sorted({spec.refresh_type(k) for k in keys})
        before = (client.stats.requests, client.stats.complexity)
        started = time.monotonic()
        plan = plan_for(client, spec)
        records: list[dict] = []
        pages = 0
        for i in range(0, len(keys), REFRESH_CHUNK):
            where = {spec.refresh_field: keys[i : i + REFRESH_CHUNK]}
            for page in fetch_pages(
                lambda p, w=where: client.execute(plan.document, {"where": w, "limit": spec.page_size, "page": p}).data[
                    spec.root
                ],
                spec.page_size,
                1,
            ):
                pages += 1
                records += page
        by_day: dict[dt.date | None, list[dict]] = defaultdict(list)
        for record in records:
            by_day[record_day(spec, record, tz, start)].append(record)
        elsewhere = sum(len(rs) for day, rs in by_day.items() if day not in days)
        if elsewhere:
            log.warning(
                "%d %s records asked for belong to days outside %s..%s; they are left to their own partitions",
                elsewhere,
                spec.name,
                days[0],
                days[-1],
            )
        gone = set(keys) - {spec.refresh_type(get(r, spec.refresh_field)) for r in records}  # deleted in Centra
        loaded_at = calendar.now()
        results = []
        with published_together(lock):
            for day in days:
                # A day never synced, or synced by a version before a column was added: a refresh of a few records
                # would leave the rest of the day without it (or fail to merge), so the day is synced whole.
                if not all(partition_is_current(root, t.name, day, t.schema) for t in spec.tables):
                    log.info(
                        "%s %s was never synced whole with today's columns: syncing the whole day rather than %d "
                        "records",
                        spec.name,
                        day,
                        len(keys),
                    )
                    progress = progress_for(day) if progress_for else None
                    results.append(
                        sync_partition(
                            client, spec, root, day, tz, audit, concurrency, progress, lock=lock, start=start
                        )
                    )
                    continue
                result = SyncResult(
                    spec.name,
                    day.isoformat(),
                    root=root,
                    store=audit["_store"],
                    window=partition_window(spec, day, tz, start),
                    refreshed=len(by_day[day]),
                    changed={t.name: [] for t in spec.tables},
                )
                result.note(plan)
                for t in spec.tables:
                    if not by_day[day] and not gone:  # none of the records is in this partition: it stays as it is
                        result.rows[t.name] = read_partition(root, t.name, day).num_rows
                        continue
                    result.rows[t.name], changed = replace_records(
                        root,
                        t.name,
                        day,
                        t.schema,
                        t.key,
                        _record_key(t),
                        keys,
                        _audit(flatten(t, by_day[day], plan.paths[t.name], tz=tz), audit, loaded_at),
                        volatile=("_loaded_at",),
                    )
                    result.changed[t.name] = sorted(changed)
                results.append(result)
        # The one fetch served every partition it changed: each records its whole cost, and how many shared it.
        # (Days synced whole instead carry their own cost.)
        whole = [r for r in results if r.changed is None]
        served = [r for r in results if r.changed is not None and any(r.changed.values())]
        requests = client.stats.requests - before[0] - sum(r.requests for r in whole)
        complexity = client.stats.complexity - before[1] - sum(r.complexity for r in whole)
        seconds = time.monotonic() - started - sum(r.seconds for r in whole)
        for r in served:
            r.pages, r.requests, r.complexity, r.seconds = pages, requests, complexity, seconds
            r.shared_by = len(served)
        return results


def _written(root: str, spec: EntitySpec, day: dt.date) -> str:
    """The name of a partition's write turn (turns.writing): every table of the data type's day, in one store."""
    return f"{root}/{spec.name}/{day}"


def _record_key(table: Table) -> str:
    """The column naming the record a row belongs to: the parent's key for child tables."""
    return table.parent_key or table.key[0]
