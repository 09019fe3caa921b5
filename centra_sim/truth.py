"""Ground truth: the simulator's data as flat rows, straight from the plans, for tests to compare against.

Windows select on the entity's own time (orders and their lines by creation, shipments and returns by
creation, purchase orders by creation); state (stock, customers, catalogue) is as of the clock time.
Timestamps are UTC ISO 8601; money is in the document's currency with the recorded conversion rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from .api import analyst, documented
from .store.records import happened, order_id, order_status, updated_at
from .store.timeline import MAX_LIFECYCLE, day_rate


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
                "shipping_tax": a["shipping_tax"] if not o.wholesale else 0.0,
                "tax": a["tax"],
                "grand_total": a["grand"],
                "line_count": len(o.lines),
                **_channel(sim, o),
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
                    "shipped_quantity": qty if happened(o.shipped, t) and not cancelled else 0,
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
                "shipment_plugin": analyst.STORE_PLUGINS[o.wholesale]["name"],
                "internal_shipping_cost": analyst.internal_shipping_cost(o, s["numberOfPackages"]),
                "shipping": o.shipping,
                "discounts": sim.records.amounts(o)["discount"],
                "return_tracking_number": f"R{o.number:012d}" if happened(o.return_created, t) else None,
            }


def shipment_lines(sim, t, lo, hi):
    """A line per order line shipped, with its size as the order placed it."""
    for o in _plans(sim, t, lo, hi, lag=MAX_LIFECYCLE):
        s = sim.records.shipment(o, t)
        if s and lo <= s["createdAt"] < hi:
            for lid, size_id, qty, *_ in o.lines:
                yield {
                    "shipment_id": s["id"],
                    "line_id": lid,
                    "order_line_id": lid,
                    "size_id": size_id,
                    "quantity": qty,
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
                "comment": r["comment"],
                "return_cost": 0.0,  # the simulated brand charges no return fees
                "returned_to_stock": r["returnedToStock"],
                "return_warehouse_id": r["returnWarehouse"]["id"] if r["returnWarehouse"] else None,
            }


def order_discounts(sim, t, lo, hi):
    """The order's voucher as applied: one per order that used one."""
    for o in _plans(sim, t, lo, hi):
        if lo <= o.created < hi and o.voucher:
            v = o.voucher
            yield {"order_number": o.number, "position": 1, "voucher_code": v["code"], "voucher_method": v["method"]}


def currencies(sim, t, _lo, _hi):
    """Each currency with the rate of the clock's day."""
    day = sim.timeline.day_of(t)
    for c in sim.catalog.currencies.values():
        yield {"id": c["id"], "code": c["code"], "current_base_rate": day_rate(c, day), "is_base": c["code"] == "SEK"}


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
        yield {
            "id": i,
            "email": c["email"],
            "market_id": c["market"]["id"],
            "created_at": _iso(c["createdAt"]),
            "orders_before_history": sim.timeline.orders_before_history(i),  # the orders no listing returns
        }


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


def _channel(sim, o) -> dict:
    """How an order was paid and shipped, and where it is allocated from."""
    order = {"_plan": o}
    return {
        "payment_method_uri": documented.payment_method(order, {}, None)["uri"],
        "shipping_option_id": documented.shipping_price_group(order, {}, None)["shippingOption"]["id"],
        "allocation_rule_id": o.market["allocationRule"]["id"],
        "internal_comment": "VIP customer" if o.number % 97 == 0 else None,
        "billing_country": sim.records.address(o)["country"]["code"],
    }


def _orders_in(sim, t, lo, hi):
    return (o for o in _plans(sim, t, lo, hi) if lo <= o.created < hi)


def _attributes(key: str, objects):
    for object_id, attributes in objects:
        for row in analyst.attribute_rows(attributes):
            yield {key: object_id, **row}


def product_attributes(sim, t, _lo, _hi):
    return _attributes("product_id", ((p["id"], analyst.product_attributes(p)) for p in sim.catalog.products))


def variant_attributes(sim, t, _lo, _hi):
    return _attributes("variant_id", ((v["id"], analyst.variant_attributes(v)) for v in sim.catalog.variants))


def customer_attributes(sim, t, _lo, _hi):
    ids = range(1, sim.timeline.customers_until(t) + 1)
    return _attributes("customer_id", ((i, analyst.customer_attributes(i)) for i in ids))


def account_attributes(sim, t, _lo, _hi):
    return _attributes("account_id", ((a["id"], analyst.account_attributes(a)) for a in sim.catalog.accounts))


def order_attributes(sim, t, lo, hi):
    return _attributes("order_number", ((o.number, analyst.order_attributes(o)) for o in _orders_in(sim, t, lo, hi)))


def order_line_allocations(sim, t, lo, hi):
    """Every unit of a confirmed, not cancelled line is allocated to the line's warehouse (stock follows it)."""
    for o in _orders_in(sim, t, lo, hi):
        if happened(o.confirmed, t) and not happened(o.cancelled, t):
            for lid, _size, qty, _o, _u, _p, wh in o.lines:
                yield {"order_number": o.number, "line_id": lid, "warehouse_id": wh, "quantity": qty}


def order_delivery_windows(sim, t, lo, hi):
    for o in _orders_in(sim, t, lo, hi):
        if o.wholesale:
            yield {"order_number": o.number, "delivery_window_id": 1}


def return_refunds(sim, t, lo, hi):
    for o in _plans(sim, t, lo, hi, lag=MAX_LIFECYCLE):
        if happened(o.return_created, t) and lo <= o.return_created < hi and happened(o.return_done, t):
            yield {"return_id": o.number, "entry_type": "REFUND", "value": sim.records.refund(o)}


def purchase_order_delivery_lines(sim, t, lo, hi):
    """Delivery lines with their costs: landed cost (freight and duties included) 12%, customs value 4% above the
    unit cost (records.delivery)."""
    for po in sim.timeline.purchase_orders_until(t):
        for d in po["deliveries"]:
            if d["created"] <= t and lo <= d["created"] < hi:
                for position, line in enumerate(d["lines"], 1):
                    yield {
                        "delivery_id": d["id"],
                        "position": position,
                        "size_id": line["size"],
                        "quantity": line["quantity"],
                        "unit_cost": line["unitCost"],
                        "landed_cost": round(line["unitCost"] * 1.12, 2),
                        "customs_value": round(line["unitCost"] * 1.04, 2),
                    }


def stock_change_lines(sim, t, lo, hi):
    for line in analyst.stock_change_lines(sim.catalog, sim.timeline, t):
        if lo <= line["createdAt"] < hi:
            yield {
                "line_id": line["id"],
                "stock_change_id": line["stockChange"]["id"],
                "size_id": line["productSize"]["id"],
                "warehouse_id": line["warehouse"]["id"],
                "delivered_quantity": line["deliveredQuantity"],
                "unit_cost": line["unitCost"]["value"],
                "currency": line["unitCost"]["currency"]["code"],
            }


def products(sim, t, _lo, _hi):
    for p in sim.catalog.products:
        yield {
            "id": p["id"],
            "is_bundle": analyst.is_bundle(p),
            "country_of_origin": analyst.country_of_origin(sim.catalog, p)["code"],
            "folder_id": documented.product_folder(sim.catalog, p)["id"],
            "weight": documented.product_weight(p)["value"],
        }


def variants(sim, t, _lo, _hi):
    for v in sim.catalog.variants:
        yield {
            "id": v["id"],
            "unit_cost": v["unitCost"]["value"],
            "supplier_id": analyst.supplier_of(sim.catalog, v)["id"],
        }


def product_media(sim, t, _lo, _hi):
    for p in sim.catalog.products:
        for m in p["media"]:
            yield {"product_id": p["id"], "media_id": m["id"], "url": f"{_MEDIA}/{m['_path']}-standard.jpg"}


def display_media(sim, t, _lo, _hi):
    for d in sim.catalog.displays:
        if d["_createdAt"] <= t:
            for m in d["media"]:
                yield {"display_id": d["id"], "media_id": m["id"], "url": f"{_MEDIA}/{m['_path']}-standard.jpg"}


def display_markets(sim, t, _lo, _hi):
    for d in sim.catalog.displays:
        if d["_createdAt"] <= t:
            for m in d["markets"]:
                yield {"display_id": d["id"], "market_id": m["id"]}


def folders(sim, t, _lo, _hi):
    for f in documented._extras(sim.catalog)["folders"]:
        yield {"id": f["id"], "is_top_folder": f["isTopFolder"], "children": [c["id"] for c in f["childFolders"]]}


def markets(sim, t, _lo, _hi):
    for m in sim.catalog.markets:
        yield {"id": m["id"], "allocation_rule_id": m["allocationRule"]["id"], "comment": m["comment"]}


def accounts(sim, t, _lo, _hi):
    for a in sim.catalog.accounts:
        yield {
            "id": a["id"],
            "sales_representative_id": documented.ACCOUNT_FIELDS["salesRepresentative"](a)["id"],
            "payment_terms_id": documented.ACCOUNT_FIELDS["paymentTerms"](a)["id"],
        }


_MEDIA = "https://media.nordvik.example/client/dynamic/images"  # the simulator's media host


def _catalog(name: str):
    return lambda sim, t, lo, hi: ({"id": r["id"]} for r in getattr(sim.catalog, name))


EXPORTS = {
    "orders": orders,
    "order_lines": order_lines,
    "shipments": shipments,
    "shipment_lines": shipment_lines,
    "returns": returns,
    "order_discounts": order_discounts,
    "currencies": currencies,
    "stock": stock,
    "customers": customers,
    "purchase_orders": purchase_orders,
    "purchase_order_deliveries": purchase_order_deliveries,
    "displays": displays,
    "display_categories": display_categories,
    "display_markets": display_markets,
    "display_media": display_media,
    "product_media": product_media,
    "product_attributes": product_attributes,
    "variant_attributes": variant_attributes,
    "customer_attributes": customer_attributes,
    "account_attributes": account_attributes,
    "order_attributes": order_attributes,
    "order_line_allocations": order_line_allocations,
    "order_delivery_windows": order_delivery_windows,
    "return_refunds": return_refunds,
    "stock_change_lines": stock_change_lines,
    "purchase_order_delivery_lines": purchase_order_delivery_lines,
    "products": products,
    "variants": variants,
    "folders": folders,
    "markets": markets,
    "accounts": accounts,
    **{
        name: _catalog(name)
        for name in (
            "sizes",
            "prices",
            "pricelists",
            "warehouses",
            "vouchers",
            "campaigns",
            "categories",
            "brands",
            "collections",
            "suppliers",
            "allocation_rules",
        )
    },
}


def export(sim, entity: str, t: float, lo: float, hi: float) -> list[dict]:
    return list(EXPORTS[entity](sim, t, lo, hi))
