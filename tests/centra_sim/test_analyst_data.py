"""What analysts read is consistent across the simulator's API: costs below prices, allocations and fulfilment per
line agree with the stock, the shipments and the returns, and stock changes follow the inserted deliveries."""

from __future__ import annotations

from collections import Counter


def _all(centra, root: str, selection: str, where: str = "") -> list[dict]:
    found, page = [], 1
    while batch := centra.query(
        f"query($p: Int!) {{ {root}({where} limit: 200, page: $p) {{ {selection} }} }}", {"p": page}
    ).data[root]:
        found += batch
        page += 1
    return found


def test_every_unit_cost_is_below_every_price_of_its_variant(centra):
    rates = {code: c["_rate"] for code, c in centra.sim.catalog.currencies.items()}
    costs = {
        v["id"]: v["unitCost"]["value"] * rates[v["unitCost"]["currency"]["code"]]
        for v in _all(centra, "productVariants", "id unitCost { value currency { code } }")
    }
    prices = _all(centra, "prices", "productVariant { id } price { value currency { code } }")
    assert prices and all(
        costs[p["productVariant"]["id"]] < p["price"]["value"] * rates[p["price"]["currency"]["code"]] for p in prices
    )


def test_allocations_and_fulfilment_per_line_agree_with_stock_shipments_and_returns(centra):
    orders = _all(
        centra,
        "orders",
        "number status lines(includeFullyCancelled: true) { id quantity cancelledQuantity shippedQuantity "
        "returnedQuantity productSize { id } allocations { quantity warehouse { id } } } "
        "shipments { isShipped lines { quantity orderLine { id } } }",
    )
    returned = Counter()
    for r in _all(centra, "returns", "order { number } lines { quantity orderLine { id } }"):
        for line in r["lines"]:
            returned[(r["order"]["number"], line["orderLine"]["id"])] += line["quantity"]
    allocated = Counter()
    for o in orders:
        shipped = Counter()
        for s in o["shipments"]:
            for line in s["lines"]:
                shipped[line["orderLine"]["id"]] += line["quantity"] if s["isShipped"] else 0
        for line in o["lines"]:
            units = sum(a["quantity"] for a in line["allocations"])
            confirmed = o["status"] in ("CONFIRMED", "SHIPPED")
            assert units == (line["quantity"] - line["cancelledQuantity"] if confirmed else 0), o["number"]
            assert line["shippedQuantity"] == shipped[line["id"]]
            assert line["returnedQuantity"] == returned[(o["number"], line["id"])]
            if o["status"] == "CONFIRMED":  # allocated and not yet shipped: held in stock
                for a in line["allocations"]:
                    allocated[(line["productSize"]["id"], a["warehouse"]["id"])] += a["quantity"]
    stock = _all(centra, "productSizes", "id stock { warehouse { id } allocatedQuantity }")
    held = {(s["id"], w["warehouse"]["id"]): w["allocatedQuantity"] for s in stock for w in s["stock"]}
    assert allocated and {k: v for k, v in held.items() if v} == dict(allocated)
    assert sum(returned.values()) and any(line["shippedQuantity"] for o in orders for line in o["lines"])


def test_stock_changes_are_the_inserted_deliveries_at_their_unit_cost(centra):
    changes = Counter()
    for line in _all(
        centra, "stockChangeLines", "deliveredQuantity unitCost { value } productSize { id } warehouse { id }"
    ):
        changes[(line["productSize"]["id"], line["warehouse"]["id"], line["unitCost"]["value"])] += line[
            "deliveredQuantity"
        ]
    delivered = Counter()
    for d in _all(
        centra,
        "purchaseOrderDeliveries",
        "warehouse { id } lines { quantity unitCost { value } productSize { id } }",
        "where: {status: INSERTED},",
    ):
        for line in d["lines"]:
            delivered[(line["productSize"]["id"], d["warehouse"]["id"], line["unitCost"]["value"])] += line["quantity"]
    assert changes and changes == delivered
