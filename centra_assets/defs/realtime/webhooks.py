"""The webhook sensor: turns the webhook events `centra-webhooks serve` stored into targeted refreshes of the
announced orders, shipments and returns.

Its cursor holds, per store, the last stored event it read, and the refresh runs it asked for (cursor.py): a store
that fails keeps its position, and its events are read again next tick.

Refreshes coalesce: while a store's refresh run is still waiting to start, the sensor reads none of the store's new
events; they stay in the event store, after the cursor, and go into the store's next run, asked for on the first
tick after that run started. So the sensor ticks every few seconds and a burst of webhooks still asks for one run
per store at a time, not one per tick: ticking every 10 s without this, one refresh run per order waited at the
cap of runs for 85 s on average (issue #27).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

import dagster as dg

from centra_assets.settings import Settings, Store
from centra_assets.webhooks.store import EventStore, open_event_store

from ..policy import MAX_EVENTS_PER_TICK, STORE_CONCURRENCY, TICK_SECONDS, WEBHOOK_SENSOR_INTERVAL
from ..resources import CentraResource
from .cursor import RefreshCursor, sensor_result
from .fanout import serve_tick
from .locate import CHANGING, Planned, refresh_announced, refreshable_keys

BY_WEBHOOK = {s.webhook_type: s for s in CHANGING if s.webhook_type}


def event_store(settings: Settings, store: Store) -> EventStore:
    """Where the receiver keeps this store's webhook events (PostgreSQL, or SQLite in the state folder)."""
    return open_event_store(settings.webhook_events, store.name)


@dataclass
class WebhookCursor(RefreshCursor):
    after: dict[str, int] = field(default_factory=dict)  # store -> the last stored event read

    @classmethod
    def load(cls, text: str | None, settings: Settings) -> WebhookCursor:
        state = json.loads(text) if text else {"after": {}, "pending": {}}
        after = state["after"]
        if isinstance(after, int):  # a cursor from before several stores
            after = {settings.stores[0].name: after}
        return cls(pending=state["pending"], served=state.get("served", {}), after=after)

    def state(self) -> dict:
        return {"after": self.after, "pending": self.pending, "served": self.served}


def build_webhook_sensor(settings: Settings, assets: list) -> dg.SensorDefinition:
    targets = refreshable_keys(assets)

    @dg.sensor(
        name="centra_webhook_sensor",
        minimum_interval_seconds=WEBHOOK_SENSOR_INTERVAL,
        asset_selection=targets,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Turns webhook events stored by `centra-webhooks serve` into targeted refreshes of the "
        "announced orders, shipments and returns; failed refreshes are asked for again. Stores are read "
        f"{STORE_CONCURRENCY} at a time, longest-waiting first, for at most {TICK_SECONDS:.0f} s a tick.",
    )
    def centra_webhook_sensor(context: dg.SensorEvaluationContext, centra: CentraResource):
        cursor = WebhookCursor.load(context.cursor, settings)
        requests, _ = cursor.follow_up(context, settings)
        started = time.time()

        def one_store(store: Store) -> tuple[list[Planned], int, int]:
            """(refresh runs, last event read, events read) for the store's events after its cursor."""
            if store.name in cursor.waiting_to_start:  # its events go into the run after the one waiting
                return [], cursor.after.get(store.name, 0), 0
            events = event_store(settings, store)
            try:
                new = events.read_after(cursor.after.get(store.name, 0), MAX_EVENTS_PER_TICK)
            finally:
                events.close()
            announced: dict[str, set[int]] = defaultdict(set)
            for e in new:
                if e.type in BY_WEBHOOK and e.object_id is not None:
                    announced[BY_WEBHOOK[e.type].name].add(e.object_id)
            client = centra.client(store) if announced else None
            try:
                planned = refresh_announced(
                    announced, settings, store, client, f"webhook-{new[0].id}" if new else "webhook"
                )
            finally:
                if client:
                    client.close()
            return planned, (new[-1].id if new else cursor.after.get(store.name, 0)), len(new)

        # a store that fails keeps its cursor: its events are read again next tick
        results, received = serve_tick(context, settings, cursor.served, started, one_store, "webhook events"), 0
        for store, (planned, mark, count) in results:
            cursor.after[store.name] = mark
            requests += [p.request for p in planned]
            cursor.remember(planned)
            received += count
        context.update_cursor(cursor.to_json(settings))
        if received:
            context.log.info(f"{received} webhook events -> {len(requests)} refresh runs")
        skip = f"no new webhook events ({len(cursor.pending)} refreshes still running)"
        if cursor.waiting_to_start:
            skip = (
                f"the refresh runs of stores {sorted(cursor.waiting_to_start)} are still queued: their new events go "
                "into their next run, asked for once the queued one starts"
            )
        return sensor_result(requests, skip)

    return centra_webhook_sensor
