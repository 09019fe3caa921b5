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
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple
from zoneinfo import ZoneInfo

import dagster as dg

from centra_assets.centra.client import CentraClient
from centra_assets.centra.pagination import fetch_pages
from centra_assets.entities import ALL
from centra_assets.entities.spec import EntitySpec, read_query, to_utc
from centra_assets.settings import Settings, Store
from centra_assets.warehouse import storage
from centra_assets.webhooks.store import EventStore, open_event_store

from .partitions import key
from .resources import CentraResource

REFRESHABLE = {spec.webhook_type: spec for spec in ALL if spec.webhook_type}
SENSOR_INTERVAL = 30  # seconds between ticks: a change is refreshed well within a minute
MAX_EVENTS_PER_TICK = 20_000
TAG = "centra/refresh"
LOOKUP_CHUNK = 200
EVENT_PAGE = 200  # events per poll (Centra's documented example uses 200)


def event_store(settings: Settings, store: Store) -> EventStore:
    """Where the receiver keeps this store's webhook events (PostgreSQL, or SQLite in the state folder)."""
    return open_event_store(settings.webhook_events, store.name)


def locate(
    spec: EntitySpec, keys: Iterable[int], root: str, tz: ZoneInfo, client: CentraClient | None
) -> dict[str, set[int]]:
    """day -> keys: from the warehouse where the record was seen, else from Centra (one call per 200 keys)."""
    keys = set(keys)
    table, column = spec.tables[0].name, spec.tables[0].key[0]
    days: dict[str, set[int]] = defaultdict(set)
    files = storage.join(root, "raw", table, "*", "data.parquet")
    if keys and storage.glob(files):
        with storage.connect(root) as con:
            found = con.execute(
                f"SELECT DISTINCT CAST(date AS VARCHAR), {column} FROM read_parquet('{files}', "
                f"hive_partitioning = true) WHERE {column} IN (SELECT unnest(?))",
                [sorted(keys)],
            ).fetchall()
        for day, key in found:
            days[day].add(key)
            keys.discard(key)
    if keys and client is not None:
        ordered = sorted(keys)
        for i in range(0, len(ordered), LOOKUP_CHUNK):
            where = {spec.refresh_field: ordered[i : i + LOOKUP_CHUNK]}
            for page in fetch_pages(
                lambda p, w=where: client.execute(
                    spec.locate_query, {"where": w, "limit": LOOKUP_CHUNK, "page": p}
                ).data[spec.root],
                LOOKUP_CHUNK,
                1,
            ):
                for record in page:
                    days[to_utc(record["createdAt"]).astimezone(tz).date().isoformat()].add(record["key"])
    return days


def refresh_request(
    settings: Settings, store: Store, spec: EntitySpec, day: str, keys: Iterable[int], reason: str, attempt: int = 1
) -> dg.RunRequest:
    keys = sorted(set(keys))
    digest = hashlib.sha1(f"{store.name}|{spec.name}|{day}|{keys}".encode()).hexdigest()[:12]
    run_key = f"{reason}:{store.name}:{spec.name}:{day}:{digest}:{attempt}"
    return dg.RunRequest(
        run_key=run_key,
        partition_key=key(settings, store, day),
        asset_selection=[dg.AssetKey(["centra", t.name]) for t in spec.tables],
        run_config={"ops": {f"centra_{spec.name}": {"config": {"refresh_keys": [str(k) for k in keys]}}}},
        tags={TAG: run_key, "centra/reason": reason},
    )


def _follow_up(context, settings: Settings, pending: dict) -> tuple[list[dg.RunRequest], dict, list[dict]]:
    """Drop requests whose run succeeded (returned as done); ask again for failed ones; keep the rest waiting."""
    again, still, done = [], {}, []
    for run_key, req in pending.items():
        runs = context.instance.get_runs(filters=dg.RunsFilter(tags={TAG: run_key}), limit=1)
        status = runs[0].status if runs else None
        if status == dg.DagsterRunStatus.SUCCESS:
            done.append(req)
            continue
        if status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            spec = next(s for s in REFRESHABLE.values() if s.name == req["spec"])
            store = settings.store(req.get("store") or settings.stores[0].name)
            retry = refresh_request(settings, store, spec, req["day"], req["keys"], req["reason"], req["attempt"] + 1)
            context.log.warning(f"refresh run {run_key} failed; asking again as {retry.run_key}")
            again.append(retry)
            still[retry.run_key] = {**req, "attempt": req["attempt"] + 1}
        else:
            still[run_key] = req
    return again, still, done


class Planned(NamedTuple):
    request: dg.RunRequest
    spec: EntitySpec
    keys: list[int]
    store: str
    day: str


def _plan(announced: dict[str, set[int]], settings: Settings, store: Store, client, reason: str) -> list[Planned]:
    """One refresh run per data type and partition, for the announced keys that could be located."""
    planned = []
    for kind, keys in announced.items():
        spec = REFRESHABLE[kind]
        for day, day_keys in sorted(locate(spec, keys, settings.store_root(store), store.tz, client).items()):
            request = refresh_request(settings, store, spec, day, day_keys, reason)
            planned.append(Planned(request, spec, sorted(day_keys), store.name, day))
    return planned


def _remember(pending: dict, planned: list[Planned], reason: str, events: dict[str, list[int]] | None = None) -> None:
    for p in planned:
        pending[p.request.run_key] = {
            "spec": p.spec.name,
            "store": p.store,
            "day": p.day,
            "keys": p.keys,
            "reason": reason,
            "attempt": 1,
            "events": (events or {}).get(p.request.run_key, []),
        }


def refreshable_keys(assets: list) -> list[dg.AssetKey]:
    """The asset keys a refresh run can target: every table of the data types webhooks and events announce."""
    names = {f"centra_{s.name}" for s in REFRESHABLE.values()}
    return [key for a in assets if a.op.name in names for key in a.keys]


def build_webhook_sensor(settings: Settings, assets: list) -> dg.SensorDefinition:
    targets = refreshable_keys(assets)

    @dg.sensor(
        name="centra_webhook_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL,
        asset_selection=targets,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Turns webhook events stored by `centra-webhooks serve` into targeted refreshes of the "
        "announced orders, shipments and returns; failed refreshes are asked for again.",
    )
    def centra_webhook_sensor(context: dg.SensorEvaluationContext, centra: CentraResource):
        cursor = json.loads(context.cursor) if context.cursor else {"after": {}, "pending": {}}
        requests, pending, _ = _follow_up(context, settings, cursor["pending"])
        after, received = cursor["after"], 0
        if isinstance(after, int):  # a cursor from before several stores
            after = {settings.stores[0].name: after}
        for store in settings.stores:
            events = event_store(settings, store)
            try:
                new = events.read_after(after.get(store.name, 0), MAX_EVENTS_PER_TICK)
            finally:
                events.close()
            announced: dict[str, set[int]] = defaultdict(set)
            for e in new:
                if e.type in REFRESHABLE and e.object_id is not None:
                    announced[e.type].add(e.object_id)
            client = centra.client(store) if announced else None
            try:
                planned = _plan(announced, settings, store, client, "webhook")
            finally:
                if client:
                    client.close()
            requests += [p.request for p in planned]
            _remember(pending, planned, "webhook")
            if new:
                after[store.name], received = new[-1].id, received + len(new)
        context.update_cursor(json.dumps({"after": after, "pending": pending}))
        if received:
            context.log.info(f"{received} webhook events -> {len(requests)} refresh runs")
        return (
            dg.SensorResult(run_requests=requests)
            if requests
            else dg.SkipReason(f"no new webhook events ({len(pending)} refreshes still running)")
        )

    return centra_webhook_sensor


EVENT_KINDS = {"Order": "order", "Shipment": "shipment", "Return": "return"}


def build_event_queue_sensor(settings: Settings, assets: list) -> dg.SensorDefinition:
    targets = refreshable_keys(assets)

    @dg.sensor(
        name="centra_event_queue_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL,
        asset_selection=targets,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Polls Centra's Integration API event queue (needs Event:read and Event:write) and "
        "refreshes the orders, shipments and returns it names; confirms events only after "
        "their refresh run succeeded.",
    )
    def centra_event_queue_sensor(context: dg.SensorEvaluationContext, centra: CentraResource):
        cursor = json.loads(context.cursor) if context.cursor else {"listening": [], "pending": {}}
        requests, pending, done = _follow_up(context, settings, cursor["pending"])
        listening, confirmed_total = cursor["listening"], 0
        if isinstance(listening, bool):  # a cursor from before several stores
            listening = [settings.stores[0].name] if listening else []
        listening = set(listening)
        for store in settings.stores:
            client = centra.client(store)
            try:
                if store.name not in listening:
                    client.execute(read_query("set_event_listeners.graphql"))
                    listening.add(store.name)
                confirmed = sorted(
                    {i for req in done if req.get("store", store.name) == store.name for i in req["events"]}
                )
                if confirmed:  # their refresh succeeded: Centra may forget them now
                    client.execute(read_query("confirm_events.graphql"), {"ids": confirmed})
                    confirmed_total += len(confirmed)
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
                    kind = EVENT_KINDS.get(e["objectType"])
                    if kind:  # DELETED too: the refresh drops rows of records Centra no longer returns
                        announced[kind].add(int(e["objectReference"]))
                        ids_by_key[(kind, int(e["objectReference"]))].append(e["id"])
                planned = _plan(announced, settings, store, client, "event-queue")
                covered = {
                    p.request.run_key: sorted(i for k in p.keys for i in ids_by_key[(p.spec.webhook_type, k)])
                    for p in planned
                }
                # events of other types, or of records found nowhere, have nothing to refresh: confirm them now,
                # or they would come back on every poll and fill the page
                handled = {i for ids in covered.values() for i in ids}
                nothing_to_do = [e["id"] for e in events if e["id"] not in handled]
                if nothing_to_do:
                    client.execute(read_query("confirm_events.graphql"), {"ids": nothing_to_do})
            finally:
                client.close()
            _remember(pending, planned, "event-queue", covered)
            requests += [p.request for p in planned]
        context.update_cursor(json.dumps({"listening": sorted(listening), "pending": pending}))
        if confirmed_total:
            context.log.info(f"confirmed {confirmed_total} events whose refresh succeeded")
        return (
            dg.SensorResult(run_requests=requests)
            if requests
            else dg.SkipReason(f"no new events ({len(pending)} refreshes still running)")
        )

    return centra_event_queue_sensor


def sweep_requests(
    centra: CentraResource, settings: Settings, since: dt.datetime, lookback: dt.timedelta
) -> list[dg.RunRequest]:
    """Refreshes for everything Centra changed since `since - lookback`, in every store: catches what no webhook
    announced."""
    requests = []
    for store in settings.stores:
        client = centra.client(store)
        try:
            for spec in REFRESHABLE.values():
                field = spec.sweep_field or "createdAt"
                # without updatedAt (returns), re-read what was created in a longer window: returns complete in days
                start = since - lookback - (dt.timedelta(days=7) if spec.sweep_field is None else dt.timedelta())
                where = {field: {"from": start.isoformat()}}
                keys = [
                    r["key"]
                    for page in fetch_pages(
                        lambda p, w=where, s=spec, c=client: c.execute(
                            s.locate_query, {"where": w, "limit": 200, "page": p}
                        ).data[s.root],
                        200,
                        2,
                    )
                    for r in page
                ]
                located = locate(spec, keys, settings.store_root(store), store.tz, client)
                reason = f"sweep-{int(since.timestamp())}"
                for day, day_keys in sorted(located.items()):
                    requests.append(refresh_request(settings, store, spec, day, day_keys, reason))
        finally:
            client.close()
    return requests


def build_sweep_schedule(
    settings: Settings, assets: list, cron: str = "*/15 * * * *", lookback: dt.timedelta = dt.timedelta(minutes=30)
) -> dg.ScheduleDefinition:
    targets = refreshable_keys(assets)
    job = dg.define_asset_job("centra_sweep", selection=dg.AssetSelection.assets(*targets))

    @dg.schedule(
        name="centra_sweep_schedule",
        cron_schedule=cron,
        job=job,
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every 15 minutes, refreshes the orders, shipments and returns Centra changed since the "
        "previous sweep (minus a 30-minute look-back): catches changes no webhook announced. On by default: it "
        "needs nothing but the API, and without webhooks it is what keeps today's orders current.",
    )
    def centra_sweep_schedule(context: dg.ScheduleEvaluationContext, centra: CentraResource):
        scheduled = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        since = scheduled - dt.timedelta(minutes=15)
        return sweep_requests(centra, settings, since, lookback) or dg.SkipReason("nothing changed")

    return centra_sweep_schedule
