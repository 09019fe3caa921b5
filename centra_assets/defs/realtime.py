"""From "Centra says this changed" to refreshed partitions: the webhook sensor and the catch-up sweep.

Webhooks are hints, not truth: each announced order, shipment or return is re-fetched from the API by a
targeted refresh run (`SyncConfig.refresh_keys`) of the partition it belongs to. The partition comes from
what the warehouse already holds, with one light API call for keys it has never seen (new orders).

At least once: the sensor's cursor holds the last stored event it read and the refresh runs it asked for.
A run that fails is asked for again (with a new run key); the events count as handled only when their
run succeeded. Re-evaluating a tick is harmless: run keys are derived from the events they cover.
"""

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
from centra_assets.centra.pagination import fetch_pages
from centra_assets.entities import ALL, BY_NAME
from centra_assets.entities.spec import EntitySpec, read_query, to_utc
from centra_assets.settings import Settings, Store
from centra_assets.warehouse import storage
from centra_assets.webhooks.store import EventStore, open_event_store

from .partitions import key
from .resources import CentraResource
from .sync import record_day

CHANGING = tuple(s for s in ALL if s.partition == "event" and s.refresh_field)  # data types refreshed by key
BY_WEBHOOK = {s.webhook_type: s for s in CHANGING if s.webhook_type}
BY_EVENT_OBJECT = {s.event_object: s for s in CHANGING if s.event_object}
SENSOR_INTERVAL = 30  # seconds between ticks: a change is refreshed well within a minute
SWEEP_INTERVAL = 15 * 60
SWEEP_OVERLAP = dt.timedelta(minutes=5)  # changes committed late are still seen; each is refreshed once
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


def _light(client: CentraClient, spec: EntitySpec, where: dict) -> list[dict]:
    """Every record matching `where`, as the spec's light query reads it (key, createdAt, updatedAt, state)."""
    return [
        r
        for page in fetch_pages(
            lambda p: client.execute(spec.locate_query, {"where": where, "limit": LOOKUP_CHUNK, "page": p}).data[
                spec.root
            ],
            LOOKUP_CHUNK,
            2,
        )
        for r in page
    ]


def _by_key(client: CentraClient, spec: EntitySpec, keys: Iterable) -> list[dict]:
    ordered = sorted(keys)
    return [
        r
        for i in range(0, len(ordered), LOOKUP_CHUNK)
        for r in _light(client, spec, {spec.refresh_field: ordered[i : i + LOOKUP_CHUNK]})
    ]


def _warehouse(root: str, spec: EntitySpec, select: str, where: str, params: list) -> list[tuple]:
    files = storage.join(root, "raw", spec.tables[0].name, "*", "data.parquet")
    if not storage.glob(files):
        return []
    with storage.connect(root) as con:
        return con.execute(
            f"SELECT {select} FROM read_parquet('{files}', hive_partitioning = true) WHERE {where}", params
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
        for record in _by_key(client, spec, keys):
            days[record_day(spec, record, tz).isoformat()].add(record["key"])
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
    root = settings.store_root(store)
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


def _stamp(spec: EntitySpec, record: dict) -> str:
    """What says a record changed: its last update (or, without one, its creation) as Centra renders it."""
    return record[spec.sweep_field or spec.date_field]


def _changes(client: CentraClient, spec: EntitySpec, root: str, tz: ZoneInfo, mark: dict) -> tuple[dict, dict]:
    """day -> keys of the records changed since the mark, each change once; and the next mark.

    With `updatedAt` (orders, shipments, purchase orders): the records updated since the last sweep. Without
    (returns, deliveries): the records created since, and those the warehouse holds in a state that may still
    change (`settled`), read again and refreshed only where Centra's state differs."""
    since = dt.datetime.fromisoformat(mark["since"])
    field = spec.sweep_field or spec.date_field
    found = _light(client, spec, {field: {"from": (since - SWEEP_OVERLAP).isoformat()}})
    seen = mark.get("seen", {})
    changed = [r for r in found if seen.get(str(r["key"])) != _stamp(spec, r)]
    if spec.settled:
        state, final = spec.settled
        first = spec.tables[0]
        column = next(c.name for c in first.columns if c.path == state)
        held = dict(
            _warehouse(root, spec, f"{first.key[0]}, {column}", f"{column} NOT IN (SELECT unnest(?))", [list(final)])
        )
        new = {r["key"] for r in changed}
        changed += [r for r in _by_key(client, spec, set(held) - new) if r["state"] != held[r["key"]]]
    latest = max([since] + [to_utc(_stamp(spec, r), tz) for r in found])
    days: dict[str, set[int]] = defaultdict(set)
    for r in changed:
        days[record_day(spec, r, tz).isoformat()].add(r["key"])
    recent = {str(r["key"]): _stamp(spec, r) for r in found if to_utc(_stamp(spec, r), tz) >= latest - SWEEP_OVERLAP}
    return days, {"since": latest.isoformat(), "seen": recent}


def sweep_store(centra: CentraResource, settings: Settings, store: Store, before: dict, now: dt.datetime):
    """One store's refresh run (or none) for everything Centra changed since its marks (`before`: data type ->
    {since, seen}; a first sweep looks back FIRST_SWEEP from `now`); and its next marks."""
    client = centra.client(store)
    try:
        after, located = {}, {}
        for spec in CHANGING:
            mark = before.get(spec.name) or {"since": (now - FIRST_SWEEP).isoformat()}
            located[spec.name], after[spec.name] = _changes(client, spec, settings.store_root(store), store.tz, mark)
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
