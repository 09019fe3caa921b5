"""The single-object roots, translations, languages and tax rules of Centra's reference (docs/centra-facts.md §6,
§12), sent through gql over HTTP the way real integrations write them, and checked against the simulator's truth."""

from __future__ import annotations

# An order looked up by its id (a webhook or an event hands the integration the id), as an ERP bridge writes it.
ORDER = """query OrderById($id: String!) {
  order(id: $id) {
    id number status
    ... on DirectToConsumerOrder { customer { id email } }
    totals { lineValues { value } shippingTaxIncluded { value } taxIncluded { value } }
    lines { quantity productSize { SKU } }
  }
}"""
PURCHASE_ORDER = """query PurchaseOrder($id: Int!) {
  purchaseOrder(id: $id) { id status createdAt lines { quantity } deliveries { id number status ETA } }
}"""
DELIVERY = """query Delivery($id: Int!) {
  purchaseOrderDelivery(id: $id) { id number status purchaseOrder { id } lines { quantity } }
}"""


def _truth(centra, entity: str) -> list[dict]:
    return centra.admin(f"ground-truth/{entity}")["rows"]


def test_an_order_is_found_by_its_id_and_an_unknown_id_finds_nothing(centra):
    rows = _truth(centra, "orders")
    for row in (rows[0], rows[len(rows) // 2], rows[-1]):
        order = centra.query(ORDER, {"id": row["id"]}).data["order"]
        assert (order["id"], order["number"], order["status"]) == (row["id"], row["number"], row["status"])
        assert order["totals"]["lineValues"]["value"] == row["subtotal"]
        assert sum(line["quantity"] for line in order["lines"]) == row["quantity"]
    other = rows[0]["id"][:-8] + f"{rows[1]['number']:08x}"  # another order's number under this id's hash
    assert centra.query(ORDER, {"id": other}).data["order"] is None
    assert centra.query(ORDER, {"id": "0" * 32}).data["order"] is None


def test_shipments_returns_and_customers_are_found_by_id(centra):
    shipment, ret = _truth(centra, "shipments")[0], _truth(centra, "returns")[0]
    found = centra.query(
        """query($s: Int!, $r: Int!, $c: Int!) { shipment(id: $s) { id order { number } }
        return(id: $r) { id returnStatus order { number } } customer(id: $c) { id } }""",
        {"s": shipment["id"], "r": ret["id"], "c": 3},
    ).data
    assert (found["shipment"]["id"], found["shipment"]["order"]["number"]) == (shipment["id"], shipment["order_number"])
    assert (found["return"]["id"], found["return"]["returnStatus"]) == (ret["id"], ret["return_status"])
    assert found["return"]["order"]["number"] == ret["order_number"]
    assert found["customer"] == {"id": 3}


def test_purchase_orders_and_deliveries_are_found_by_id(centra):
    pos, deliveries = _truth(centra, "purchase_orders"), _truth(centra, "purchase_order_deliveries")
    for row in pos:
        po = centra.query(PURCHASE_ORDER, {"id": row["id"]}).data["purchaseOrder"]
        assert (po["id"], po["status"]) == (row["id"], row["status"])
        assert sum(line["quantity"] for line in po["lines"]) == row["quantity"]
        assert sorted(d["id"] for d in po["deliveries"]) == sorted(
            d["id"] for d in deliveries if d["purchase_order_id"] == row["id"]
        )
    for row in deliveries:
        d = centra.query(DELIVERY, {"id": row["id"]}).data["purchaseOrderDelivery"]
        assert (d["status"], d["purchaseOrder"]["id"]) == (row["status"], row["purchase_order_id"])
        assert sum(line["quantity"] for line in d["lines"]) == row["quantity"]
    assert centra.query(PURCHASE_ORDER, {"id": 10**6}).data["purchaseOrder"] is None


def test_catalogue_roots_by_id_match_their_lists(centra):
    lists = centra.query("{ collections { id name } suppliers { id name } brands { id name } warehouses { id name } }")
    for root, rows in lists.data.items():
        for row in rows:
            single = root[:-1] if root != "warehouses" else "warehouse"
            got = centra.query(f"query($id: Int!) {{ {single}(id: $id) {{ id name }} }}", {"id": row["id"]})
            assert got.data[single] == row


def test_translations_and_languages_as_centras_pages_name_them(centra):
    languages = centra.query("{ languages { id code languageCode name isAvailableForTranslation } }").data["languages"]
    assert all(lang["code"] for lang in languages)
    translated = {lang["code"] for lang in languages if lang["isAvailableForTranslation"]}
    product = centra.query(
        """{ products(limit: 1) { name ... on ObjectWithTranslations {
        translations { language { code } fields { field value } } } } }"""
    ).data["products"][0]
    assert {t["language"]["code"] for t in product["translations"]} == translated
    for t in product["translations"]:
        assert t["fields"] == [{"field": "name", "value": f"{product['name']} [{t['language']['code']}]"}]
    one = sorted(translated)[0]
    only = centra.query(
        f'{{ displays(limit: 1) {{ translations(where: {{languageCode: ["{one}"]}}) {{ language {{ code }} }} }} }}'
    ).data["displays"][0]["translations"]
    assert [t["language"]["code"] for t in only] == [one]


def test_new_roots_and_translations_need_their_permissions(centra):
    centra.admin("tokens", {"token": "catalogue-only", "permissions": ["Product:read"]})
    denied = centra.post(
        {"query": "{ purchaseOrder(id: 1) { id } products(limit: 1) { translations { fields { field } } } }"},
        token="catalogue-only",
    ).json()
    messages = {e["message"] for e in denied["errors"]}
    assert "You need PurchaseOrder:read permission to access purchaseOrder." in messages
    assert "You need Translation:read permission to access translations." in messages


def test_fields_of_centras_partial_pages_answer_from_the_order(centra):
    """Fields of the partial DirectToConsumer pages (docs/centra-facts.md §12), against the simulator's truth."""
    ret = _truth(centra, "returns")[0]
    orders = {r["number"]: r for r in _truth(centra, "orders")}
    got = centra.query(
        """query($r: Int!) { return(id: $r) { totalQuantity currencyBaseRate usedFallbackTax
        order { number country { code } shippingAddress { country { code } } grandTotal { valueInCents value } } } }""",
        {"r": ret["id"]},
    ).data["return"]
    order = got["order"]
    assert got["currencyBaseRate"] == orders[order["number"]]["conversion_rate"] and got["usedFallbackTax"] is False
    assert got["totalQuantity"] == ret["quantity"]
    assert order["country"] == order["shippingAddress"]["country"]
    assert order["grandTotal"]["valueInCents"] == round(order["grandTotal"]["value"] * 100)
