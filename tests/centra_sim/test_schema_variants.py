"""Schema variants ("other Centra versions"): each serves its own schema exactly as a real server would."""

from __future__ import annotations

import httpx
import pytest
from graphql import execute, parse

from centra_sim.api.permissions import ALL_PERMISSIONS
from centra_sim.api.variants import PRESETS
from centra_sim.backend import APP_VERSION, INTROSPECTION_DISABLED, Context, Token
from centra_sim.cli import parser, schema_variant

TOTALS = "{ orders(limit: 40) { number totals { %s { value } } } }"
DISCOUNTS = "{ orders(limit: 60) { number discountsApplied { __typename value { value } ... on %s { %s { code } } } } }"


def _errors(centra, query: str) -> list[dict]:
    body = centra.post({"query": query}).json()
    assert "data" not in body, body
    return body["errors"]


@pytest.fixture(scope="module")
def alternative(request):
    from centra_sim.testing.simulator import serve

    c, server = serve(schema_variant="alternative-names")
    yield c
    server.__exit__()
    c.sim.stop()


def test_alternative_names_serve_the_same_data_under_the_old_names(alternative, centra):
    old = alternative.post({"query": TOTALS % "itemsSubtotal"}).json()
    new = centra.post({"query": TOTALS % "lineValues"}).json()
    assert [o["totals"]["itemsSubtotal"] for o in old["data"]["orders"]] == [
        o["totals"]["lineValues"] for o in new["data"]["orders"]
    ]
    [error] = _errors(alternative, TOTALS % "lineValues")
    assert error["message"].startswith('Cannot query field "lineValues" on type "OrderTotals".')
    column = (TOTALS % "lineValues").index("lineValues") + 1
    assert error["locations"] == [{"line": 1, "column": column}] and error["extensions"] == {"category": "graphql"}
    [error] = _errors(centra, TOTALS % "itemsSubtotal")
    assert error["message"].startswith('Cannot query field "itemsSubtotal" on type "OrderTotals".')

    old = alternative.post({"query": DISCOUNTS % ("AppliedDiscount", "discount")}).json()["data"]["orders"]
    new = centra.post({"query": DISCOUNTS % ("AppliedVoucher", "voucher")}).json()["data"]["orders"]
    assert any(o["discountsApplied"] for o in old)
    for o, n in zip(old, new, strict=True):
        assert [(d["__typename"], d["value"], d["discount"]) for d in o["discountsApplied"]] == [
            ("AppliedDiscount", d["value"], d["voucher"]) for d in n["discountsApplied"]
        ]
    errors = _errors(alternative, DISCOUNTS % ("AppliedVoucher", "voucher"))
    assert errors[0]["message"].startswith('Unknown type "AppliedVoucher".')


def test_alternative_names_show_in_introspection_and_app_version(alternative, centra):
    query = """{ d: __type(name: "AppliedDiscount") { name fields { name } }
        v: __type(name: "AppliedVoucher") { name } t: __type(name: "OrderTotals") { fields { name } } }"""
    data = alternative.post({"query": query}).json()["data"]
    assert "discount" in {f["name"] for f in data["d"]["fields"]} and data["v"] is None
    assert "itemsSubtotal" in {f["name"] for f in data["t"]["fields"]}
    assert "lineValues" not in {f["name"] for f in data["t"]["fields"]}
    default = centra.post({"query": "{ rateLimits { type } }"}).json()["extensions"]["appVersion"]
    variant = alternative.post({"query": "{ rateLimits { type } }"}).json()["extensions"]["appVersion"]
    assert default == APP_VERSION and variant.startswith(APP_VERSION + "+") and variant != default
    assert alternative.admin("schema") == {
        "variant": {
            "preset": "alternative-names",
            "hide": sorted(PRESETS["alternative-names"]["hide"]),
            "rename": {**PRESETS["alternative-names"]["rename"]},
            "introspection": True,
        },
        "appVersion": variant,
    }


def test_fast_executor_matches_graphql_core_on_a_variant(alternative):
    sim = alternative.sim
    query = DISCOUNTS % ("AppliedDiscount", "discount")
    document = parse(query)
    ctx = Context(sim, sim.clock.now(), Token("t", ALL_PERMISSIONS))
    fast = sim.executor.execute(document, document.definitions[0], {}, ctx)
    ref = execute(sim.reference_schema, document, context_value=ctx)
    assert fast["data"] == ref.data and not ref.errors


SPARSE = {
    "Order": "{ orders(limit: 1) { isOnHold } }",
    "Shipment": "{ shipments(limit: 1) { carrierInformation { carrierName } } }",
    "Return": "{ returns(limit: 1) { completedAt } }",
    "Product": "{ products(limit: 1) { harmonizedCommodityCode } }",
    "ProductSize": "{ productSizes(limit: 1) { EAN } }",
    "PurchaseOrder": "{ purchaseOrders(limit: 1) { ETA } }",
}


def test_sparse_hides_optional_fields_on_interfaces_and_implementations(make_centra, centra):
    sparse = make_centra(schema_variant="sparse")
    for type_name, query in SPARSE.items():
        assert "errors" not in centra.post({"query": query}).json(), type_name
        [error] = _errors(sparse, query)
        assert error["message"].startswith(f'Cannot query field "{query.split("{ ")[2].split()[0]}" on type')
    errors = _errors(sparse, "{ returns { ... on DirectToConsumerReturn { completedAt } } }")
    assert errors[0]["message"].startswith('Cannot query field "completedAt" on type "DirectToConsumerReturn".')
    errors = _errors(sparse, "{ orders { ... on WholesaleOrder { isOnHold } } }")
    assert errors[0]["message"].startswith('Cannot query field "isOnHold" on type "WholesaleOrder".')
    # everything else answers as before, with the same data
    same = "{ orders(limit: 5) { number isLocked } productSizes(limit: 3) { SKU } returns(limit: 3) { id } }"
    assert sparse.post({"query": same}).json()["data"] == centra.post({"query": same}).json()["data"]
    # the filters on hidden fields are input fields: they stay
    assert sparse.post({"query": "{ orders(where: {isOnHold: false}, limit: 1) { number } }"}).json()["data"]


def test_one_answer_lists_every_unknown_name_with_locations(centra):
    errors = _errors(
        centra,
        """{ orders(where: {nope: 1}) { number foo bar { x } }
  products { baz }
}
fragment f on NoSuchType { id }""",
    )
    messages = [e["message"] for e in errors]
    assert 'Cannot query field "foo" on type "Order".' in messages
    assert any(m.startswith('Cannot query field "bar" on type "Order".') for m in messages)
    assert any(m.startswith('Cannot query field "baz" on type "Product".') for m in messages)
    assert any(m.startswith('Unknown type "NoSuchType".') for m in messages)
    assert any(m.startswith('Field "nope" is not defined by type "OrderFilter".') for m in messages)
    assert all(e["locations"] and e["extensions"] == {"category": "graphql"} for e in errors)
    assert not any("'" in m for m in messages)


def test_introspection_can_be_refused_as_graphql_php_refuses_it(make_centra):
    closed = make_centra(schema_variant={"introspection": False})
    response = closed.post({"query": "{\n  __schema { queryType { name } }\n}"})
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == [
        {
            "message": INTROSPECTION_DISABLED,
            "locations": [{"line": 2, "column": 3}],
            "extensions": {"category": "graphql"},
        }
    ]
    assert "data" not in body
    hidden = 'query { orders(limit: 1) { number } ...t } fragment t on Query { __type(name: "Order") { name } }'
    assert closed.post({"query": hidden}).json()["errors"][0]["message"] == INTROSPECTION_DISABLED
    typename = closed.post({"query": "{ __typename orders(limit: 1) { __typename number } }"}).json()
    assert typename["data"]["__typename"] == "Query" and typename["data"]["orders"][0]["__typename"]
    assert typename["extensions"]["appVersion"] != APP_VERSION


def test_admin_endpoint_switches_the_variant_mid_run(make_centra):
    centra = make_centra()
    assert centra.admin("schema")["appVersion"] == APP_VERSION
    assert "data" in centra.post({"query": TOTALS % "lineValues"}).json()
    switched = centra.admin("schema", {"preset": "alternative-names"})
    assert switched["appVersion"] != APP_VERSION
    assert "data" in centra.post({"query": TOTALS % "itemsSubtotal"}).json()
    assert "data" not in centra.post({"query": TOTALS % "lineValues"}).json()  # the document cache is per variant
    custom = centra.admin(
        "schema",
        {"hide": ["Display", "Order.userIP"], "rename": {"Order.number": "orderNumber"}, "introspection": False},
    )
    assert custom["variant"]["hide"] == sorted(
        ["Display", "Order.userIP", "DirectToConsumerOrder.userIP", "WholesaleOrder.userIP"]
    )
    assert custom["appVersion"] not in (APP_VERSION, switched["appVersion"])
    data = centra.post({"query": "{ orders(limit: 2, sort: [number_DESC]) { orderNumber } }"}).json()["data"]
    assert data["orders"][0]["orderNumber"] > data["orders"][1]["orderNumber"]
    for query in ("{ displays { id } }", "{ products { displays { id } } }", "{ orders { userIP } }"):
        assert "data" not in centra.post({"query": query}).json(), query
    bad = httpx.post(f"{centra.url}/admin/schema", json={"preset": "nope"})
    assert bad.status_code == 400 and "alternative-names" in bad.json()["error"]
    invalid = httpx.post(f"{centra.url}/admin/schema", json={"hide": ["WholesaleOrder.isOnHold"]})
    assert invalid.status_code == 400 and "Order.isOnHold" in invalid.json()["error"]
    assert centra.admin("schema")["appVersion"] == custom["appVersion"]  # a refused switch changes nothing
    reset = centra.admin("schema", {})
    assert reset["appVersion"] == APP_VERSION and reset["variant"]["hide"] == []
    assert "data" in centra.post({"query": TOTALS % "lineValues"}).json()


def test_renamed_types_and_fields_keep_typename_permissions_and_filters(make_centra):
    centra = make_centra(
        schema_variant={
            "rename": {"DirectToConsumerOrder": "RetailOrder", "Order.shippingAddress": "deliveryAddress"},
        }
    )
    centra.admin("tokens", {"token": "orders-only", "permissions": ["Order:read"]})
    query = "{ orders(limit: 3, where: {storeType: DIRECT_TO_CONSUMER}) { __typename deliveryAddress { city } } }"
    body = centra.post({"query": query}, token="orders-only").json()
    assert {o["__typename"] for o in body["data"]["orders"]} == {"RetailOrder"}
    assert body["errors"][0]["message"] == "You need Order.shippingAddress:read permission to access deliveryAddress."
    assert "Order.shippingAddress:read" in body["extensions"]["permissionsUsed"]
    full = centra.post({"query": "{ orders(limit: 1) { ... on RetailOrder { deliveryAddress { city } } } }"}).json()
    assert full["data"]["orders"][0]["deliveryAddress"]["city"]


def test_cli_flags_make_the_variant():
    def spec(*argv):
        return schema_variant(parser().parse_args(["serve", *argv]))

    assert spec() is None
    assert spec("--schema-variant", "sparse") == {"preset": "sparse", "hide": [], "rename": {}}
    assert spec(
        "--hide",
        "Order.isOnHold",
        "--hide",
        "Display",
        "--rename",
        "OrderTotals.lineValues=itemsSubtotal",
        "--no-introspection",
    ) == {
        "preset": None,
        "hide": ["Order.isOnHold", "Display"],
        "rename": {"OrderTotals.lineValues": "itemsSubtotal"},
        "introspection": False,
    }
    with pytest.raises(ValueError):
        spec("--rename", "OrderTotals.lineValues")
