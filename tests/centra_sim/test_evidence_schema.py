"""The default schema follows the evidence of real integrations (docs/centra-facts.md §11.1, §11.3), right values."""

from __future__ import annotations

import pytest

from centra_sim.store.catalog import DISPLAY_ID_OFFSET


def _all(centra, root: str, selection: str, where: str = "") -> list[dict]:
    rows, page = [], 1
    while batch := centra.query(f"{{ {root}(limit: 200, page: {page}{where}) {{ {selection} }} }}").data[root]:
        rows += batch
        page += 1
    return rows


def test_order_totals_line_values_and_net_line_values(centra):
    truth = {r["number"]: r for r in centra.admin("ground-truth/orders")["rows"]}
    orders = centra.query("""{ orders(limit: 100) { number totals { lineValues { value currency { code } } }
        lines(includeFullyCancelled: true) { taxPercent lineValue { value }
          net: lineValue(includingTax: false) { value }
          productSize { SKU productVariant { product { id } } } }
        discountsApplied { value { value } ... on AppliedVoucher { voucher { code name type } } } } }""").data["orders"]
    taxed = 0
    for order in orders:
        row = truth[order["number"]]
        assert order["totals"]["lineValues"]["value"] == row["subtotal"]
        assert order["totals"]["lineValues"]["currency"]["code"] == row["currency"]
        assert round(sum(line["lineValue"]["value"] for line in order["lines"]), 2) == row["subtotal"]
        for line in order["lines"]:
            assert line["net"]["value"] == round(line["lineValue"]["value"] / (1 + line["taxPercent"] / 100), 2)
            taxed += line["taxPercent"] > 0
            assert line["productSize"]["SKU"].startswith("NV") and line["productSize"]["productVariant"]["product"]
        if row["discount"]:
            [applied] = order["discountsApplied"]
            assert applied["value"]["value"] == row["discount"] and applied["voucher"]["code"]
        else:
            assert order["discountsApplied"] == []
    assert taxed and any(o["discountsApplied"] for o in orders)


def test_order_lines_count_shipped_and_returned_quantities(centra):
    returns = centra.query("""{ returns(limit: 30) { order { number status lines { id quantity shippedQuantity
        returnedQuantity } } lines { id quantity orderLine { id returnedQuantity } } } }""").data["returns"]
    assert returns
    for ret in returns:
        returned = {line["orderLine"]["id"] for line in ret["lines"]}
        for line in ret["lines"]:
            assert line["orderLine"]["returnedQuantity"] == line["quantity"]
        for line in ret["order"]["lines"]:
            assert line["shippedQuantity"] == line["quantity"]  # returns only follow shipped orders
            assert line["returnedQuantity"] == (line["quantity"] if line["id"] in returned else 0)
    pending = centra.query("{ orders(where: {status: [PENDING]}, limit: 5) { lines { shippedQuantity } } }")
    assert all(line["shippedQuantity"] == 0 for o in pending.data["orders"] for line in o["lines"])


def test_shipment_and_return_lines_carry_their_value_with_or_without_tax(centra):
    """Centra's ShipmentLine and ReturnLine pages (docs/centra-facts.md §12): unitPrice and lineValue, each with
    includingTax; the size is reached through the order line."""
    money = "unitPrice { value } net: unitPrice(includingTax: false) { value } lineValue { value }"
    ordered = "orderLine { taxPercent unitPrice { value } productSize { id } }"
    returns = centra.query(
        f"{{ returns(limit: 30) {{ lines {{ quantity {money} shipmentLine {{ quantity {money} {ordered} }} }} }} }}"
    )
    lines = [line for r in returns.data["returns"] for line in r["lines"]]
    assert lines
    for line in lines:
        shipped, ordered = line["shipmentLine"], line["shipmentLine"]["orderLine"]
        for item in (line, shipped):
            assert item["unitPrice"]["value"] == ordered["unitPrice"]["value"]
            assert item["lineValue"]["value"] == round(item["quantity"] * ordered["unitPrice"]["value"], 2)
            assert item["net"]["value"] == round(item["unitPrice"]["value"] / (1 + ordered["taxPercent"] / 100), 2)
        assert ordered["productSize"]["id"]
    assert any(line["net"]["value"] < line["unitPrice"]["value"] for line in lines)


def test_returns_refund_totals_payment_history_and_stock_flag(centra):
    truth = {r["id"]: r for r in centra.admin("ground-truth/returns")["rows"]}
    returns = _all(
        centra,
        "returns",
        """id returnStatus completedAt store { id type } comment returnedToStock
        grandTotal { value currency { code } } net: grandTotal(includingTax: false) { value }
        totals { shipping { value } handling { value } returnCost { value } discounts { value } }
        refundPaymentHistory { entryType status createdAt value { value } }
        order { totals { lineValues { value } } discountsApplied { value { value } } }""",
    )
    assert [r["id"] for r in returns] == list(truth) and {r["returnStatus"] for r in returns} == {
        "PENDING",
        "COMPLETED",
    }
    for ret in returns:
        row = truth[ret["id"]]
        assert ret["grandTotal"]["value"] == row["refund"] and ret["net"]["value"] <= row["refund"]
        assert ret["totals"]["returnCost"]["value"] == ret["totals"]["shipping"]["value"] == 0
        assert ret["totals"]["discounts"]["value"] >= 0
        completed = ret["returnStatus"] == "COMPLETED"
        assert ret["returnedToStock"] is completed and (ret["completedAt"] is not None) is completed
        if completed:
            [refund] = ret["refundPaymentHistory"]
            assert refund["entryType"] == "REFUND" and refund["value"]["value"] == row["refund"]
            assert refund["createdAt"] == ret["completedAt"]
        else:
            assert ret["refundPaymentHistory"] == []
        assert ret["store"]["type"] in {"DIRECT_TO_CONSUMER", "WHOLESALE"}
    assert any(r["totals"]["discounts"]["value"] > 0 for r in returns)
    assert any(r["net"]["value"] < r["grandTotal"]["value"] for r in returns)
    assert any(r["comment"] for r in returns) and any(r["comment"] is None for r in returns)


def test_displays_carry_the_categories_and_match_ground_truth(centra):
    truth = centra.admin("ground-truth/displays")["rows"]
    links = centra.admin("ground-truth/display_categories")["rows"]
    displays = _all(
        centra,
        "displays",
        """id name status uri updatedAt product { id name displays { id } } productVariants { id }
        categories { id } canonicalCategory { id } markets { id } store { id type }
        media { id source { type url } }""",
    )
    assert [(d["id"], d["product"]["id"], d["canonicalCategory"]["id"]) for d in displays] == [
        (r["display_id"], r["product_id"], r["canonical_category_id"]) for r in truth
    ]
    assert sorted((d["id"], c["id"]) for d in displays for c in d["categories"]) == sorted(
        (r["display_id"], r["category_id"]) for r in links
    )
    for d in displays:
        assert d["id"] == DISPLAY_ID_OFFSET + d["product"]["id"] and d["product"]["displays"] == [{"id": d["id"]}]
        assert d["name"] == d["product"]["name"] and d["uri"] and d["store"]["type"] == "DIRECT_TO_CONSUMER"
        assert d["canonicalCategory"] == d["categories"][0] and len(d["categories"]) == 2
        assert d["media"] and all(m["source"]["url"].startswith("https://") for m in d["media"])
    one = displays[3]
    assert centra.query(f"{{ display(id: {one['id']}) {{ id }} }}").data["display"] == {"id": one["id"]}
    by_product = centra.query(f"{{ displays(where: {{productId: [{one['product']['id']}]}}) {{ id }} }}")
    assert by_product.data["displays"] == [{"id": one["id"]}]
    in_market = centra.query("{ displays(where: {marketId: [2]}, limit: 200) { id } }").data["displays"]
    assert len(in_market) == len(displays)  # every display is in every D2C market
    assert centra.query("{ displays(where: {marketId: [6]}) { id } }").data["displays"] == []
    active = centra.query("{ displays(where: {status: [INACTIVE]}, limit: 200) { status } }").data["displays"]
    assert {d["status"] for d in active} <= {"INACTIVE"}


def test_products_markets_and_allocation_rules(centra):
    data = centra.query("""{
      products(limit: 3) { id displays { id categories { name } } media { id source(sizeName: "mini") { url } }
        variants { id media { id } } }
      markets { id store { type } allocationRule { id name } displays { id } }
      allocationRules { id name }
      categories(limit: 200) { id childCategories { id } }
      top: categories(where: {isTopCategory: true}) { id name }
      currencies(where: {isBase: true}) { code }
    }""").data
    for product in data["products"]:
        assert [m["id"] for m in product["media"]] == [v["media"][0]["id"] for v in product["variants"]]
        assert all(m["source"]["url"].endswith("-mini.jpg") for m in product["media"])
        assert product["displays"][0]["categories"][0]["name"] in {"Women", "Men"}
    rules = {r["id"]: r for r in data["allocationRules"]}
    assert len(rules) >= 3 and all(m["allocationRule"] == rules[m["allocationRule"]["id"]] for m in data["markets"])
    for market in data["markets"]:
        assert bool(market["displays"]) is (market["store"]["type"] == "DIRECT_TO_CONSUMER")
    assert len(data["categories"]) == len(centra.sim.catalog.categories)  # no filter: every category
    assert [c["name"] for c in data["top"]] == ["Women", "Men"]
    assert data["currencies"] == [{"code": "SEK"}]


def test_variant_stock_and_the_documented_stock_totals(centra):
    variants = centra.query("""{ productVariants(limit: 5) { id
        stock(limit: 200) { warehouse { id } productSize { id } physicalQuantity freeToAllocateQuantity }
        stockTotals { availableQuantity physicalQuantity demandQuantity allocatedQuantity unshippedQuantity
          onDeliveryQuantity linkedIncomingQuantity unlinkedIncomingQuantity }
        productSizes { id } } }""").data["productVariants"]
    for v in variants:
        assert len(v["stock"]) == 4 * len(v["productSizes"])
        assert [r["warehouse"]["id"] for r in v["stock"]] == sorted(r["warehouse"]["id"] for r in v["stock"])
        assert sum(r["physicalQuantity"] for r in v["stock"]) == v["stockTotals"]["physicalQuantity"]
    paged = centra.query("{ productVariants(limit: 1) { stock { id: physicalQuantity } } }").data
    assert len(paged["productVariants"][0]["stock"]) <= 20  # limit defaults to 20


REMOVED = [
    ("{ orders { totals { itemsSubtotal { value } } } }", "itemsSubtotal", "OrderTotals"),
    ("{ orders { discountsApplied { ... on AppliedDiscount { value { value } } } } }", None, None),
    ("{ orders { lines { SKU } } }", "SKU", "OrderLine"),
    ("{ returns { refundTotal { value } } }", "refundTotal", "Return"),
    ("{ returns { returnedToWarehouse { id } } }", "returnedToWarehouse", "Return"),
    ("{ returns { lines { productSize { id } } } }", "productSize", "ReturnLine"),
    ("{ shipments { lines { productSize { id } } } }", "productSize", "ShipmentLine"),
    ("{ products { categories { id } } }", "categories", "Product"),
    ("{ productSizes { product { id } } }", "product", "ProductSize"),
    ("{ currencies { baseCurrencyRate } }", "baseCurrencyRate", "Currency"),
    ("{ markets { pricelist { id } } }", "pricelist", "Market"),
    ("{ categories { parentCategory { id } } }", "parentCategory", "Category"),
    ("{ categories { isTopCategory } }", "isTopCategory", "Category"),
    ("{ productSizes { stockTotals { freeToAllocateQuantity } } }", "freeToAllocateQuantity", "StockTotals"),
    ("{ purchaseOrderDeliveries { insertedAt } }", "insertedAt", "PurchaseOrderDelivery"),
    # ETA and currency on PurchaseOrderDelivery are back: Centra's complete page (§12) has both.
    ("{ purchaseOrderDeliveries { lines { id } } }", "id", "PurchaseOrderDeliveryLine"),
    (
        "{ purchaseOrderDeliveries { lines { purchaseOrderLine { id } } } }",
        "purchaseOrderLine",
        "PurchaseOrderDeliveryLine",
    ),
    ("query($s: [IdSort!]) { markets(sort: $s) { id } }", None, None),
]


@pytest.mark.parametrize("query, field, type_", REMOVED)
def test_names_real_material_contradicts_are_gone(centra, query, field, type_):
    body = centra.post({"query": query}).json()
    assert "data" not in body and body["errors"]
    if field:
        assert body["errors"][0]["message"].startswith(f'Cannot query field "{field}" on type "{type_}".')


def test_one_sort_enum_per_entity_and_a_wide_event_union(centra):
    for root, sort in [
        ("markets", "MarketSort"),
        ("accounts", "AccountSort"),
        ("brands", "BrandSort"),
        ("categories", "CategorySort"),
        ("displays", "DisplaySort"),
        ("suppliers", "SupplierSort"),
    ]:
        result = centra.query(f"query($s: [{sort}!]) {{ {root}(sort: $s) {{ id }} }}", {"s": ["id_DESC"]}).data[root]
        assert [r["id"] for r in result] == sorted((r["id"] for r in result), reverse=True)
    union = centra.query('{ __type(name: "EventTarget") { possibleTypes { name } } }').data["__type"]
    names = {t["name"] for t in union["possibleTypes"]}
    assert {
        "Product",
        "ProductVariant",
        "ProductSize",
        "Collection",
        "Display",
        "Category",
        "Brand",
        "Market",
        "Pricelist",
        "Warehouse",
        "Voucher",
        "Campaign",
        "Account",
        "Supplier",
        "DirectToConsumerOrder",
    } <= names


def test_date_format_arguments_on_every_entity(centra):
    data = centra.query("""{ shipments(limit: 1) { createdAt(format: "Y-m-d") shippedAt(format: "Y") }
        returns(limit: 1) { createdAt(format: "Y-m-d") } products(limit: 1) { updatedAt(format: "Y-m-d") }
        productVariants(limit: 1) { updatedAt(format: "Y") } productSizes(limit: 1) { updatedAt(format: "Y") }
        customers(limit: 1) { createdAt(format: "Y-m-d") } displays(limit: 1) { updatedAt(format: "Y-m-d") } }""").data
    assert len(data["shipments"][0]["createdAt"]) == 10 and len(data["displays"][0]["updatedAt"]) == 10
    assert len(data["customers"][0]["createdAt"]) == 10 and len(data["productSizes"][0]["updatedAt"]) == 4


def test_displays_need_display_read(centra):
    centra.admin("tokens", {"token": "no-displays", "permissions": ["Product:read"]})
    body = centra.post({"query": "{ displays { id } }"}, token="no-displays").json()
    assert body["errors"][0]["message"] == "You need Display:read permission to access displays."
    body = centra.post({"query": "{ products(limit: 1) { id displays { id } } }"}, token="no-displays").json()
    assert body["data"] is None or body["data"]["products"][0]["displays"] is None
    assert "Display:read" in body["extensions"]["permissionsUsed"]


def test_named_fragments_are_costed(centra):
    body = centra.post(
        {"query": "query { orders(limit: 2) { ...o } } fragment o on Order { number lines { id } }"}
    ).json()
    assert body["data"]["orders"] and body["extensions"]["complexity"] > 1
