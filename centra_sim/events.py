"""What changed between two clock times, and the two ways Centra announces it.

* The Integration API event queue (docs/centra-facts.md §7): listeners per integration name, ``events`` returns the
  oldest unconfirmed events until ``confirmEvents`` removes them. Order events carry the order *number*.
* The Centra Webhook plugin (§8): form-encoded ``payload={"events":[...]}``, at most 100 events per call,
  ``X-Centra-Signature: t=<unix>,v1=<HMAC-SHA256 of "<t>.<raw body>">``, 5 s timeout, up to 3 retries
  with growing delay, then dropped.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from graphql import GraphQLError

from .store.timeline import FIRST_ORDER_NUMBER, MAX_LIFECYCLE

log = logging.getLogger("centra_sim.events")

WEBHOOK_BATCH = 100
WEBHOOK_TIMEOUT = 5.0
WEBHOOK_RETRY_DELAYS = (1.0, 4.0, 10.0)  # seconds, divided by --time-scale; Centra's delays are UNCONFIRMED


@dataclass(frozen=True)
class Change:
    time: float
    object_type: str  # EventObjectType
    change_type: str  # EventChangeType
    reference: int  # the object's id; the order number for orders
    store_id: int | None
    market_id: int | None
    webhook: tuple[str, str] | None = None  # (type, action) in the Integration API webhook, if announced there


# Order lifecycle step -> changes it causes. Webhook action "insert" for new orders follows the ERP guide
# (UNCONFIRMED against "create", which the plugin page shows for shipments).
_STEP_CHANGES = {
    "created": [("Order", "CREATED", ("order", "insert"))],
    "confirmed": [("Order", "UPDATED", ("order", "update"))],
    "cancelled": [("Order", "UPDATED", ("order", "update"))],
    "shipped_gtg": [("Shipment", "CREATED", ("shipment", "create")), ("Order", "UPDATED", ("order", "update"))],
    "shipped": [("Shipment", "COMPLETED", ("shipment", "update")), ("Order", "COMPLETED", ("order", "update"))],
    "return_created": [("Return", "CREATED", ("return", "create")), ("Order", "UPDATED", ("order", "update"))],
    "return_done": [("Return", "COMPLETED", ("return", "update")), ("Order", "UPDATED", ("order", "update"))],
}


def changes_between(sim, t0: float, t1: float) -> list[Change]:
    """Every change in (t0, t1], oldest first."""
    tl = sim.timeline
    out: list[Change] = []
    if t1 <= t0:
        return out
    last = tl.days_until(t1) - 1
    for d in range(max(0, tl.day_of(t0 - MAX_LIFECYCLE)), last + 1):
        steps = tl.day_changes(d)
        day = tl.day_orders(d)
        first_number = FIRST_ORDER_NUMBER + tl.orders_before(d)
        first_new_customer = tl.customers_before(d) + 1
        for when, number, step in steps[bisect.bisect_right(steps, (t0, float("inf"))) :]:
            if when > t1:
                break
            o = day[number - first_number]
            store, market = o.market["store"]["id"], o.market["id"]
            for object_type, change_type, hook in _STEP_CHANGES[step]:
                out.append(Change(when, object_type, change_type, number, store, market, hook))
            if step == "created" and not o.wholesale and o.customer >= first_new_customer:
                out.append(Change(when, "Customer", "CREATED", o.customer, store, market, ("customer", "create")))
    for po in tl.purchase_orders_until(t1):
        if t0 < po["created"] <= t1:
            out.append(Change(po["created"], "PurchaseOrder", "CREATED", po["id"], None, None))
        for k, d in enumerate(po["deliveries"], 1):
            for when, change in ((d["created"], "CREATED"), (d["inserted"], "COMPLETED")):
                if t0 < when <= t1:
                    out.append(Change(when, "PurchaseOrderDelivery", change, d["id"], None, None))
                    done = change == "COMPLETED" and k == len(po["deliveries"])
                    out.append(Change(when, "PurchaseOrder", "COMPLETED" if done else "UPDATED", po["id"], None, None))
    out.sort(key=lambda c: c.time)
    return out


# ---------------------------------------------------------------- the Integration API event queue


class EventQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.listeners: dict[str, dict[str, dict]] = {}  # integration -> objectType -> listener
        self.pending: dict[str, dict[int, dict]] = {}  # integration -> event id -> event (insertion ordered)
        self._next_id = 1

    def publish(self, changes: list[Change]) -> None:
        with self._lock:
            for integration, listeners in self.listeners.items():
                box = self.pending.setdefault(integration, {})
                for c in changes:
                    listener = listeners.get(c.object_type)
                    if listener and c.change_type in listener["changeTypes"]:
                        box[self._next_id] = {
                            "id": self._next_id,
                            "objectType": c.object_type,
                            "changeType": c.change_type,
                            "objectReference": c.reference,
                            "createdAt": c.time,
                            "_store": c.store_id,
                            "_market": c.market_id,
                        }
                        self._next_id += 1

    def set_listeners(self, integration: str, inputs: list[dict], now: float) -> list[dict]:
        with self._lock:
            mine = self.listeners.setdefault(integration, {})
            for item in inputs:
                types = set(item.get("changeTypes") or ALL_CHANGE_TYPES)
                current = mine.get(item["objectType"])
                if current:
                    current["changeTypes"] = sorted(set(current["changeTypes"]) | types)
                    current["updatedAt"] = now
                else:
                    mine[item["objectType"]] = {
                        "integrationName": integration,
                        "objectType": item["objectType"],
                        "changeTypes": sorted(types),
                        "createdAt": now,
                        "updatedAt": now,
                    }
            return list(mine.values())

    def unset_listeners(self, integration: str, inputs: list[dict], now: float) -> list[dict]:
        with self._lock:
            mine = self.listeners.setdefault(integration, {})
            box = self.pending.setdefault(integration, {})
            affected = []
            for item in inputs:
                current = mine.get(item["objectType"])
                if not current:
                    continue
                removed = set(item.get("changeTypes") or current["changeTypes"])
                current["changeTypes"] = sorted(set(current["changeTypes"]) - removed)
                current["updatedAt"] = now
                for eid in [
                    i for i, e in box.items() if e["objectType"] == item["objectType"] and e["changeType"] in removed
                ]:
                    del box[eid]  # Centra deletes queued events of removed types
                if current["changeTypes"]:
                    affected.append(current)
                else:
                    del mine[item["objectType"]]
            return affected

    def fetch(self, integration: str, where: dict | None, limit: int) -> list[dict]:
        where = where or {}
        with self._lock:
            out = []
            for e in self.pending.get(integration, {}).values():
                if where.get("objectType") and e["objectType"] not in where["objectType"]:
                    continue
                if where.get("changeType") and e["changeType"] not in where["changeType"]:
                    continue
                if where.get("storeId") and e["_store"] not in where["storeId"]:
                    continue
                if where.get("marketId") and e["_market"] not in where["marketId"]:
                    continue
                out.append(e)
                if len(out) >= limit:
                    break
            return out

    def confirm(self, integration: str, ids: list[int]) -> tuple[list[dict], list[dict]]:
        with self._lock:
            box = self.pending.get(integration, {})
            done = [box.pop(i) for i in ids if i in box]
            unknown = [i for i in ids if i not in {e["id"] for e in done}]
        warnings = [
            {"message": f"Event {i} not found or already confirmed", "path": ["input", "eventsIds"]} for i in unknown
        ]
        return done, warnings


ALL_CHANGE_TYPES = ("CREATED", "UPDATED", "DELETED", "COMPLETED", "DEPENDENT_DATA_CHANGED")


def _integration(ctx) -> str:
    return ctx.token.integration


def resolve_events(_obj, args, ctx):
    limit = args.get("limit", 20)
    if limit is None or not 1 <= limit <= 200:
        raise GraphQLError("Limit must be in range 1 - 200")
    return ctx.sim.events.fetch(_integration(ctx), args.get("where"), limit)


def resolve_event_listeners(_obj, _args, ctx):
    return list(ctx.sim.events.listeners.get(_integration(ctx), {}).values())


def _payload(key: str, value, warnings=()) -> dict:
    return {key: value, "userErrors": [], "userWarnings": list(warnings)}


def set_event_listeners(_obj, args, ctx):
    return _payload("eventListeners", ctx.sim.events.set_listeners(_integration(ctx), args["input"], ctx.t))


def unset_event_listeners(_obj, args, ctx):
    return _payload("eventListeners", ctx.sim.events.unset_listeners(_integration(ctx), args["input"], ctx.t))


def confirm_events(_obj, args, ctx):
    done, warnings = ctx.sim.events.confirm(_integration(ctx), args["input"]["eventsIds"])
    return _payload("events", done, warnings)


def event_object(event, _args, ctx):
    """The object's current state (null for DELETED)."""
    sim, t, ref = ctx.sim, ctx.t, event["objectReference"]
    if event["changeType"] == "DELETED":
        return None
    kind = event["objectType"]
    if kind in ("Order", "Shipment", "Return"):
        plan = sim.timeline.plan(ref, sim.timeline.days_until(t) - 1)
        if plan is None:
            return None
        return {"Order": sim.records.order, "Shipment": sim.records.shipment, "Return": sim.records.return_}[kind](
            plan, t
        )
    if kind == "Customer":
        return {**sim.timeline.customer(ref), "__typename": "Customer"}
    if kind in CATALOG_OBJECTS:  # the generator makes no such events today; resolved should a test queue one
        rec = next((r for r in getattr(sim.catalog, CATALOG_OBJECTS[kind]) if r["id"] == ref), None)
        return {**rec, "__typename": kind} if rec else None
    for po in sim.timeline.purchase_orders_until(t):
        if kind == "PurchaseOrder" and po["id"] == ref:
            return {**sim.records.purchase_order(po, t), "__typename": "PurchaseOrder"}
        for d in po["deliveries"]:
            if kind == "PurchaseOrderDelivery" and d["id"] == ref:
                rec = sim.records.delivery(po, d, t)
                return {**rec, "__typename": "PurchaseOrderDelivery"} if rec else None
    return None


CATALOG_OBJECTS = {
    "Product": "products",
    "ProductVariant": "variants",
    "ProductSize": "sizes",
    "Collection": "collections",
    "Display": "displays",
    "Category": "categories",
    "Brand": "brands",
    "Market": "markets",
    "Pricelist": "pricelists",
    "Warehouse": "warehouses",
    "Voucher": "vouchers",
    "Campaign": "campaigns",
    "Account": "accounts",
    "Supplier": "suppliers",
}


def _event_ref(key: str) -> Callable:
    def resolve(event, _args, ctx):
        value = event[f"_{key}"]
        source = ctx.sim.catalog.stores if key == "store" else ctx.sim.catalog.markets
        return source[value - 1] if value else None

    return resolve


EVENT_RESOLVERS = {
    "Query.events": resolve_events,
    "Query.eventListeners": resolve_event_listeners,
    "Mutation.setEventListeners": set_event_listeners,
    "Mutation.unsetEventListeners": unset_event_listeners,
    "Mutation.confirmEvents": confirm_events,
    "Event.object": event_object,
    "Event.store": _event_ref("store"),
    "Event.market": _event_ref("market"),
}


# ---------------------------------------------------------------- the Centra Webhook plugin


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Centra-Signature header value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_body(events: list[dict]) -> bytes:
    return ("payload=" + urllib.parse.quote(json.dumps({"events": events}, separators=(",", ":")), safe="")).encode()


class WebhookSender:
    """Posts changes to the webhook URL from a background thread, in order, as the plugin does."""

    def __init__(self, url: str, secret: str | None, tz: dt.tzinfo, time_scale: float, faults) -> None:
        self.url, self.secret, self.tz = url, secret, tz
        self.delays = tuple(d / max(time_scale, 1e-9) for d in WEBHOOK_RETRY_DELAYS)
        self.faults = faults
        self.stats = {"calls": 0, "delivered_events": 0, "failed_attempts": 0, "dropped_events": 0}
        self.dropped: list[dict] = []
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="centra-sim-webhooks", daemon=True)
        self._thread.start()

    def send(self, changes: list[Change]) -> None:
        events = [
            {
                "type": c.webhook[0],
                "action": c.webhook[1],
                "id": c.reference,
                "date": dt.datetime.fromtimestamp(c.time, self.tz).strftime("%Y-%m-%d %H:%M:%S.%f"),
            }
            for c in changes
            if c.webhook
        ]
        for i in range(0, len(events), WEBHOOK_BATCH):
            self._queue.put(events[i : i + WEBHOOK_BATCH])

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        with httpx.Client(timeout=WEBHOOK_TIMEOUT) as client:
            while (batch := self._queue.get()) is not None:
                try:
                    self._deliver(client, batch)
                finally:
                    self._queue.task_done()

    def _deliver(self, client: httpx.Client, batch: list[dict]) -> None:
        if self.faults.draw("webhook_drop_rate"):
            self._drop(batch, "dropped by fault injection")
            return
        body = webhook_body(batch)
        for attempt in range(1 + len(self.delays)):
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if self.secret:
                headers["X-Centra-Signature"] = sign(self.secret, int(time.time()), body)
            self.stats["calls"] += 1
            try:
                response = client.post(self.url, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    self.stats["delivered_events"] += len(batch)
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            self.stats["failed_attempts"] += 1
            if attempt < len(self.delays):
                time.sleep(self.delays[attempt])
        self._drop(batch, reason)

    def _drop(self, batch: list[dict], reason: str) -> None:
        self.stats["dropped_events"] += len(batch)
        self.dropped.extend(batch)
        log.warning("webhook with %d events dropped: %s", len(batch), reason)
