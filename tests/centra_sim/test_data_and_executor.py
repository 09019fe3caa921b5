"""Generated data is deterministic and consistent; the fast executor answers exactly as graphql-core does."""

from __future__ import annotations

import signal
from collections import Counter

import httpx
import pytest
from graphql import execute, parse

from centra_sim.api.permissions import ALL_PERMISSIONS
from centra_sim.api.schema import reference_schema
from centra_sim.backend import Context, Simulator, Token
from centra_sim.process import SimulatorProcess
from centra_sim.testing.simulator import NOW
from centra_sim.truth import export

ORDER_PAGE = """query($p: Int!) { orders(limit: 50, page: $p, sort: [number_DESC]) { __typename id number status
  createdAt updatedAt grandTotal { value currency { code } conversionRate formattedValue }
  totals { quantity lineValues { value } discounts { value } shipping { value } taxIncluded { value } }
  lines(includeFullyCancelled: true) { id quantity cancelledQuantity returnedQuantity shippedQuantity
    unitPrice { value } lineValue { value } net: lineValue(includingTax: false) { value }
    productSize { id SKU stockTotals { physicalQuantity } productVariant { product { id } } } }
  discountsApplied { value { value } date ... on AppliedVoucher { voucher { code name type } } }
  paymentHistory { entryType value { value } }
  shipments { id isShipped lines { quantity } }
  ... on DirectToConsumerOrder { customer { id email } }
  ... on WholesaleOrder { account { name } buyer { email } } } }"""


def small(seed: int = 3, **kw) -> Simulator:
    return Simulator(**{"seed": seed, "days": 15, "orders_per_day": 40, "now": NOW, "rate_limits": False, **kw})


def test_same_seed_and_size_give_identical_data():
    a, b = small(seed=11), small(seed=11)
    t = a.clock.now()
    for entity in ("orders", "order_lines", "shipments", "returns", "stock", "customers", "purchase_orders"):
        assert export(a, entity, t, 0, t + 1) == export(b, entity, t, 0, t + 1), entity
    assert export(small(seed=12), "orders", t, 0, t + 1) != export(a, "orders", t, 0, t + 1)


def test_days_generate_independently_of_the_order_they_are_asked_in():
    a, b = small(seed=5), small(seed=5)
    late_first = [o.number for o in b.timeline.day_orders(9)] + [o.number for o in b.timeline.day_orders(2)]
    assert late_first == [o.number for o in a.timeline.day_orders(9)] + [o.number for o in a.timeline.day_orders(2)]


def test_the_brand_looks_believable():
    sim = small(seed=4, days=40, orders_per_day=120)
    t = sim.clock.now()
    orders = export(sim, "orders", t, 0, t + 1)
    statuses = Counter(o["status"] for o in orders)
    assert {"PENDING", "CONFIRMED", "SHIPPED", "CANCELLED"} <= set(statuses)
    assert 0.01 < statuses["CANCELLED"] / len(orders) < 0.06
    customers = Counter(o["customer_id"] for o in orders if o["customer_id"])
    assert sum(1 for n in customers.values() if n > 1) > 0.05 * len(customers)  # customers come back
    assert len({o["currency"] for o in orders}) == 5 and len({o["market_id"] for o in orders}) == 7
    returns = export(sim, "returns", t, 0, t + 1)
    shipped = [o for o in orders if o["status"] == "SHIPPED" and o["store_type"] == "DIRECT_TO_CONSUMER"]
    assert 0.08 < len(returns) / len(shipped) < 0.25
    assert any(o["discount"] > 0 for o in orders) and any(o["shipping"] > 0 for o in orders)
    assert all(abs(o["grand_total"] - (o["subtotal"] - o["discount"] + o["shipping"])) < 0.011 for o in orders)


def test_stock_is_consistent_with_orders_deliveries_and_returns():
    sim = small(seed=8, days=45, orders_per_day=80)
    t = sim.clock.now()
    levels = {(r["size_id"], r["warehouse_id"]): r for r in export(sim, "stock", t, 0, t + 1)}
    expected = Counter(sim.catalog.initial_stock)
    for d in range(sim.timeline.days_until(t)):
        for o in sim.timeline.day_orders(d):
            if o.created > t or (o.cancelled and o.cancelled <= t):
                continue
            for lid, size, qty, *_, wh in o.lines:
                if o.shipped and o.shipped <= t:
                    expected[(size, wh)] -= qty
                    if o.return_done and o.return_done <= t and lid in o.returned_lines:
                        expected[(size, wh)] += qty
    for po in sim.timeline.purchase_orders_until(t):
        for delivery in po["deliveries"]:
            if delivery["inserted"] <= t:
                for line in delivery["lines"]:
                    expected[(line["size"], po["warehouse"])] += line["quantity"]
    assert {k: v["physical"] for k, v in levels.items()} == dict(expected)
    assert any(v["allocated"] for v in levels.values()) and any(v["incoming"] for v in levels.values())


def test_api_totals_reconcile_with_ground_truth(centra):
    truth = centra.admin("ground-truth/orders")["rows"]
    seen, page = [], 1
    while batch := centra.query(
        "query($p: Int!) { orders(limit: 200, page: $p) { number grandTotal { value } } }", {"p": page}
    ).data["orders"]:
        seen += batch
        page += 1
    assert [o["number"] for o in seen] == [r["number"] for r in truth]
    assert round(sum(o["grandTotal"]["value"] for o in seen), 2) == round(sum(r["grand_total"] for r in truth), 2)


@pytest.mark.parametrize(
    "query, variables",
    [
        (ORDER_PAGE, {"p": 1}),
        (ORDER_PAGE, {"p": 3}),
        (
            "{ returns(limit: 20) { __typename id returnStatus grandTotal { value } "
            "net: grandTotal(includingTax: false) { value } totals { returnCost { value } discounts { value } } "
            "refundPaymentHistory { entryType value { value } } "
            'returnedToStock comment store { id } completedAt(format: "Y-m-d") '
            "lines { quantity shipmentLine { id } orderLine { returnedQuantity lineValue(includingTax: false) "
            "{ value } } } order { number } } }",
            {},
        ),
        (
            '{ purchaseOrders(limit: 5) { id status ETA createdAt(format: "Y-m-d") '
            "lines { quantity deliveredQuantity } deliveries(limit: 5) { number status } } }",
            {},
        ),
        ("{ orders(limit: 3) { number nope: status } x: orders(limit: 400) { id } }", {}),  # errors, null root
        ("{ productSizes(limit: 3) { SKU stock(limit: 2, page: 2) { warehouse { id } physicalQuantity } } }", {}),
        (
            '{ displays(limit: 5, where: {marketId: [2]}) { id name uri status updatedAt(format: "Y-m-d") '
            "product { id } categories { id } canonicalCategory { id } markets { id } store { id } "
            'media { id source(sizeName: "mini") { type url } } productVariants { id media { id } '
            "stock(limit: 3) { warehouse { id } availableNowQuantity } } } "
            "markets { id allocationRule { id name } displays { id } } }",
            {},
        ),
        (
            "{ purchaseOrderDeliveries(limit: 3) { id number status createdAt supplier { id } "
            "purchaseOrder { id createdAt } lines { quantity unitCost { value currency { code } } "
            "landedCost { value } customsValue { value } productSize { SKU } product { id } "
            "productVariant { id } } } }",
            {},
        ),
    ],
)
def test_fast_executor_matches_graphql_core(centra, query, variables):
    sim = centra.sim
    document = parse(query)
    operation = document.definitions[0]
    ctx = Context(sim, sim.clock.now(), Token("t", ALL_PERMISSIONS))
    fast = sim.executor.execute(document, operation, variables, ctx)
    ref = execute(reference_schema(sim.schema, sim.resolvers), document, context_value=ctx, variable_values=variables)
    assert fast["data"] == ref.data
    assert [(e["message"], e["path"]) for e in fast.get("errors", [])] == [
        (e.message, e.path) for e in ref.errors or []
    ]


def test_fast_executor_propagates_nulls_like_graphql_core(centra):
    sim = centra.sim
    query = "{ orders(limit: 2) { number shippingAddress { city } store { id } } }"
    document = parse(query)
    ctx = Context(sim, sim.clock.now(), Token("t", frozenset({"Order:read"})))  # no Store:read: store is non-null
    fast = sim.executor.execute(document, document.definitions[0], {}, ctx)
    ref = execute(reference_schema(sim.schema, sim.resolvers), document, context_value=ctx)
    assert fast["data"] == ref.data is None  # [Order!]! : a null order nulls the list, then the root
    assert sorted(e["message"] for e in fast["errors"]) == sorted(e.message for e in ref.errors)


def test_introspection_works_for_schema_aware_clients(centra):
    result = centra.post({"query": '{ __schema { queryType { name } } __type(name: "Order") { kind } }'}).json()
    assert result["data"] == {"__schema": {"queryType": {"name": "Query"}}, "__type": {"kind": "INTERFACE"}}


@pytest.mark.slow  # `centra-sim serve`, a server process
def test_centra_sim_serve_runs_as_a_process_and_stops_on_sigterm():
    sim = SimulatorProcess("--days", "3", "--orders-per-day", "20", token="cli-token")
    with sim:
        response = httpx.post(
            sim.graphql_url,
            json={"query": "{ orders(limit: 1) { number } }"},
            headers={"Authorization": "Bearer cli-token"},
            timeout=10,
        )
        assert response.status_code == 200 and response.json()["data"]["orders"][0]["number"] == 1001
    assert sim.proc.returncode in (0, -signal.SIGTERM)  # graceful shutdown, then the signal is re-raised
