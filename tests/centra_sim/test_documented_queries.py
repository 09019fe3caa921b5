"""Centra's documented example queries (docs/centra-facts.md §0) run on the simulator, return the documented shapes."""

from __future__ import annotations

import base64
import re

import pytest

ISO_P = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")  # Y-m-d\TH:i:sP
ISO_O = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")  # Y-m-d\TH:i:sO


def test_orders_page_has_documented_order_shape(centra):
    result = centra.query(
        """
      query Orders($page: Int!) {
        orders(where: {storeType: DIRECT_TO_CONSUMER}, sort: [number_ASC], limit: 10, page: $page) {
          __typename id number status orderDate createdAt updatedAt
          grandTotal(includingTax: true) { value currency { id code } conversionRate formattedValue }
          totals { quantity shipping { value } handling { value } taxAdded { value } taxDeducted { value }
                   taxIncluded { value } }
          lines { id productName productVariantName size quantity unitPrice { value } lineValue { value }
                  productSize { id SKU EAN } }
          ... on DirectToConsumerOrder { customer { id email firstName lastName } }
        }
      }""",
        {"page": 1},
    )
    orders = result.data["orders"]
    assert len(orders) == 10
    for order in orders:
        assert order["__typename"] == "DirectToConsumerOrder"
        assert re.fullmatch(r"[0-9a-f]{32}", order["id"]) and isinstance(order["number"], int)
        assert str(order["number"]) not in order["id"][:24]  # id and number are different things
        assert ISO_P.match(order["createdAt"]) and order["orderDate"] == order["createdAt"]
        assert order["updatedAt"] >= order["createdAt"]
        assert order["status"] in {"PENDING", "CONFIRMED", "SHIPPED", "CANCELLED"}
        money = order["grandTotal"]
        assert money["formattedValue"].endswith(money["currency"]["code"])
        assert money["conversionRate"] > 0
        assert (
            order["totals"]["quantity"] == sum(line["quantity"] for line in order["lines"])
            or order["status"] == "CANCELLED"
        )
    numbers = [o["number"] for o in orders]
    assert numbers == sorted(numbers)


def test_wholesale_orders_carry_account_and_buyer(centra):
    result = centra.query("""{ orders(where: {storeType: WHOLESALE}, limit: 5) {
        __typename number store { type }
        ... on WholesaleOrder { purchaseOrderNumber account { id name } buyer { id email } } } }""")
    assert result.data["orders"], "the generator makes wholesale orders"
    for order in result.data["orders"]:
        assert order["__typename"] == "WholesaleOrder" and order["store"]["type"] == "WHOLESALE"
        assert order["account"]["name"] and order["buyer"]["email"]


def test_rate_limits_query_lists_six_buckets(centra):
    result = centra.query("{ rateLimits { type intervalSeconds quota usedQuota remainingQuota } }")
    buckets = result.data["rateLimits"]
    assert {(b["type"], b["intervalSeconds"]) for b in buckets} == {
        (t, i) for t in ("REQUEST_COUNT", "QUERY_COMPLEXITY", "MUTATION_COUNT") for i in ("TEN_SECONDS", "ONE_HOUR")
    }
    assert all(b["quota"] == b["usedQuota"] + b["remainingQuota"] for b in buckets)
    assert result.extensions["permissionsUsed"] == []


def test_every_response_carries_extensions(centra):
    result = centra.query("{ orders(limit: 2) { number } }")
    ext = result.extensions
    assert ext["complexity"] > 0 and ext["permissionsUsed"] == ["Order:read"] and ext["appVersion"].startswith("v")


def test_order_filters_by_date_range_number_and_id(centra):
    one = centra.query("{ orders(limit: 1, page: 40) { id number createdAt } }").data["orders"][0]
    by_number = centra.query("query($n: [Int!]) { orders(where: {number: $n}) { id } }", {"n": [one["number"]]})
    assert by_number.data["orders"] == [{"id": one["id"]}]
    by_id = centra.query("query($i: [String!]) { orders(where: {id: $i}) { number } }", {"i": [one["id"]]})
    assert by_id.data["orders"] == [{"number": one["number"]}]
    day = one["createdAt"][:10]
    window = centra.query(
        """query($f: DateTimeTz!, $t: DateTimeTz!) {
        orders(where: {createdAt: {from: $f, to: $t}}, limit: 200) { createdAt } }""",
        {"f": f"{day} 00:00:00", "t": f"{day} 23:59:59"},
    )
    assert window.data["orders"] and all(o["createdAt"].startswith(day) for o in window.data["orders"])


def test_pages_partition_the_result_and_sorts_reverse(centra):
    def numbers(sort, page):
        return [
            o["number"]
            for o in centra.query(
                "query($s: [OrderSort!], $p: Int!) { orders(sort: $s, limit: 50, page: $p) { number } }",
                {"s": [sort], "p": page},
            ).data["orders"]
        ]

    asc = numbers("number_ASC", 1) + numbers("number_ASC", 2)
    assert len(asc) == len(set(asc)) == 100 and asc == sorted(asc)
    desc = numbers("number_DESC", 1)
    assert desc == sorted(desc, reverse=True) and desc[0] > asc[-1]
    by_update = numbers("updatedAt_DESC", 1)
    assert len(by_update) == 50


@pytest.mark.parametrize("limit", [0, 201])
def test_limit_must_be_in_range_1_to_200(centra, limit):
    response = centra.post({"query": "query($l: Int) { orders(limit: $l) { id } }", "variables": {"l": limit}})
    body = response.json()
    assert body["errors"][0]["message"] == "Limit must be in range 1 - 200" and body["errors"][0]["path"] == ["orders"]


def test_order_connection_cursors_walk_forwards_and_backwards(centra):
    page = centra.query("""{ orderConnection(first: 3, sort: [number_ASC]) {
        totalCount edges { cursor node { number } } pageInfo { hasNextPage hasPreviousPage endCursor } } }""")
    conn = page.data["orderConnection"]
    numbers = [e["node"]["number"] for e in conn["edges"]]
    assert base64.b64decode(conn["edges"][0]["cursor"]).decode() == f"number:{numbers[0]}"
    assert conn["pageInfo"]["hasNextPage"] and not conn["pageInfo"]["hasPreviousPage"]
    nxt = centra.query(
        "query($a: String) { orderConnection(first: 3, after: $a) { edges { cursor node { number } } } }",
        {"a": conn["pageInfo"]["endCursor"]},
    ).data["orderConnection"]["edges"]
    assert [e["node"]["number"] for e in nxt] == [n + 3 for n in numbers]
    back = centra.query(
        "query($b: String) { orderConnection(last: 2, before: $b) { edges { node { number } } } }",
        {"b": nxt[0]["cursor"]},
    )
    assert [e["node"]["number"] for e in back.data["orderConnection"]["edges"]] == numbers[1:]
    assert conn["totalCount"] == len(centra.admin("ground-truth/orders")["rows"])


def test_date_format_argument_and_purchase_order_offset_style(centra):
    order = centra.query('{ orders(limit: 1) { createdAt day: createdAt(format: "Y-m-d") } }').data["orders"][0]
    assert order["day"] == order["createdAt"][:10]
    po = centra.query("{ purchaseOrders(limit: 1) { createdAt ETA } }").data["purchaseOrders"][0]
    assert ISO_O.match(po["createdAt"]) and ISO_O.match(po["ETA"])


def test_catalogue_queries_from_the_docs(centra):
    result = centra.query("""{
      markets(where: {storeId: 1}, sort: [id_DESC]) { id name store { id name } assignedToCountries { code } }
      pricelists(sort: [id_ASC]) { id name status currency { code } assignedToCountries { code } }
      currencies(where: {isBase: true}) { code }
      stores(where: {type: WHOLESALE}) { id name type }
      categories(where: {isTopCategory: true}) { id name uri childCategories { id name } }
      warehouses(sort: [id_ASC]) { id name status }
      products(sort: [updatedAt_DESC], limit: 10) { id name status productNumber
        variants { id name variantNumber productSizes { id SKU EAN size { name } } } }
    }""").data
    assert [m["id"] for m in result["markets"]] == sorted((m["id"] for m in result["markets"]), reverse=True)
    assert result["currencies"] == [{"code": "SEK"}]
    assert {s["type"] for s in result["stores"]} == {"WHOLESALE"}
    assert all(c["childCategories"] for c in result["categories"])
    sizes = [s for p in result["products"] for v in p["variants"] for s in v["productSizes"]]
    assert all(s["SKU"].startswith("NV") and len(s["EAN"]) == 13 for s in sizes)


def test_stock_per_size_and_warehouse_adds_up_to_totals(centra):
    sizes = centra.query("""{ productSizes(limit: 20) { id
        stock { warehouse { id } physicalQuantity allocatedQuantity freeToAllocateQuantity demandQuantity
                availableNowQuantity }
        stockTotals { physicalQuantity allocatedQuantity unshippedQuantity availableQuantity } } }""").data[
        "productSizes"
    ]
    for size in sizes:
        rows = size["stock"]
        assert {r["warehouse"]["id"] for r in rows} == {1, 2, 3, 4}
        for r in rows:
            assert r["freeToAllocateQuantity"] == r["physicalQuantity"] - r["allocatedQuantity"]
            assert r["availableNowQuantity"] == r["freeToAllocateQuantity"] - r["demandQuantity"]
        assert size["stockTotals"]["physicalQuantity"] == sum(r["physicalQuantity"] for r in rows)
