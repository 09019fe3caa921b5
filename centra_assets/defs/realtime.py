"""From "Centra says this changed" to refreshed partitions: the webhook sensor and the catch-up sweep.

Webhooks are hints, not truth: each announced order, shipment or return is re-fetched from the API by a
targeted refresh run (`SyncConfig.refresh_keys`) of the partition it belongs to. The partition comes from
what the warehouse already holds, with one light API call for keys it has never seen (new orders).

At least once: the sensor's cursor holds the last stored event it read and the refresh runs it asked for.
A run that fails is asked for again (with a new run key); the events count as handled only when their
run succeeded. Re-evaluating a tick is harmless: run keys are derived from the events they cover.
"""

import bisect
import datetime as dt
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import NamedTuple
from zoneinfo import ZoneInfo

import dagster as dg

from centra_assets.centra.client import CentraClient
from centra_assets.centra.errors import CentraQueryError
from centra_assets.centra.pagination import fetch_pages
from centra_assets.centra.schema import lacking_inputs_from_errors
from centra_assets.entities import ALL, BY_NAME
from centra_assets.entities.query import plan_for
from centra_assets.entities.spec import EntitySpec, flatten, read_query, to_utc
from centra_assets.settings import Settings, Store
from centra_assets.warehouse import files, layout
from centra_assets.webhooks.store import EventStore, open_event_store

from .partitions import key
from .resources import CentraResource
from .sync import day_of

CHANGING = tuple(s for s in ALL if s.partition == "event" and s.refresh_field)  # data types refreshed by key
BY_WEBHOOK = {s.webhook_type: s for s in CHANGING if s.webhook_type}
BY_EVENT_OBJECT = {s.event_object: s for s in CHANGING if s.event_object}
SENSOR_INTERVAL = 30  # seconds between ticks: a change is refreshed well within a minute
SWEEP_INTERVAL = 15 * 60
SWEEP_OVERLAP = dt.timedelta(minutes=5)  # changes committed late are still seen; each is refreshed once
# Where the store gives no way to ask what changed (no updatedAt filter), records that may still change are read
# again by key: those of the last LATE_CHANGES (orders ship and are returned within about five weeks, purchase
# orders are delivered three to seven weeks after they are placed), at most REREAD_BATCH per data type and tick.
LATE_CHANGES = dt.timedelta(days=60)
REREAD_BATCH = 1000
FIRST_SWEEP = dt.timedelta(days=1)  # how far back a store's first sweep looks (the daily sync covers the rest)
MAX_EVENTS_PER_TICK = 20_000
# Bounded work per tick, whatever the number of stores: stores are served `STORE_CONCURRENCY` at a time (each on
# its own rate budget), longest-waiting first, and no store is started after `TICK_SECONDS` (Dagster gives a tick
# 60 s); the others keep their cursor and come first next tick.
TICK_SECONDS = 40.0
STORE_CONCURRENCY = 8
TAG = "centra/refresh"
LOOKUP_CHUNK = 200
EVENT_PAGE = 200  # events per poll (Centra's documented example uses 200)


def event_store(settings: Settings, store: Store) -> EventStore:
    """Where the receiver keeps this store's webhook events (PostgreSQL, or SQLite in the state folder)."""
    return open_event_store(settings.webhook_events, store.name)


def serve_stores(
    stores: Sequence[Store], work: Callable[[Store], object], seconds: float | None, concurrency: int
) -> dict[str, object]:
    """`work(store)` for the stores in the order given, `concurrency` at a time, starting none once `seconds` have
    passed (None: all; the first `concurrency` always start). Returns store name -> result, or the exception it
    raised, for the stores served."""
    deadline = None if seconds is None else time.monotonic() + seconds
    todo, running, done = list(stores), {}, {}
    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="centra-store") as pool:
        while todo or running:
            while (
                todo
                and len(running) < concurrency
                and (deadline is None or len(todo) > len(stores) - concurrency or time.monotonic() < deadline)
            ):
                store = todo.pop(0)
                running[pool.submit(work, store)] = store.name
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                done[name] = future.exception() or future.result()
    return done


def longest_waiting(stores: Sequence[Store], served: dict[str, float]) -> list[Store]:
    """Fair rotation: the stores served longest ago (never: first), in the stores file's order on a tie."""
    return sorted(stores, key=lambda s: served.get(s.name, 0.0))


def serve_tick(context, settings: Settings, served: dict[str, float], started: float, work, what: str) -> list:
    """One sensor tick's share of the stores: the longest-waiting first, within the tick's budget (`served`, the
    cursor's store -> last served, is updated). Returns (store, result) for each store served without error; a
    store that failed is logged and holds no other up, and the tick fails only when every store served failed."""
    order = longest_waiting(settings.stores, served)
    results = serve_stores(order, work, TICK_SECONDS, STORE_CONCURRENCY)
    failed = {name: r for name, r in results.items() if isinstance(r, BaseException)}
    for name, error in failed.items():
        context.log.error(f"{what} of store {name!r} failed: {type(error).__name__}: {error}")
    if failed and len(failed) == len(results):
        raise next(iter(failed.values()))
    if len(results) < len(settings.stores):
        context.log.info(
            f"{what}: served {len(results)} of {len(settings.stores)} stores; the others come first next tick"
        )
    for name in results:
        served[name] = started
    return [(store, results[store.name]) for store in order if store.name in results and store.name not in failed]


def _light(client: CentraClient, spec: EntitySpec, where: dict, tz: dt.tzinfo = dt.UTC) -> list[dict]:
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


def _has(client: CentraClient, spec: EntitySpec, column: str | None) -> str | None:
    """`column` if the store's schema has its field (the fitted light query selects it), else None."""
    light = spec.changes
    return column if column and plan_for(client, light).paths[light.tables[0].name].get(column) else None


def _by_key(client: CentraClient, spec: EntitySpec, keys: Iterable, tz: dt.tzinfo = dt.UTC) -> list[dict]:
    ordered = sorted(keys)
    return [
        r
        for i in range(0, len(ordered), LOOKUP_CHUNK)
        for r in _light(client, spec, {spec.refresh_field: ordered[i : i + LOOKUP_CHUNK]}, tz)
    ]


def _warehouse(root: str, spec: EntitySpec, select: str, where: str, params: list) -> list[tuple]:
    paths = files.join(layout.table_root(root, spec.tables[0].name), "*", layout.FILE_NAME)
    if not files.glob(paths):
        return []
    with files.connect(root) as con:
        return con.execute(
            f"SELECT {select} FROM read_parquet('{paths}', hive_partitioning = true) WHERE {where}", params
        ).fetchall()


def locate(
    spec: EntitySpec, keys: Iterable[int], root: str, tz: ZoneInfo, client: CentraClient | None
) -> dict[str, set[int]]:
    """day -> keys: from the warehouse where the record was seen, else from Centra (one call per 200 keys)."""
    keys = set(keys)
    column = spec.tables[0].key[0]
    days: dict[str, set[int]] = defaultdict(set)
    if keys:
        for day, key in _warehouse(
            root, spec, f"DISTINCT CAST(date AS VARCHAR), {column}", f"{column} IN (SELECT unnest(?))", [sorted(keys)]
        ):
            days[day].add(key)
            keys.discard(key)
    if keys and client is not None:
        created = spec.column_of(spec.date_field)
        for row in _by_key(client, spec, keys, tz):
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
    tags = {TAG: run_key, "centra/reason": reason}
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


def _follow_up(context, settings: Settings, pending: dict) -> tuple[list[dg.RunRequest], dict, list[dict]]:
    """Drop requests whose run succeeded (returned as done); ask again for failed ones; keep the rest waiting."""
    again, still, done = [], {}, []
    statuses: dict[str, dg.DagsterRunStatus] = {}  # one query for every pending run, newest first
    for found in context.instance.get_runs(filters=dg.RunsFilter(tags={TAG: sorted(pending)})) if pending else []:
        statuses.setdefault(found.tags.get(TAG), found.status)
    for run_key, req in pending.items():
        status = statuses.get(run_key)
        if status == dg.DagsterRunStatus.SUCCESS:
            done.append(req)
            continue
        if status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            store = settings.store(req.get("store") or settings.stores[0].name)
            retry = refresh_request(settings, store, req["keys"], req["days"], req["reason"], req["attempt"] + 1)
            context.log.warning(f"refresh run {run_key} failed; asking again as {retry.run_key}")
            again.append(retry)
            still[retry.run_key] = {**req, "attempt": req["attempt"] + 1}
        else:
            still[run_key] = req
    return again, still, done


class Planned(NamedTuple):
    request: dg.RunRequest
    keys: dict[str, list[int]]  # data type -> keys
    store: str
    days: list[str]


def _plan(located: dict[str, dict[str, set[int]]], settings: Settings, store: Store, reason: str) -> list[Planned]:
    """One refresh run per store for the located keys (data type -> day -> keys), over the days they span.
    Records of days before the store's CENTRA_START_DATE are not in the warehouse and are left out."""
    located = {
        name: {d: ks for d, ks in by_day.items() if d >= str(store.start_date)} for name, by_day in located.items()
    }
    keys = {name: sorted({k for ks in by_day.values() for k in ks}) for name, by_day in located.items()}
    keys = {name: k for name, k in keys.items() if k}
    days = sorted({d for name, by_day in located.items() for d, ks in by_day.items() if ks})
    if not keys:
        return []
    return [Planned(refresh_request(settings, store, keys, days, reason), keys, store.name, days)]


def _announced(announced: dict[str, set[int]], settings: Settings, store: Store, client, reason: str) -> list[Planned]:
    """The refresh run for the announced keys (data type -> keys) that could be located."""
    root = layout.store_root(settings.warehouse_dir, store)
    located = {name: locate(BY_NAME[name], keys, root, store.tz, client) for name, keys in announced.items()}
    return _plan(located, settings, store, reason)


def _remember(pending: dict, planned: list[Planned], events: dict[str, list[int]] | None = None) -> None:
    for p in planned:
        pending[p.request.run_key] = {
            "keys": p.keys,
            "store": p.store,
            "days": p.days,
            "reason": p.request.tags["centra/reason"],
            "attempt": 1,
            "events": (events or {}).get(p.request.run_key, []),
        }


def refreshable_keys(assets: list) -> list[dg.AssetKey]:
    """The asset keys a refresh run can target: every table of the event data types."""
    names = {f"centra_{s.name}" for s in CHANGING}
    return [key for a in assets if a.op.name in names for key in a.keys]


def build_webhook_sensor(settings: Settings, assets: list) -> dg.SensorDefinition:
    targets = refreshable_keys(assets)

    @dg.sensor(
        name="centra_webhook_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL,
        asset_selection=targets,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Turns webhook events stored by `centra-webhooks serve` into targeted refreshes of the "
        "announced orders, shipments and returns; failed refreshes are asked for again. Stores are read 8 at a "
        "time, longest-waiting first, for at most 40 s a tick.",
    )
    def centra_webhook_sensor(context: dg.SensorEvaluationContext, centra: CentraResource):
        cursor = json.loads(context.cursor) if context.cursor else {"after": {}, "pending": {}}
        requests, pending, _ = _follow_up(context, settings, cursor["pending"])
        after, served, started = cursor["after"], cursor.get("served", {}), time.time()
        if isinstance(after, int):  # a cursor from before several stores
            after = {settings.stores[0].name: after}

        def one_store(store: Store) -> tuple[list[Planned], int, int]:
            """(refresh runs, last event read, events read) for the store's events after its cursor."""
            events = event_store(settings, store)
            try:
                new = events.read_after(after.get(store.name, 0), MAX_EVENTS_PER_TICK)
            finally:
                events.close()
            announced: dict[str, set[int]] = defaultdict(set)
            for e in new:
                if e.type in BY_WEBHOOK and e.object_id is not None:
                    announced[BY_WEBHOOK[e.type].name].add(e.object_id)
            client = centra.client(store) if announced else None
            try:
                planned = _announced(announced, settings, store, client, f"webhook-{new[0].id}" if new else "webhook")
            finally:
                if client:
                    client.close()
            return planned, (new[-1].id if new else after.get(store.name, 0)), len(new)

        # a store that fails keeps its cursor: its events are read again next tick
        results, received = serve_tick(context, settings, served, started, one_store, "webhook events"), 0
        for store, (planned, mark, count) in results:
            after[store.name] = mark
            requests += [p.request for p in planned]
            _remember(pending, planned)
            received += count
        served = {s.name: served.get(s.name, 0.0) for s in settings.stores}
        context.update_cursor(json.dumps({"after": after, "pending": pending, "served": served}))
        if received:
            context.log.info(f"{received} webhook events -> {len(requests)} refresh runs")
        return (
            dg.SensorResult(run_requests=requests)
            if requests
            else dg.SkipReason(f"no new webhook events ({len(pending)} refreshes still running)")
        )

    return centra_webhook_sensor


def build_event_queue_sensor(settings: Settings, assets: list) -> dg.SensorDefinition:
    targets = refreshable_keys(assets)

    @dg.sensor(
        name="centra_event_queue_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL,
        asset_selection=targets,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Polls Centra's Integration API event queue (needs Event:read and Event:write) and "
        "refreshes the orders, shipments, returns, purchase orders and deliveries it names; confirms events only "
        "after their refresh run succeeded. Stores are polled 8 at a time, longest-waiting first, for at most 40 s "
        "a tick.",
    )
    def centra_event_queue_sensor(context: dg.SensorEvaluationContext, centra: CentraResource):
        cursor = json.loads(context.cursor) if context.cursor else {"listening": [], "pending": {}}
        requests, pending, done = _follow_up(context, settings, cursor["pending"])
        listening, served, started = cursor["listening"], cursor.get("served", {}), time.time()
        if isinstance(listening, bool):  # a cursor from before several stores
            listening = [settings.stores[0].name] if listening else []
        listening = set(listening)
        # events whose refresh succeeded, confirmed at their store's next turn
        unconfirmed: dict[str, list[int]] = cursor.get("unconfirmed", {})
        for req in done:
            unconfirmed.setdefault(req.get("store") or settings.stores[0].name, []).extend(req["events"])

        def one_store(store: Store) -> tuple[list[Planned], dict, list[int]]:
            """(refresh runs, the events each covers, the events confirmed) for the store's queue."""
            client = centra.client(store)
            try:
                if store.name not in listening:
                    client.execute(read_query("set_event_listeners.graphql"))
                confirmed = sorted(set(unconfirmed.get(store.name, [])))
                if confirmed:  # their refresh succeeded: Centra may forget them now
                    client.execute(read_query("confirm_events.graphql"), {"ids": confirmed})
                waiting = {
                    i for req in pending.values() if req.get("store", store.name) == store.name for i in req["events"]
                }
                waiting |= set(confirmed)
                events = [
                    e
                    for e in client.execute(read_query("events.graphql"), {"limit": EVENT_PAGE}).data["events"]
                    if e["id"] not in waiting
                ]
                announced: dict[str, set[int]] = defaultdict(set)
                ids_by_key: dict[tuple[str, int], list[int]] = defaultdict(list)
                for e in events:
                    spec = BY_EVENT_OBJECT.get(e["objectType"])
                    if spec:  # DELETED too: the refresh drops rows of records Centra no longer returns
                        announced[spec.name].add(int(e["objectReference"]))
                        ids_by_key[(spec.name, int(e["objectReference"]))].append(e["id"])
                planned = _announced(
                    announced,
                    settings,
                    store,
                    client,
                    f"event-queue-{min(e['id'] for e in events)}" if events else "event-queue",
                )
                covered = {
                    p.request.run_key: sorted(
                        i for name, ks in p.keys.items() for k in ks for i in ids_by_key[(name, k)]
                    )
                    for p in planned
                }
                # events of other types, or of records found nowhere, have nothing to refresh: confirm them now,
                # or they would come back on every poll and fill the page
                handled = {i for ids in covered.values() for i in ids}
                nothing_to_do = [e["id"] for e in events if e["id"] not in handled]
                if nothing_to_do:
                    client.execute(read_query("confirm_events.graphql"), {"ids": nothing_to_do})
                return planned, covered, confirmed
            finally:
                client.close()

        # a store that fails leaves its events in Centra's queue until a later tick
        results, confirmed_total = serve_tick(context, settings, served, started, one_store, "event queue"), 0
        for store, (planned, covered, confirmed) in results:
            listening.add(store.name)
            confirmed_total += len(confirmed)
            unconfirmed.pop(store.name, None)
            _remember(pending, planned, covered)
            requests += [p.request for p in planned]
        served = {s.name: served.get(s.name, 0.0) for s in settings.stores}
        context.update_cursor(
            json.dumps(
                {"listening": sorted(listening), "pending": pending, "unconfirmed": unconfirmed, "served": served}
            )
        )
        if confirmed_total:
            context.log.info(f"confirmed {confirmed_total} events whose refresh succeeded")
        return (
            dg.SensorResult(run_requests=requests)
            if requests
            else dg.SkipReason(f"no new events ({len(pending)} refreshes still running)")
        )

    return centra_event_queue_sensor


def _updated_since(client: CentraClient, spec: EntitySpec, since: dt.datetime, tz: ZoneInfo) -> list[dict] | None:
    """The records updated since `since` (light rows); None when the store's filter has no `sweep_field`: known
    from its schema, or learnt from its answer where it refuses introspection (kept for its Centra version)."""
    schema = client.store_schema()
    if not spec.sweep_field or schema.input_has(spec.filter_type, spec.sweep_field) is False:
        return None
    try:
        return _light(client, spec, {spec.sweep_field: {"from": since.isoformat()}}, tz)
    except CentraQueryError as exc:
        lacking = lacking_inputs_from_errors(exc.errors)
        if not lacking or f"{spec.filter_type}.{spec.sweep_field}" not in lacking:
            raise
        schema.learn(lacking)
        client.remember_schema()
        return None


def _utc(value):
    """A warehouse or light-row value, comparable: datetimes in UTC (DuckDB may answer in its own zone)."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return value


def _next_batch(keys: list, after) -> tuple[list, object]:
    """At most REREAD_BATCH of the sorted `keys`, from the first after `after` on, wrapping round; and where the
    next tick goes on (None: every key fit)."""
    if len(keys) <= REREAD_BATCH:
        return keys, None
    start = bisect.bisect_right(keys, after) if after is not None else 0
    batch = (keys[start:] + keys[:start])[:REREAD_BATCH]
    return batch, batch[-1]


def _changes(
    client: CentraClient, spec: EntitySpec, root: str, tz: ZoneInfo, mark: dict, now: dt.datetime
) -> tuple[dict, dict]:
    """day -> keys of the records changed since the mark, each change once; and the next mark.

    What the store's schema offers decides how (the light query is fitted to it, `spec.changes`):
    - its filter has the data type's `sweep_field` (updatedAt: orders, shipments, purchase orders): the records
      updated since the last sweep;
    - otherwise: the records created since the last sweep, and, read again by key, the records the warehouse
      holds that may still change: those in a state that is not final (`settled`: returns, deliveries; Centra
      documents no updatedAt for them), or, on a store whose filter lacks `sweep_field`, those created within
      LATE_CHANGES. Each is refreshed where Centra's last change or state differs from the warehouse's. At most
      REREAD_BATCH are read again a tick, in key order from where the last tick stopped: their cost stays bounded
      however many there are, and each is read again every few ticks.
    The mark's `fallback` says, in words, when a store's schema forces the second way (the sensor logs it)."""
    since = dt.datetime.fromisoformat(mark["since"])
    key, created = spec.tables[0].key[0], spec.column_of(spec.date_field)
    stamp = _has(client, spec, spec.column_of(spec.sweep_field))
    state = _has(client, spec, spec.column_of(spec.settled[0] if spec.settled else None))
    found = _updated_since(client, spec, since - SWEEP_OVERLAP, tz)
    by_update = found is not None
    if not by_update:
        found = _light(client, spec, {spec.date_field: {"from": (since - SWEEP_OVERLAP).isoformat()}}, tz)
    lacks = None
    if spec.sweep_field and not by_update:
        lacks = f"the store's {spec.filter_type} has no `{spec.sweep_field}` filter"
        lacks += "" if stamp else f" and its {spec.root} no `{spec.sweep_field}` field"
    elif spec.settled and not state:
        lacks = f"the store's {spec.root} have no `{spec.settled[0]}` field"
    fallback = lacks and (
        f"{spec.name}: {lacks}. The sweep refreshes the {spec.name} created since its last tick"
        + (
            f", and those created in the last {LATE_CHANGES.days} days whose `{spec.sweep_field}` moved (read "
            f"again by key, at most {REREAD_BATCH} a tick)"
            if stamp
            else "; later changes of the others reach the warehouse through webhooks, the event queue and the "
            "daily schedule only"
        )
    )

    def when(row: dict) -> dt.datetime | None:
        return row[stamp] if by_update else row[created]

    seen = mark.get("seen", {})
    changed = [r for r in found if not (when(r) and seen.get(str(r[key])) and to_utc(seen[str(r[key])]) == when(r))]
    compared = [c for c in (stamp, state) if c]
    if state:  # records in a state that may still change
        where, params = f"{state} NOT IN (SELECT unnest(?))", [list(spec.settled[1])]
    elif stamp and not by_update:  # no updatedAt filter: the records of the last weeks
        where, params = f"{created} >= ?", [now - LATE_CHANGES]
    else:
        where = None
    after = None
    if where:
        held = {
            r[0]: tuple(map(_utc, r[1:])) for r in _warehouse(root, spec, ", ".join([key, *compared]), where, params)
        }
        batch, after = _next_batch(sorted(set(held) - {r[key] for r in changed}), mark.get("reread_after"))
        changed += [r for r in _by_key(client, spec, batch, tz) if tuple(_utc(r[c]) for c in compared) != held[r[key]]]
    # Centra's own clock where the rows tell it; our clock only where the store filters by a field it never shows
    latest = max(since, now) if by_update and not stamp else max([since, *(w for w in map(when, found) if w)])
    days: dict[str, set[int]] = defaultdict(set)
    for r in changed:
        days[day_of(r[created], tz).isoformat()].add(r[key])
    recent = {str(r[key]): when(r).isoformat() for r in found if when(r) and when(r) >= latest - SWEEP_OVERLAP}
    after_mark = {"since": latest.isoformat(), "seen": recent}
    after_mark |= {"reread_after": after} if after is not None else {}
    return days, after_mark | ({"fallback": fallback} if fallback else {})


def sweep_store(centra: CentraResource, settings: Settings, store: Store, before: dict, now: dt.datetime):
    """One store's refresh run (or none) for everything Centra changed since its marks (`before`: data type ->
    {since, seen}; a first sweep looks back FIRST_SWEEP from `now`); and its next marks."""
    client = centra.client(store)
    try:
        after, located = {}, {}
        for spec in CHANGING:
            mark = before.get(spec.name) or {"since": (now - FIRST_SWEEP).isoformat()}
            located[spec.name], after[spec.name] = _changes(
                client, spec, layout.store_root(settings.warehouse_dir, store), store.tz, mark, now
            )
        start = min(dt.datetime.fromisoformat(m["since"]) for m in after.values())
        return _plan(located, settings, store, f"sweep-{int(start.timestamp())}"), after
    finally:
        client.close()


class Swept(NamedTuple):
    planned: list[Planned]
    marks: dict  # every store's next marks (a store not swept, or whose sweep failed, keeps its own)
    swept: list[str]  # the stores swept, failures included
    failed: dict[str, BaseException]


def sweep_stores(
    centra: CentraResource,
    settings: Settings,
    marks: dict,
    now: dt.datetime,
    stores: Sequence[Store],
    seconds: float | None = None,
    concurrency: int = 1,
) -> Swept:
    """`stores` swept in that order, `concurrency` at a time, none started after `seconds` (None: all)."""
    results = serve_stores(
        stores, lambda s: sweep_store(centra, settings, s, marks.get(s.name, {}), now), seconds, concurrency
    )
    out = Swept([], {s.name: marks[s.name] for s in settings.stores if s.name in marks}, [], {})
    for store in stores:
        if store.name not in results:
            continue
        out.swept.append(store.name)
        result = results[store.name]
        if isinstance(result, BaseException):
            out.failed[store.name] = result
        else:
            out.planned.extend(result[0])
            out.marks[store.name] = result[1]
    return out


def sweep(centra: CentraResource, settings: Settings, marks: dict, now: dt.datetime) -> tuple[list[Planned], dict]:
    """One refresh run per store for everything Centra changed since that store's last sweep (`marks`: store ->
    data type -> {since, seen}; a store's first sweep looks back FIRST_SWEEP from `now`); and the next marks.
    Every store, one after the other; the first failure raises."""
    done = sweep_stores(centra, settings, marks, now, settings.stores)
    if done.failed:
        raise next(iter(done.failed.values()))
    return done.planned, done.marks


def marks_since(settings: Settings, when: dt.datetime) -> dict:
    """Sweep marks as if every store's last sweep had run at `when`."""
    return {s.name: {spec.name: {"since": when.isoformat()} for spec in CHANGING} for s in settings.stores}


def build_sweep_sensor(settings: Settings, assets: list) -> dg.SensorDefinition:
    targets = refreshable_keys(assets)

    @dg.sensor(
        name="centra_sweep_sensor",
        minimum_interval_seconds=SWEEP_INTERVAL,
        asset_selection=targets,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Every 15 minutes, refreshes what Centra changed since the last sweep, in one run per store "
        "(stores swept 8 at a time, longest-waiting first, for at most 40 s a tick): "
        "orders, shipments and purchase orders by updatedAt; returns and deliveries (no updatedAt filter) when "
        "new, and when their state moves on. Catches what no webhook or event announced; its cursor keeps the "
        "last sweep, so a daemon down for days misses nothing. On by default: it needs nothing but the API.",
    )
    def centra_sweep_sensor(context: dg.SensorEvaluationContext, centra: CentraResource):
        cursor = json.loads(context.cursor) if context.cursor else {"marks": {}, "pending": {}}
        requests, pending, _ = _follow_up(context, settings, cursor["pending"])
        served, started = cursor.get("served", {}), time.time()
        order = longest_waiting(settings.stores, served)
        planned, marks, swept, failed = sweep_stores(
            centra, settings, cursor["marks"], dt.datetime.now(dt.UTC), order, TICK_SECONDS, STORE_CONCURRENCY
        )
        for name, error in failed.items():  # its marks stay: the next sweep of the store covers its changes
            context.log.error(f"sweep of store {name!r} failed: {type(error).__name__}: {error}")
        for name in set(swept) - set(failed):  # a store whose schema makes the sweep fall back, when it starts to
            for kind, mark in marks[name].items():
                if mark.get("fallback") and mark["fallback"] != cursor["marks"].get(name, {}).get(kind, {}).get(
                    "fallback"
                ):
                    context.log.warning(f"store {name!r}: {mark['fallback']}")
        if failed and len(failed) == len(swept):
            raise next(iter(failed.values()))  # nothing could be swept: the tick fails, as it should show
        _remember(pending, planned)
        requests += [p.request for p in planned]
        served = {s.name: (started if s.name in swept else served.get(s.name, 0.0)) for s in settings.stores}
        context.update_cursor(json.dumps({"marks": marks, "pending": pending, "served": served}))
        if len(swept) < len(settings.stores):
            context.log.info(f"swept {len(swept)} of {len(settings.stores)} stores; the others come first next tick")
        return (
            dg.SensorResult(run_requests=requests)
            if requests
            else dg.SkipReason(f"nothing changed since the last sweep ({len(pending)} refreshes still running)")
        )

    return centra_sweep_sensor
