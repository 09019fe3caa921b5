"""What the API shows of a plan at clock time T: orders, shipments, returns, purchase orders, stock.

Cheap scalar fields go into the record dict; anything costly or argument-dependent (lines, totals,
payment history, stock) is computed by a resolver in api/resolvers.py only when a query selects it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from .catalog import CITIES, Catalog
from .timeline import MAX_LIFECYCLE, OrderPlan, Timeline

RETURN_COMMENTS = ("Wrong size", None, "Not as pictured", None, "Arrived damaged")


def order_id(seed: int, number: int) -> str:
    """Centra order ids are 32-hex strings distinct from the number; ours end in the number (in hex) so the
    simulator can find an order by id without an index. Clients must treat it as opaque."""
    return hashlib.md5(f"{seed}:order:{number}".encode()).hexdigest()[:24] + f"{number:08x}"


def number_from_id(order_id_: str) -> int | None:
    try:
        return int(order_id_[24:], 16) if len(order_id_) == 32 else None
    except ValueError:
        return None


def happened(ts: float | None, t: float) -> bool:
    return ts is not None and ts <= t


def order_status(o: OrderPlan, t: float) -> str:
    if happened(o.cancelled, t):
        return "CANCELLED"
    if happened(o.shipped, t):
        return "SHIPPED"
    if happened(o.confirmed, t):
        return "CONFIRMED"
    return "PENDING"


def updated_at(o: OrderPlan, t: float) -> float:
    return max(x for x in o.transitions() if x <= t)


class Records:
    def __init__(self, catalog: Catalog, timeline: Timeline):
        self.cat = catalog
        self.tl = timeline
        self.seed = catalog.seed
        self._stock_cache: tuple[float, dict] | None = None
        self._settled_days: dict[int, dict] = {}

    # -- orders ----------------------------------------------------------------------------------------
    def order(self, o: OrderPlan, t: float) -> dict:
        store = o.market["store"]
        rec = {
            "__typename": "WholesaleOrder" if o.wholesale else "DirectToConsumerOrder",
            "id": order_id(self.seed, o.number),
            "number": o.number,
            "status": order_status(o, t),
            "store": store,
            "market": o.market,
            "pricelist": o.market["pricelist"],
            "currencyBaseRate": o.rate,
            "createdAt": o.created,
            "orderDate": o.created,
            "updatedAt": updated_at(o, t),
            "isOnHold": False,
            "isLocked": False,
            "isWaitingForPayment": False,
            "isInternal": False,
            "otherComment": None,
            "userIP": o.ip,
            "internalComment": "VIP customer" if o.number % 97 == 0 else None,
            "_plan": o,
            "_t": t,
        }
        if o.wholesale:
            rec["purchaseOrderNumber"] = f"PO-{o.account['id']}-{o.number}"
            rec["account"], rec["buyer"] = o.account, o.buyer
        return rec

    def currency_of(self, o: OrderPlan) -> dict:
        return self.cat.currencies[o.market["_currency"]]

    def vat(self, o: OrderPlan) -> float:
        return 0.0 if o.wholesale else self.cat.countries[o.market["_countries"][0]]["_vat"]

    def amounts(self, o: OrderPlan) -> dict:
        """An order's money, in the order's currency: the figures every total is built from."""
        subtotal = round(sum(line[2] * line[4] for line in o.lines), 2)
        discount = round(subtotal * o.voucher["discountPercent"] / 100, 2) if o.voucher else 0.0
        grand = round(subtotal - discount + o.shipping, 2)
        vat = self.vat(o)
        tax = round(grand * vat / (100 + vat), 2)
        return {
            "shipping_tax": round(o.shipping * vat / (100 + vat), 2),  # the part of `tax` on shipping
            "subtotal": subtotal,
            "discount": discount,
            "shipping": o.shipping,
            "grand": grand,
            "tax": tax,
            "quantity": sum(line[2] for line in o.lines),
        }

    def money(self, o: OrderPlan, value: float) -> dict:
        return {"value": round(value, 2), "currency": self.currency_of(o), "conversionRate": o.rate}

    def order_line(self, o: OrderPlan, line: tuple, t: float) -> dict:
        lid, size_id, qty, original, unit, pct, wh = line
        size = self.cat.size_by_id[size_id]
        variant, product = size["productVariant"], size["product"]
        cancelled = qty if happened(o.cancelled, t) else 0
        return {
            "id": lid,
            "product": product,
            "productVariant": variant,
            "productSize": size,
            "brand": product["brand"],
            "productName": product["name"],
            "productVariantName": variant["name"],
            "productNumber": product["productNumber"],
            "size": size["description"],
            "quantity": qty,
            "cancelledQuantity": cancelled,
            "shippedQuantity": qty if happened(o.shipped, t) else 0,
            "returnedQuantity": qty if lid in o.returned_lines and happened(o.return_created, t) else 0,
            "taxPercent": self.vat(o),
            "_taxPercent": self.vat(o),
            "discountPercent": pct,
            "hasAnyDiscount": pct > 0 or o.voucher is not None,
            "unitPrice": self.money(o, unit),
            "unitOriginalPrice": self.money(o, original),
            "lineValue": self.money(o, unit * qty),
            "comment": None,
            "allocations": [{"id": lid, "quantity": qty, "warehouse": self.cat.warehouses[wh - 1]}]
            if happened(o.confirmed, t) and not cancelled
            else [],
        }

    def payment_history(self, o: OrderPlan, t: float) -> list[dict]:
        a = self.amounts(o)
        entries = [
            (o.created, "AUTH", a["grand"]),
            (o.cancelled, "CANCEL", a["grand"]),
            (o.shipped, "CAPTURE", a["grand"]),
            (o.return_done, "REFUND", self.refund(o)),
        ]
        return [
            {
                "id": o.number * 10 + k,
                "createdAt": when,
                "status": "SUCCESS",
                "entryType": kind,
                "externalReference": f"psp_{o.number}_{k}",
                "value": self.money(o, value),
                "paymentMethod": "invoice" if o.wholesale else "klarna",
                "paramsJSON": "{}",
            }
            for k, (when, kind, value) in enumerate(entries, 1)
            if happened(when, t)
        ]

    def returned_value(self, o: OrderPlan) -> float:
        """The returned lines' value before the order's voucher."""
        return round(sum(line[2] * line[4] for line in o.lines if line[0] in o.returned_lines), 2)

    def refund(self, o: OrderPlan) -> float:
        pct = o.voucher["discountPercent"] if o.voucher else 0.0
        return round(self.returned_value(o) * (1 - pct / 100), 2)

    def refund_tax(self, o: OrderPlan) -> float:
        vat = self.vat(o)
        return round(self.refund(o) * vat / (100 + vat), 2)

    def address(self, o: OrderPlan) -> dict:
        if o.wholesale:
            person = {
                "firstName": o.buyer["firstName"],
                "lastName": o.buyer["lastName"],
                "email": o.buyer["email"],
                "companyName": o.account["name"],
            }
            country = self.cat.countries[o.market["_countries"][0]]
        else:
            customer = self.tl.customer(o.customer)
            person = {
                "firstName": customer["firstName"],
                "lastName": customer["lastName"],
                "email": customer["email"],
                "companyName": None,
            }
            country = customer["country"]
        return {
            **person,
            "attention": None,
            "address1": f"Storgatan {o.number % 90 + 1}",
            "address2": None,
            "city": CITIES[country["code"]],
            "zipCode": f"{11000 + o.number % 800}",
            "stateOrProvince": None,
            "country": country,
            "state": None,
            "phoneNumber": None,
            "cellPhoneNumber": None,
            "faxNumber": None,
            "vatNumber": None,
        }

    # -- shipments and returns -------------------------------------------------------------------------
    def shipment(self, o: OrderPlan, t: float) -> dict | None:
        if not happened(o.shipped_gtg, t):
            return None
        shipped = happened(o.shipped, t)
        return {
            "__typename": "WholesaleShipment" if o.wholesale else "DirectToConsumerShipment",
            "id": o.number,
            "number": f"{o.number}-1",
            "createdAt": o.shipped_gtg,
            "updatedAt": o.shipped if shipped else o.shipped_gtg,
            "isGoodToGo": True,
            "isShipped": shipped,
            "shippedAt": o.shipped if shipped else None,
            "isPaid": shipped,
            "paidAt": o.shipped if shipped else None,
            "isCaptured": shipped,
            "capturedAt": o.shipped if shipped else None,
            "numberOfPackages": 1 + len(o.lines) // 8,
            "trackingNumber": f"00{o.number:012d}" if shipped else None,
            "carrierInformation": {"carrierName": "DHL" if o.wholesale else "PostNord", "serviceName": "Parcel"},
            "warehouse": self.cat.warehouses[o.lines[0][6] - 1] if o.lines else None,
            "account": o.account,
            "_plan": o,
            "_t": t,
        }

    def return_(self, o: OrderPlan, t: float) -> dict | None:
        if not happened(o.return_created, t):
            return None
        done = happened(o.return_done, t)
        return {
            "__typename": "WholesaleReturn" if o.wholesale else "DirectToConsumerReturn",
            "id": o.number,
            "status": "ACTIVE",
            "returnStatus": "COMPLETED" if done else "PENDING",
            "createdAt": o.return_created,
            "completedAt": o.return_done if done else None,
            "store": o.market["store"],
            "comment": RETURN_COMMENTS[o.number % len(RETURN_COMMENTS)],
            "returnedToStock": done,  # completed returns go back to stock (see stock_levels)
            "returnWarehouse": self.return_warehouse(o),
            "account": o.account,
            "_plan": o,
            "_t": t,
        }

    def return_warehouse(self, o: OrderPlan) -> dict | None:
        """Where the returned units go back: the warehouse of the first returned line (each line is restocked into
        the warehouse it shipped from, see stock_levels; a return whose lines shipped from two is rare)."""
        wh = next((line[6] for line in o.lines if line[0] in o.returned_lines), None)
        return self.cat.warehouses[wh - 1] if wh else None

    # -- purchase orders -----------------------------------------------------------------------------------
    def purchase_order(self, po: dict, t: float) -> dict:
        arrived = [d for d in po["deliveries"] if d["created"] <= t]
        inserted = [d for d in arrived if d["inserted"] <= t]
        status = (
            "DELIVERED" if len(inserted) == len(po["deliveries"]) else "PARTIALLY_DELIVERED" if inserted else "ORDERED"
        )
        currency = self.cat.currencies[po["currency"]]
        delivered: dict[int, int] = defaultdict(int)
        for d in inserted:
            for line in d["lines"]:
                delivered[line["line"]] += line["quantity"]
        lines = [
            {**self._supply_line(line, currency), "deliveredQuantity": delivered[line["id"]]} for line in po["lines"]
        ]
        total = round(sum(line["quantity"] * line["unitCost"] for line in po["lines"]), 2)
        return {
            "id": po["id"],
            "status": status,
            "ourReference": po["ourReference"],
            "supplierReference": po["supplierReference"],
            "internalComment": f"Season buy week {po['week']}",
            "createdAt": po["created"],
            "updatedAt": max([po["created"]] + [d["created"] for d in arrived] + [d["inserted"] for d in inserted]),
            "ETA": po["eta"],
            "currency": currency,
            "totalValue": {"value": total, "currency": currency, "conversionRate": 1.0},
            "supplier": self.cat.suppliers[po["supplier"] - 1],
            "warehouse": self.cat.warehouses[po["warehouse"] - 1],
            "lines": lines,
            "_po": po,
            "_t": t,
        }

    def delivery(self, po: dict, d: dict, t: float) -> dict | None:
        if d["created"] > t:
            return None
        currency = self.cat.currencies[po["currency"]]
        lines = [
            {
                **self._supply_line(line, currency),
                "landedCost": {"value": round(line["unitCost"] * 1.12, 2), "currency": currency, "conversionRate": 1.0},
                "customsValue": {
                    "value": round(line["unitCost"] * 1.04, 2),
                    "currency": currency,
                    "conversionRate": 1.0,
                },
            }
            for line in d["lines"]
        ]
        inserted = d["inserted"] <= t
        return {
            "id": d["id"],
            "number": d["number"],
            "status": "INSERTED" if inserted else "CREATED",
            "createdAt": d["created"],
            "ETA": po["eta"],  # a delivery is expected when its purchase order is
            "currency": currency,
            "lines": lines,
            "supplier": self.cat.suppliers[po["supplier"] - 1],
            "warehouse": self.cat.warehouses[po["warehouse"] - 1],
            "purchaseOrder": self.purchase_order(po, t),
            "_po": po,
            "_t": t,
        }

    def _supply_line(self, line: dict, currency: dict) -> dict:
        """The fields purchase order lines and delivery lines share."""
        size = self.cat.size_by_id[line["size"]]
        return {
            "id": line["id"],
            "quantity": line["quantity"],
            "unitCost": {"value": line["unitCost"], "currency": currency, "conversionRate": 1.0},
            "productSize": size,
            "productVariant": size["productVariant"],
            "product": size["product"],
        }

    # -- stock -------------------------------------------------------------------------------------------
    def stock_levels(self, t: float) -> dict[tuple[int, int], list[int]]:
        """(size id, warehouse id) -> [physical, allocated, demand, incoming, on delivery] at time t.

        Physical stock is the initial stock, plus inserted deliveries, minus shipped units, plus completed
        returns; allocated is confirmed but unshipped; demand is pending (unconfirmed) orders.
        """
        if self._stock_cache and self._stock_cache[0] == t:
            return self._stock_cache[1]
        levels: dict[tuple[int, int], list[int]] = {k: [v, 0, 0, 0, 0] for k, v in self.cat.initial_stock.items()}
        for d in range(self.tl.days_until(t)):
            if self.tl.day_start(d + 1) + MAX_LIFECYCLE <= t:
                for key, delta in self._settled_day(d).items():
                    levels[key][0] += delta
            else:
                for o in self.tl.day_orders(d):
                    if o.created <= t:
                        self._apply_order(levels, o, t)
        for po in self.tl.purchase_orders_until(t):
            arrived: dict[int, int] = defaultdict(int)
            for d in po["deliveries"]:
                for line in d["lines"]:
                    key = (line["size"], po["warehouse"])
                    if d["inserted"] <= t:
                        levels[key][0] += line["quantity"]
                    elif d["created"] <= t:
                        levels[key][4] += line["quantity"]
                    if d["created"] <= t:
                        arrived[line["line"]] += line["quantity"]
            if any(d["created"] > t for d in po["deliveries"]):  # a fully arrived PO closes, short or not
                for line in po["lines"]:
                    levels[(line["size"], po["warehouse"])][3] += max(0, line["quantity"] - arrived[line["id"]])
        self._stock_cache = (t, levels)
        return levels

    def _settled_day(self, d: int) -> dict:
        if d not in self._settled_days:
            levels: dict = defaultdict(lambda: [0, 0, 0, 0, 0])
            for o in self.tl.day_orders(d):
                self._apply_order(levels, o, float("inf"))
            self._settled_days[d] = {k: v[0] for k, v in levels.items() if v[0]}
        return self._settled_days[d]

    @staticmethod
    def _apply_order(levels, o: OrderPlan, t: float) -> None:
        if happened(o.cancelled, t):
            return
        shipped, confirmed = happened(o.shipped, t), happened(o.confirmed, t)
        restocked = happened(o.return_done, t)
        for lid, size_id, qty, _, _, _, wh in o.lines:
            row = levels[(size_id, wh)]
            if shipped:
                row[0] -= qty
                if restocked and lid in o.returned_lines:
                    row[0] += qty
            elif confirmed:
                row[1] += qty
            else:
                row[2] += qty

    @staticmethod
    def stock_record(level: list[int], size: dict, warehouse: dict) -> dict:
        physical, allocated, demand, incoming, on_delivery = level
        fta = physical - allocated
        return {
            "warehouse": warehouse,
            "productSize": size,
            "physicalQuantity": physical,
            "allocatedQuantity": allocated,
            "freeToAllocateQuantity": fta,
            "demandQuantity": demand,
            "availableNowQuantity": fta - demand,
            "incomingQuantity": incoming,
            "linkedIncomingQuantity": 0,
            "unlinkedIncomingQuantity": incoming,
            "availableQuantity": fta - demand + incoming,
            "unshippedQuantity": allocated,
            "onDeliveryQuantity": on_delivery,
        }

    TOTALS_FIELDS = (
        "availableQuantity",
        "physicalQuantity",
        "demandQuantity",
        "allocatedQuantity",
        "unshippedQuantity",
        "onDeliveryQuantity",
        "linkedIncomingQuantity",
        "unlinkedIncomingQuantity",
    )

    @staticmethod
    def stock_totals(levels: list[list[int]]) -> dict:
        total = [sum(col) for col in zip(*levels, strict=True)] if levels else [0] * 5
        rec = Records.stock_record(total, None, None)
        return {k: rec[k] for k in Records.TOTALS_FIELDS}
