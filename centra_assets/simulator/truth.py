"""Ground truth: the simulator's data as flat rows, straight from the plans, for tests to compare against.

Windows select on the entity's own time (orders and their lines by creation, shipments and returns by
creation, purchase orders by creation); state (stock, customers, catalogue) is as of the clock time.
Timestamps are UTC ISO 8601; money is in the document's currency with the recorded conversion rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from .records import happened, order_id, order_status, updated_at
from .timeline import MAX_LIFECYCLE


def _iso(ts: float | None) -> str | None:
    """UTC, to the second: Centra renders timestamps in whole seconds (truncated)."""
    return None if ts is None else dt.datetime.fromtimestamp(int(ts), dt.UTC).isoformat()


def _plans(sim, t: float, lo: float, hi: float, lag: float = 0.0) -> Iterator:
    tl = sim.timeline
    last = min(tl.days_until(t), tl.day_of(hi) + 1)
    for d in range(max(0, tl.day_of(lo - lag)), last):
        for o in tl.day_orders(d):
            if o.created <= t:
                yield o


def orders(sim, t, lo, hi):
    rec = sim.records
    for o in _plans(sim, t, lo, hi):
        if lo <= o.created < hi:
            a = rec.amounts(o)
            yield {
                "number": o.number,
                "id": order_id(sim.catalog.seed, o.number),
                "status": order_status(o, t),
                "store_type": o.market["store"]["type"],
                "market_id": o.market["id"],
                "currency": o.market["_currency"],
                "conversion_rate": o.rate,
                "customer_id": o.customer,
                "account_id": o.account["id"] if o.account else None,
                "created_at": _iso(o.created),
                "updated_at": _iso(updated_at(o, t)),
                "quantity": a["quantity"],
                "subtotal": a["subtotal"],
                "discount": a["discount"],
                "shipping": a["shipping"],
                "tax": a["tax"],
                "grand_total": a["grand"],
                "line_count": len(o.lines),
            }


def order_lines(sim, t, lo, hi):
    for o in _plans(sim, t, lo, hi):
        if lo <= o.created < hi:
            cancelled = happened(o.cancelled, t)
            for lid, size_id, qty, original, unit, pct, wh in o.lines:
                yield {
                    "order_number": o.number,
                    "line_id": lid,
                    "size_id": size_id,
                    "sku": sim.catalog.size_by_id[size_id]["SKU"],
                    "quantity": qty,
                    "cancelled_quantity": qty if cancelled else 0,
                    "unit_price": unit,
                    "original_unit_price": original,
                    "line_value": round(unit * qty, 2),
                    "discount_percent": pct,
                    "tax_percent": sim.records.vat(o),
                    "returned_quantity": qty if lid in o.returned_lines and happened(o.return_created, t) else 0,
                    "warehouse_id": wh,
                }


def shipments(sim, t, lo, hi):
    for o in _plans(sim, t, lo, hi, lag=MAX_LIFECYCLE):
        s = sim.records.shipment(o, t)
        if s and lo <= s["createdAt"] < hi:
            yield {
                "id": s["id"],
                "order_number": o.number,
                "created_at": _iso(s["createdAt"]),
                "shipped_at": _iso(s["shippedAt"]),
                "is_shipped": s["isShipped"],
                "quantity": sum(line[2] for line in o.lines),
            }


def returns(sim, t, lo, hi):
    for o in _plans(sim, t, lo, hi, lag=MAX_LIFECYCLE):
        r = sim.records.return_(o, t)
        if r and lo <= r["createdAt"] < hi:
            yield {
                "id": r["id"],
                "order_number": o.number,
                "created_at": _iso(r["createdAt"]),
                "completed_at": _iso(r["completedAt"]),
                "return_status": r["returnStatus"],
                "market_id": o.market["id"],
                "store_type": o.market["store"]["type"],
                "conversion_rate": o.rate,
                "refund": sim.records.refund(o),
                "quantity": sum(line[2] for line in o.lines if line[0] in o.returned_lines),
            }


def stock(sim, t, _lo, _hi):
    for (size_id, wh), level in sorted(sim.records.stock_levels(t).items()):
        physical, allocated, demand, incoming, on_delivery = level
        yield {
            "size_id": size_id,
            "warehouse_id": wh,
            "physical": physical,
            "allocated": allocated,
            "free_to_allocate": physical - allocated,
            "demand": demand,
            "incoming": incoming,
            "on_delivery": on_delivery,
        }


def customers(sim, t, _lo, _hi):
    for i in range(1, sim.timeline.customers_until(t) + 1):
        c = sim.timeline.customer(i)
        yield {"id": i, "email": c["email"], "market_id": c["market"]["id"], "created_at": _iso(c["createdAt"])}


def purchase_orders(sim, t, lo, hi):
    for po in sim.timeline.purchase_orders_until(t):
        if lo <= po["created"] < hi:
            rec = sim.records.purchase_order(po, t)
            yield {
                "id": po["id"],
                "status": rec["status"],
                "created_at": _iso(po["created"]),
                "currency": po["currency"],
                "total": rec["totalValue"]["value"],
                "quantity": sum(line["quantity"] for line in po["lines"]),
                "delivered_quantity": sum(line["deliveredQuantity"] for line in rec["lines"]),
                "line_count": len(po["lines"]),
            }


def purchase_order_deliveries(sim, t, lo, hi):
    for po in sim.timeline.purchase_orders_until(t):
        for d in po["deliveries"]:
            rec = sim.records.delivery(po, d, t)
            if rec and lo <= d["created"] < hi:
                yield {
                    "id": d["id"],
                    "purchase_order_id": po["id"],
                    "status": rec["status"],
                    "created_at": _iso(d["created"]),
                    "quantity": sum(line["quantity"] for line in d["lines"]),
                }


def displays(sim, t, _lo, _hi):
    for d in sim.catalog.displays:
        if d["_createdAt"] <= t:
            yield {
                "display_id": d["id"],
                "product_id": d["product"]["id"],
                "canonical_category_id": d["canonicalCategory"]["id"] if d["canonicalCategory"] else None,
            }


def display_categories(sim, t, _lo, _hi):
    for d in sim.catalog.displays:
        if d["_createdAt"] <= t:
            for c in d["categories"]:
                yield {"display_id": d["id"], "category_id": c["id"]}


def _catalog(name: str):
    return lambda sim, t, lo, hi: ({"id": r["id"]} for r in getattr(sim.catalog, name))


EXPORTS = {
    "orders": orders,
    "order_lines": order_lines,
    "shipments": shipments,
    "returns": returns,
    "stock": stock,
    "customers": customers,
    "purchase_orders": purchase_orders,
    "purchase_order_deliveries": purchase_order_deliveries,
    "displays": displays,
    "display_categories": display_categories,
    **{
        name: _catalog(name)
        for name in (
            "products",
            "variants",
            "sizes",
            "prices",
            "markets",
            "pricelists",
            "warehouses",
            "vouchers",
            "campaigns",
            "categories",
            "brands",
            "collections",
            "suppliers",
            "accounts",
            "allocation_rules",
        )
    },
}


def export(sim, entity: str, t: float, lo: float, hi: float) -> list[dict]:
    return list(EXPORTS[entity](sim, t, lo, hi))
