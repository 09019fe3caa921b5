"""Resolvers: the root queries (filter, sort, page) and the fields computed on demand.

Every resolver has the signature ``resolver(obj, args, ctx)``; ``ctx.sim`` is the simulator and ``ctx.t``
the clock time the request sees. Orders, shipments and returns are streamed day by day from the
timeline, so a page of a 1M-order store costs what a page of a small one costs.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator

from graphql import GraphQLError

from ..store.records import happened, number_from_id, order_id, order_status, updated_at
from ..store.timeline import DAY, MAX_LIFECYCLE, day_rate

MAX_LIMIT = 200  # "Limit must be in range 1 - 200"
SHIPMENT_LAG = 12 * DAY  # longest time from order to shipment created/shipped


# ---------------------------------------------------------------- generic filtering, sorting, paging


def matches(value, cond) -> bool:
    """One filter condition, by the shape Centra's filter inputs take."""
    if cond is None:
        return True
    if isinstance(cond, list):
        if isinstance(value, frozenset):  # a record with several values (a display's markets): any matches
            return not value.isdisjoint(cond)
        return value in cond
    if isinstance(cond, dict):
        if "equals" in cond or "contains" in cond:
            if value is None:
                return False
            if cond.get("equals") is not None and str(value) != cond["equals"]:
                return False
            return cond.get("contains") is None or cond["contains"].lower() in str(value).lower()
        if value is None:
            return False
        return (cond.get("from") is None or value >= cond["from"]) and (cond.get("to") is None or value <= cond["to"])
    return value == cond


def where_predicate(where: dict | None, accessors: dict[str, Callable]) -> Callable | None:
    conds = [(accessors.get(k) or (lambda r, k=k: r.get(k)), v) for k, v in (where or {}).items() if v is not None]
    if not conds:
        return None
    return lambda rec: all(matches(get(rec), cond) for get, cond in conds)


def check_paging(args: dict) -> tuple[int, int]:
    limit, page = args.get("limit", 20), args.get("page", 1)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise GraphQLError(f"Limit must be in range 1 - {MAX_LIMIT}")
    if page is None or page < 1:
        raise GraphQLError("Page must be greater than or equal to 1")  # wording UNCONFIRMED
    return limit, page


def sort_records(items: list, sort: list[str] | None, accessors: dict[str, Callable]) -> list:
    for key in reversed(sort or []):
        field, direction = key.rsplit("_", 1)
        get = accessors.get(field) or (lambda r, f=field: r.get(f))
        items.sort(key=lambda r: (get(r) is None, get(r)), reverse=direction == "DESC")
    return items


def listing(source: Callable, accessors: dict | None = None) -> Callable:
    """A root list query over records that fit in memory: filter, sort, page."""
    accessors = accessors or {}

    def resolve(_obj, args, ctx):
        limit, page = check_paging(args)
        pred = where_predicate(args.get("where"), accessors)
        items = [r for r in source(ctx) if pred is None or pred(r)]
        return sort_records(items, args.get("sort"), accessors)[(page - 1) * limit : page * limit]

    return resolve


def by_id(source: Callable) -> Callable:
    return lambda _obj, args, ctx: next((r for r in source(ctx) if r["id"] == args["id"]), None)


def one_of(list_resolver: Callable, key: str = "id") -> Callable:
    """A single-object root (`order(id:)`, `shipment(id:)`) answered by its list root filtered on the id, so both
    see the same records at the same clock time; null when none matches, as Centra answers an unknown id."""

    def resolve(obj, args, ctx):
        found = list_resolver(obj, {"where": {key: [args["id"]]}, "limit": 1, "page": 1}, ctx)
        return next((r for r in found if r["id"] == args["id"]), None)

    return resolve


ref = {
    f"{k}Id": (lambda r, k=k: (r.get(k) or {}).get("id"))
    for k in (
        "store",
        "market",
        "pricelist",
        "currency",
        "brand",
        "collection",
        "supplier",
        "warehouse",
        "product",
        "productVariant",
    )
}


# ---------------------------------------------------------------- orders, shipments, returns


def _day_window(sim, t: float, where: dict, lags: dict[str, float]) -> range:
    """The days whose orders can match a filter: date ranges on the record bound the order's creation day."""
    tl = sim.timeline
    lo, hi = 0, tl.days_until(t) - 1
    for key, lag in lags.items():
        cond = (where or {}).get(key)
        if cond:
            if cond.get("from") is not None:
                lo = max(lo, tl.day_of(cond["from"] - lag))
            if cond.get("to") is not None:
                hi = min(hi, tl.day_of(cond["to"]))
    return range(lo, hi + 1)


def _plans(
    sim,
    t: float,
    days: Iterable[int],
    numbers: set[int] | None,
    descending: bool,
    created: tuple[float, float] = (float("-inf"), float("inf")),
) -> Iterator:
    """Order plans of the given days created in `created` (and by t), in number order. Each day is sorted by
    creation time, so the window is two bisections, not a scan: a deep page costs what the first one does."""
    tl = sim.timeline
    if numbers is not None:
        last = tl.days_until(t) - 1
        wanted = {tl.day_of_number(n, last) for n in numbers} - {-1}
        days = [d for d in days if d in wanted]
    lo, hi = created[0], min(created[1], t)
    for d in reversed(days) if descending else days:
        day, times = tl.day_orders(d), tl.day_times(d)
        window = day[bisect.bisect_left(times, lo) : bisect.bisect_right(times, hi)]
        for o in reversed(window) if descending else window:
            if numbers is None or o.number in numbers:
                yield o


def _numbers(where: dict | None, *keys_and_parsers) -> set[int] | None:
    found = None
    for key, parse in keys_and_parsers:
        values = (where or {}).get(key)
        if values is not None:
            nums = {n for n in map(parse, values) if n is not None}
            found = nums if found is None else found & nums
    return found


def _order_accessors(sim, t: float) -> dict:
    seed = sim.catalog.seed
    return {
        "id": lambda o: order_id(seed, o.number),
        "number": lambda o: o.number,
        "status": lambda o: order_status(o, t),
        "createdAt": lambda o: o.created,
        "orderDate": lambda o: o.created,
        "updatedAt": lambda o: updated_at(o, t),
        "storeType": lambda o: o.market["store"]["type"],
        "storeId": lambda o: o.market["store"]["id"],
        "marketId": lambda o: o.market["id"],
        "customerId": lambda o: o.customer,
        "accountId": lambda o: o.account["id"] if o.account else None,
        "pricelistId": lambda o: o.market["pricelist"]["id"],
        "currencyId": lambda o: sim.catalog.currencies[o.market["_currency"]]["id"],
        "isOnHold": lambda o: False,
        "isWaitingForPayment": lambda o: False,
    }


NATURAL_ORDER_SORTS = {"number", "createdAt", "orderDate"}  # order numbers are given out in creation order


def _sorted_orders(sim, ctx, args: dict) -> tuple[Iterator, bool]:
    """Matching order plans in the requested order; the bool says whether they stream (natural order)."""
    t, where = ctx.t, args.get("where")
    acc = _order_accessors(sim, t)
    days = _day_window(sim, t, where, {"createdAt": 0, "orderDate": 0, "updatedAt": MAX_LIFECYCLE})
    numbers = _numbers(where, ("number", int), ("id", number_from_id))
    created = _created_window(where)
    pred = where_predicate({k: v for k, v in (where or {}).items() if k not in ("number", "id", "createdAt")}, acc)
    sort = args.get("sort") or ["number_ASC"]
    field, direction = sort[0].rsplit("_", 1)
    plans = _plans(sim, t, days, numbers, field in NATURAL_ORDER_SORTS and direction == "DESC", created)
    if pred is not None:
        plans = filter(pred, plans)
    if field in NATURAL_ORDER_SORTS:
        return plans, True
    return iter(sort_records(list(plans), sort + ["number_ASC"], acc)), False


def _created_window(where: dict | None) -> tuple[float, float]:
    cond = (where or {}).get("createdAt") or {}
    return (
        cond.get("from") if cond.get("from") is not None else float("-inf"),
        cond.get("to") if cond.get("to") is not None else float("inf"),
    )


def resolve_orders(_obj, args, ctx):
    limit, page = check_paging(args)
    plans, _ = _sorted_orders(ctx.sim, ctx, args)
    return [ctx.sim.records.order(o, ctx.t) for o in itertools.islice(plans, (page - 1) * limit, page * limit)]


def _cursor(number: int) -> str:
    return base64.b64encode(f"number:{number}".encode()).decode()


def _uncursor(cursor: str) -> int:
    try:
        kind, value = base64.b64decode(cursor.encode()).decode().split(":", 1)
        if kind != "number":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise GraphQLError(f"Invalid cursor: {cursor}") from None


def resolve_order_connection(_obj, args, ctx):
    """Relay pagination: first/after forwards, last/before backwards; cursors are base64 'number:<n>'."""
    first, last = args.get("first"), args.get("last")
    size = first if first is not None else last if last is not None else 20
    if not 1 <= size <= MAX_LIMIT:
        raise GraphQLError(f"Limit must be in range 1 - {MAX_LIMIT}")
    plans = list(_sorted_orders(ctx.sim, ctx, args)[0]) if args.get("before") or last is not None else None
    if plans is None:  # forwards: stream, skipping up to the cursor
        stream, _ = _sorted_orders(ctx.sim, ctx, args)
        if args.get("after"):
            after = _uncursor(args["after"])
            stream = itertools.dropwhile(lambda o: o.number != after, stream)
            next(stream, None)
        window = list(itertools.islice(stream, size + 1))
        has_next, has_prev, window = len(window) > size, bool(args.get("after")), window[:size]
    else:
        end = len(plans)
        if args.get("before"):
            before = _uncursor(args["before"])
            end = next((i for i, o in enumerate(plans) if o.number == before), end)
        start = max(0, end - size) if first is None else 0
        window = plans[start:end][:size]
        has_next, has_prev = end < len(plans), start > 0
    edges = [{"cursor": _cursor(o.number), "node": ctx.sim.records.order(o, ctx.t)} for o in window]
    return {
        "edges": edges,
        "_args": args,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def resolve_total_count(conn, _args, ctx):
    stream, _ = _sorted_orders(ctx.sim, ctx, {**conn["_args"], "sort": ["number_ASC"]})
    return sum(1 for _ in stream)


def _derived_listing(make: Callable, lag: float, date_keys: tuple[str, ...], id_keys: tuple) -> Callable:
    """Shipments and returns: one per order at most, id = order number, so they stream by order day."""

    def resolve(_obj, args, ctx):
        limit, page = check_paging(args)
        sim, t, where = ctx.sim, ctx.t, args.get("where") or {}
        days = _day_window(sim, t, where, dict.fromkeys(date_keys, lag))
        numbers = _numbers(where, *id_keys)
        rest = {k: v for k, v in where.items() if k not in {k for k, _ in id_keys}}
        pred = where_predicate(
            rest,
            {
                **ref,
                "storeType": lambda r: r["_plan"].market["store"]["type"],
                "storeId": lambda r: r["_plan"].market["store"]["id"],
                "orderNumber": lambda r: r["_plan"].number,
                "customerId": lambda r: r["_plan"].customer,
            },
        )
        sort = args.get("sort") or ["id_ASC"]
        natural = sort[0].startswith("id_")
        plans = _plans(sim, t, days, numbers, descending=natural and sort[0].endswith("DESC"))
        records = (r for o in plans if (r := make(sim.records, o, t)) is not None and (pred is None or pred(r)))
        if not natural:
            records = iter(sort_records(list(records), sort + ["id_ASC"], {}))
        return list(itertools.islice(records, (page - 1) * limit, page * limit))

    return resolve


def _shipment_number(s: str) -> int | None:
    head, _, tail = s.partition("-")
    return int(head) if head.isdigit() and tail == "1" else None


resolve_shipments = _derived_listing(
    lambda rec, o, t: rec.shipment(o, t),
    SHIPMENT_LAG,
    ("createdAt", "updatedAt", "shippedAt"),
    (("id", int), ("number", _shipment_number), ("orderId", number_from_id)),
)
resolve_returns = _derived_listing(
    lambda rec, o, t: rec.return_(o, t),
    MAX_LIFECYCLE,
    ("createdAt",),
    (("id", int), ("orderId", number_from_id), ("orderNumber", int), ("shipmentId", int)),
)


# ---------------------------------------------------------------- customers


def resolve_customers(_obj, args, ctx):
    limit, page = check_paging(args)
    tl, t, where = ctx.sim.timeline, ctx.t, args.get("where") or {}
    n = tl.customers_until(t)
    ids: Iterable[int] = range(1, n + 1)
    created = where.get("createdAt") or where.get("updatedAt")  # equal for customers
    if created and created.get("from") is not None and created["from"] >= tl.start:
        ids = range(tl.customers_before(tl.day_of(created["from"])) + 1, n + 1)
    if where.get("id"):
        ids = sorted(i for i in set(where["id"]) if 1 <= i <= n)
    sort = args.get("sort") or ["id_ASC"]
    if sort[0] == "id_DESC":
        ids = reversed(list(ids))
    pred = where_predicate(
        {k: v for k, v in where.items() if k != "id"}, {"marketId": lambda r: r["market"]["id"], "storeId": lambda r: 1}
    )
    recs = (r for i in ids if (r := tl.customer(i)) and (pred is None or pred(r)))
    if not sort[0].startswith("id_"):
        recs = iter(sort_records(list(recs), sort + ["id_ASC"], {}))
    return list(itertools.islice(recs, (page - 1) * limit, page * limit))


# ---------------------------------------------------------------- fields computed on demand


def order_lines(order, args, ctx):
    o, t = order["_plan"], order["_t"]
    lines = [ctx.sim.records.order_line(o, line, t) for line in o.lines]
    if not args.get("includeFullyCancelled"):  # Centra hides fully cancelled lines unless asked
        lines = [line for line in lines if line["cancelledQuantity"] < line["quantity"]]
    return lines


def order_totals(order, _args, ctx):
    rec, o = ctx.sim.records, order["_plan"]
    a = rec.amounts(o)
    included = not o.wholesale and rec.vat(o) > 0
    # Centra's `quantity` excludes cancelled units (its page says so); the simulator's counts them, as the synced
    # orders.quantity always has: a cancelled order keeps its units here and reports none cancelled (a known gap)
    return {
        "quantity": a["quantity"],
        "originalQuantity": a["quantity"],
        "cancelledQuantity": 0,
        "unexpeditedQuantity": 0 if happened(o.shipped, order["_t"]) else a["quantity"],
        "weight": None,
        "shippingTaxAdded": rec.money(o, 0.0),
        "shippingTaxDeducted": rec.money(o, 0.0),
        # the VAT inside the shipping price (part of taxIncluded), as Centra splits it out
        "shippingTaxIncluded": rec.money(o, a["shipping_tax"] if included else 0.0),
        "shippingTaxRules": [],
        "handlingTaxRules": [],
        "discountTaxRules": [],
        "lineValues": rec.money(o, a["subtotal"]),
        "discounts": rec.money(o, a["discount"]),
        "shipping": rec.money(o, a["shipping"]),
        "handling": rec.money(o, 0.0),
        "taxAdded": rec.money(o, 0.0),
        "taxDeducted": rec.money(o, 0.0),
        "taxIncluded": rec.money(o, a["tax"] if included else 0.0),
    }


def grand_total(obj, args, ctx):
    rec, o = ctx.sim.records, obj["_plan"]
    a = rec.amounts(o)
    return rec.money(o, a["grand"] if args.get("includingTax", True) else a["grand"] - a["tax"])


def discounts_applied(order, _args, ctx):
    rec, o = ctx.sim.records, order["_plan"]
    if not o.voucher:
        return []
    return [
        {
            "__typename": "AppliedVoucherDiscount",
            "value": rec.money(o, rec.amounts(o)["discount"]),
            "date": o.created,
            "voucher": o.voucher,
            "voucherName": o.voucher["name"],
            "voucherMethod": o.voucher["method"],
            "code": o.voucher.get("code") if o.voucher["method"] == "CODE" else None,
            "shippingValue": rec.money(o, 0.0),  # the simulated vouchers discount goods only
        }
    ]


def _with_or_without_tax(key: str) -> Callable:
    """A line's money field taking `includingTax`: prices include tax; without it, the value less the line's tax
    (value / (1 + taxPercent/100))."""

    def resolve(line, args, _ctx):
        money = line[key]
        if args.get("includingTax") is not False:
            return money
        return {**money, "value": round(money["value"] / (1 + line["_taxPercent"] / 100), 2)}

    return resolve


line_value = _with_or_without_tax("lineValue")
unit_price = _with_or_without_tax("unitPrice")


def return_grand_total(ret, args, ctx):
    """What the return refunds: the returned lines less the order's voucher."""
    rec, o = ctx.sim.records, ret["_plan"]
    value = rec.refund(o)
    return rec.money(o, value if args.get("includingTax", True) else value - rec.refund_tax(o))


def return_totals(ret, _args, ctx):
    """Centra's ReturnTotals: the returned lines' value before the voucher, the voucher's share as discounts, and the
    VAT inside the refund (as an order's taxIncluded); no return fees and no tax rules in the simulator."""
    rec, o = ctx.sim.records, ret["_plan"]
    zero = rec.money(o, 0.0)
    return {
        "quantity": sum(line[2] for line in o.lines if line[0] in o.returned_lines),
        "lineValues": rec.money(o, rec.returned_value(o)),
        "shipping": zero,
        "handling": zero,
        "returnCost": zero,
        "discounts": rec.money(o, rec.returned_value(o) - rec.refund(o)),
        "taxAdded": zero,
        "taxDeducted": zero,
        "taxIncluded": rec.money(o, rec.refund_tax(o) if not o.wholesale else 0.0),
        "shippingTaxRules": [],
        "handlingTaxRules": [],
        "discountTaxRules": [],
        "returnCostTaxRules": [],
    }


def refund_payment_history(ret, _args, ctx):
    return [e for e in ctx.sim.records.payment_history(ret["_plan"], ret["_t"]) if e["entryType"] == "REFUND"]


def payment_history(order, args, ctx):
    entries = ctx.sim.records.payment_history(order["_plan"], order["_t"])
    pred = where_predicate(args.get("where"), {"entryType": lambda e: e["entryType"], "status": lambda e: e["status"]})
    return [e for e in entries if pred is None or pred(e)]


def order_shipments(order, _args, ctx):
    s = ctx.sim.records.shipment(order["_plan"], order["_t"])
    return [s] if s else []


def customer_of(obj, _args, ctx):
    o = obj["_plan"]
    return None if o.wholesale else ctx.sim.timeline.customer(o.customer)


def address_of(obj, _args, ctx):
    return ctx.sim.records.address(obj["_plan"])


def order_of(obj, _args, ctx):
    return ctx.sim.records.order(obj["_plan"], obj["_t"])


def shipment_lines(shipment, _args, ctx):
    rec, o, t = ctx.sim.records, shipment["_plan"], shipment["_t"]
    vat = rec.vat(o)
    return [
        {
            "id": line[0],
            "quantity": line[2],
            "lineValue": rec.money(o, line[2] * line[4]),
            "orderLine": rec.order_line(o, line, t),
            "unitPrice": rec.money(o, line[4]),
            "returnedQuantity": line[2] if line[0] in o.returned_lines and happened(o.return_created, t) else 0,
            "invoicedQuantity": 0,  # the simulator has no invoices
            "invoiceLines": [],
            "allocations": [],
            "appliedTaxRules": [],
            "_taxPercent": vat,
        }
        for line in o.lines
    ]


def return_lines(ret, _args, ctx):
    o = ret["_plan"]
    returned = set(o.returned_lines)
    return [
        {
            "id": line["id"],
            "quantity": line["quantity"],
            "shipmentLine": line,
            "orderLine": line["orderLine"],
            "lineValue": line["lineValue"],
            "unitPrice": line["unitPrice"],
            "appliedTaxRules": [],
            "_taxPercent": line["_taxPercent"],
        }
        for line in shipment_lines(ret, _args, ctx)
        if line["id"] in returned
    ]


def return_shipment(ret, _args, ctx):
    return ctx.sim.records.shipment(ret["_plan"], ret["_t"])


def _stock_rows(ctx, sizes: Iterable[dict], warehouses: Iterable[dict], where: dict | None) -> list[dict]:
    levels = ctx.sim.records.stock_levels(ctx.t)
    pred = where_predicate(
        where,
        {
            "productId": lambda r: r["productSize"]["product"]["id"],
            "productVariantId": lambda r: r["productSize"]["productVariant"]["id"],
            "productSizeId": lambda r: r["productSize"]["id"],
            "warehouseId": lambda r: r["warehouse"]["id"],
        },
    )
    warehouses = list(warehouses)
    rows = (ctx.sim.records.stock_record(levels[(s["id"], w["id"])], s, w) for s in sizes for w in warehouses)
    return [r for r in rows if pred is None or pred(r)]


_STOCK_SORT = {"warehouseId": lambda r: r["warehouse"]["id"], "productSizeId": lambda r: r["productSize"]["id"]}


def _paged_stock(rows, args):
    limit, page = check_paging(args)
    return sort_records(rows, args.get("sort"), _STOCK_SORT)[(page - 1) * limit : page * limit]


def variant_stock(variant, args, ctx):
    return _paged_stock(_stock_rows(ctx, variant["productSizes"], ctx.sim.catalog.warehouses, args.get("where")), args)


def size_stock(size, args, ctx):
    return _paged_stock(_stock_rows(ctx, [size], ctx.sim.catalog.warehouses, args.get("where")), args)


def warehouse_stock(warehouse, args, ctx):
    return _paged_stock(_stock_rows(ctx, ctx.sim.catalog.sizes, [warehouse], args.get("where")), args)


def size_stock_totals(size, _args, ctx):
    levels = ctx.sim.records.stock_levels(ctx.t)
    return ctx.sim.records.stock_totals([levels[(size["id"], w["id"])] for w in ctx.sim.catalog.warehouses])


def variant_stock_totals(variant, _args, ctx):
    levels = ctx.sim.records.stock_levels(ctx.t)
    return ctx.sim.records.stock_totals(
        [levels[(s["id"], w["id"])] for s in variant["productSizes"] for w in ctx.sim.catalog.warehouses]
    )


def po_deliveries(po, args, ctx):
    limit, page = check_paging(args)
    recs = [d for d in (ctx.sim.records.delivery(po["_po"], d, po["_t"]) for d in po["_po"]["deliveries"]) if d]
    pred = where_predicate(args.get("where"), {})
    return sort_records([d for d in recs if pred is None or pred(d)], args.get("sort"), {})[
        (page - 1) * limit : page * limit
    ]


def _purchase_orders(ctx):
    return [ctx.sim.records.purchase_order(po, ctx.t) for po in ctx.sim.timeline.purchase_orders_until(ctx.t)]


def _deliveries(ctx):
    return [
        r
        for po in ctx.sim.timeline.purchase_orders_until(ctx.t)
        for d in po["deliveries"]
        if (r := ctx.sim.records.delivery(po, d, ctx.t))
    ]


def _catalog(name: str) -> Callable:
    return lambda ctx: getattr(ctx.sim.catalog, name)


def _currencies(ctx):
    """Currencies with their display settings and the rate of the clock's day (`timeline.day_rate`)."""
    day = ctx.sim.timeline.day_of(ctx.t)
    return [
        {
            **c,
            "currentBaseRate": day_rate(c, day),
            "denominator": 100,
            "isoNumber": None,
            "prefix": None,
            "suffix": f" {c['code']}",
            "updatedAt": ctx.sim.catalog.start,
            "decimalPoint": ".",
            "decimalDigits": 2,
            "thousandsSeparator": " ",
            "externalId": None,
        }
        for c in ctx.sim.catalog.currencies.values()
    ]


def _countries(ctx):
    return list(ctx.sim.catalog.countries.values())


def _visible(name: str, field: str = "createdAt") -> Callable:
    """Catalogue records that exist at the clock time (created before it)."""
    return lambda ctx: [r for r in getattr(ctx.sim.catalog, name) if r.get(field, 0) <= ctx.t]


# ---------------------------------------------------------------- DateTimeTz and money formatting

_PHP = {
    "Y": "%Y",
    "m": "%m",
    "d": "%d",
    "H": "%H",
    "i": "%M",
    "s": "%S",
    "y": "%y",
    "D": "%a",
    "M": "%b",
    "j": None,
    "n": None,
    "G": None,
    "P": None,
    "O": None,
    "T": "%Z",
    "u": "%f",
    "v": None,
    "U": None,
}


def php_date(when: dt.datetime, fmt: str) -> str:
    """The subset of PHP's date() format letters Centra's `format` argument uses."""
    out, escape = [], False
    for ch in fmt:
        if escape:
            out.append(ch)
            escape = False
        elif ch == "\\":
            escape = True
        elif ch in ("P", "O"):
            off = when.strftime("%z")
            out.append(f"{off[:3]}:{off[3:]}" if ch == "P" else off)
        elif ch in ("j", "n", "G"):
            out.append(str({"j": when.day, "n": when.month, "G": when.hour}[ch]))
        elif ch == "v":
            out.append(f"{when.microsecond // 1000:03d}")
        elif ch == "U":
            out.append(str(int(when.timestamp())))
        elif ch in _PHP:
            out.append(when.strftime(_PHP[ch]))
        else:
            out.append(ch)
    return "".join(out)


DEFAULT_DATE_FORMAT = "Y-m-d\\TH:i:sP"


def date_resolver(field_name: str, default_format: str) -> Callable:
    def resolve(obj, args, ctx):
        ts = obj.get(field_name)
        if ts is None:
            return None
        when = dt.datetime.fromtimestamp(ts, ctx.sim.tz)
        fmt = args.get("format") or default_format
        if fmt == DEFAULT_DATE_FORMAT:
            return when.isoformat(timespec="seconds")
        return php_date(when, fmt)

    return resolve


MEDIA_HOST = "https://media.nordvik.example/client/dynamic/images"  # a fake, stable URL


def media_source(media, args, _ctx):
    size = args.get("sizeName") or "standard"
    return {"type": "image/jpeg", "url": f"{MEDIA_HOST}/{media['_path']}-{size}.jpg"}


def formatted_value(money, _args, _ctx):
    return f"{money['value']:,.2f}".replace(",", " ") + f" {money['currency']['code']}"


ROOT_QUERIES: dict[str, Callable] = {
    "orders": resolve_orders,
    "orderConnection": resolve_order_connection,
    "shipments": resolve_shipments,
    "returns": resolve_returns,
    "customers": resolve_customers,
    "accounts": listing(_catalog("accounts"), {"marketId": ref["marketId"]}),
    "products": listing(_visible("products"), ref),
    "product": by_id(_visible("products")),
    "order": one_of(resolve_orders),
    "shipment": one_of(resolve_shipments),
    "return": one_of(resolve_returns),
    "customer": one_of(resolve_customers),
    "collection": by_id(_catalog("collections")),
    "brand": by_id(_catalog("brands")),
    "warehouse": by_id(_catalog("warehouses")),
    "supplier": by_id(_catalog("suppliers")),
    "purchaseOrder": by_id(_purchase_orders),
    "purchaseOrderDelivery": by_id(_deliveries),
    "productVariants": listing(_catalog("variants"), {"productId": lambda r: r["product"]["id"]}),
    "productSizes": listing(_catalog("sizes"), ref),
    "prices": listing(_catalog("prices"), ref),
    "markets": listing(_catalog("markets"), ref),
    "market": by_id(_catalog("markets")),
    "displays": listing(
        _visible("displays", "_createdAt"),
        {
            "productId": lambda r: r["product"]["id"],
            "marketId": lambda r: frozenset(m["id"] for m in r["markets"]),
        },
    ),
    "display": by_id(_visible("displays", "_createdAt")),
    "allocationRules": listing(_catalog("allocation_rules")),
    "pricelists": listing(_catalog("pricelists"), ref),
    "warehouses": listing(_catalog("warehouses")),
    "stores": listing(_catalog("stores")),
    "currencies": listing(_currencies),
    "countries": listing(_countries),
    "brands": listing(_catalog("brands")),
    "collections": listing(_catalog("collections")),
    "categories": listing(_catalog("categories")),
    "campaigns": listing(_catalog("campaigns")),
    "vouchers": listing(_visible("vouchers")),
    "suppliers": listing(_catalog("suppliers")),
    "purchaseOrders": listing(_purchase_orders, ref),
    "rateLimits": lambda _obj, _args, ctx: ctx.sim.limiter.snapshot(),
    "purchaseOrderDeliveries": listing(_deliveries, {**ref, "supplierId": lambda r: r["supplier"]["id"]}),
}
FIELD_RESOLVERS: dict[str, Callable] = {
    "Order.lines": order_lines,
    "Order.totals": order_totals,
    "Order.grandTotal": grand_total,
    "Order.discountsApplied": discounts_applied,
    "Order.paymentHistory": payment_history,
    "Order.shipments": order_shipments,
    "Order.billingAddress": address_of,
    "Order.shippingAddress": address_of,
    "DirectToConsumerOrder.customer": customer_of,
    "Shipment.grandTotal": grand_total,
    "Shipment.lines": shipment_lines,
    "Shipment.order": order_of,
    "Shipment.shippingAddress": address_of,
    "DirectToConsumerShipment.customer": customer_of,
    "Return.order": order_of,
    "Return.shipment": return_shipment,
    "Return.lines": return_lines,
    "Return.grandTotal": return_grand_total,
    "Return.totals": return_totals,
    "Return.refundPaymentHistory": refund_payment_history,
    "OrderLine.lineValue": line_value,
    "ShipmentLine.lineValue": line_value,
    "ShipmentLine.unitPrice": unit_price,
    "ReturnLine.lineValue": line_value,
    "ReturnLine.unitPrice": unit_price,
    "ProductVariant.stock": variant_stock,
    "ProductMedia.source": media_source,
    "DirectToConsumerReturn.customer": customer_of,
    "ProductSize.stock": size_stock,
    "ProductSize.stockTotals": size_stock_totals,
    "ProductVariant.stockTotals": variant_stock_totals,
    "Warehouse.stock": warehouse_stock,
    "PurchaseOrder.deliveries": po_deliveries,
    "OrderConnection.totalCount": resolve_total_count,
    "MonetaryValue.formattedValue": formatted_value,
    "MonetaryValue.valueInCents": lambda money, _a, _c: round(money["value"] * 100),
    # Fields of Centra's partial pages (docs/centra-facts.md §12) the simulator has no data of its own for: the
    # order's country is its shipping address's, a shipment's captured value its total once captured, a return's
    # quantity its lines'; no admin users, no fallback taxes, nothing on hold.
    "Order.country": lambda o, a, ctx: address_of(o, a, ctx)["country"],
    "Shipment.currencyBaseRate": lambda s, _a, _c: s["_plan"].rate,
    "Shipment.discountsApplied": discounts_applied,
    "Shipment.capturedValue": lambda s, _a, ctx: (
        grand_total(s, {"includingTax": True}, ctx) if s["isCaptured"] else None
    ),
    "Shipment.isOnHold": lambda _s, _a, _c: False,
    "Shipment.isPrinted": lambda s, _a, _c: s["isShipped"],
    "Shipment.usedFallbackTax": lambda _s, _a, _c: False,
    "Return.currencyBaseRate": lambda r, _a, _c: r["_plan"].rate,
    "Return.discountsApplied": discounts_applied,
    "Return.totalQuantity": lambda r, _a, _c: sum(
        line[2] for line in r["_plan"].lines if line[0] in r["_plan"].returned_lines
    ),
    "Return.usedFallbackTax": lambda _r, _a, _c: False,
}
