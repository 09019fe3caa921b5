"""Fitting a data type's query to a store's schema: what introspection says, what validation errors teach."""

from __future__ import annotations

import pytest
from graphql import build_schema, introspection_from_schema, parse, validate

from centra_assets.centra.errors import CentraSchemaError
from centra_assets.centra.schema import SchemaCache, StoreSchema, lacking_from_errors
from centra_assets.entities.query import lacking_fields, plan
from centra_assets.entities.sales import ORDERS, RETURNS
from centra_assets.entities.spec import flatten
from centra_sim.api.schema import SDL_PATH

# A store on an older Centra: `itemsSubtotal` rather than `lineValues`, `AppliedDiscount { discount }` rather than
# `AppliedVoucher { voucher }`, no `isOnHold`, and lines without `productSize`.
OLD_STORE = """
type Query { orders(where: OrderFilter, sort: [OrderSort!], limit: Int, page: Int): [Order!]! }
enum OrderSort { number_ASC }
input DateRange { from: String to: String }
input OrderFilter { number: [Int!] createdAt: DateRange }
type Money { value: Float currency: Currency conversionRate: Float }
type Currency { code: String }
type Totals { quantity: Int itemsSubtotal: Money discounts: Money shipping: Money handling: Money taxAdded: Money
  taxDeducted: Money taxIncluded: Money }
type Line { id: Int product: Ref productVariant: Ref brand: Ref productNumber: String productName: String
  productVariantName: String size: String quantity: Int cancelledQuantity: Int shippedQuantity: Int
  returnedQuantity: Int taxPercent: Float discountPercent: Float unitPrice: Money unitOriginalPrice: Money
  lineValue: Money }
type Ref { id: Int name: String email: String type: String code: String }
type Address { city: String zipCode: String country: Ref }
interface OrderDiscount { value: Money date: String }
type AppliedDiscount implements OrderDiscount { value: Money date: String discount: Ref }
type Payment { id: Int createdAt: String status: String entryType: String externalReference: String
  paymentMethod: String value: Money }
interface Order { id: String number: Int status: String orderDate: String createdAt: String updatedAt: String
  store: Ref market: Ref pricelist: Ref grandTotal: Money totals: Totals shippingAddress: Address
  lines(includeFullyCancelled: Boolean): [Line!]! discountsApplied: [OrderDiscount!]! paymentHistory: [Payment!]! }
type DirectToConsumerOrder implements Order { id: String number: Int status: String orderDate: String
  createdAt: String updatedAt: String store: Ref market: Ref pricelist: Ref grandTotal: Money totals: Totals
  shippingAddress: Address lines(includeFullyCancelled: Boolean): [Line!]! discountsApplied: [OrderDiscount!]!
  paymentHistory: [Payment!]! customer: Ref }
type WholesaleOrder implements Order { id: String number: Int status: String orderDate: String
  createdAt: String updatedAt: String store: Ref market: Ref pricelist: Ref grandTotal: Money totals: Totals
  shippingAddress: Address lines(includeFullyCancelled: Boolean): [Line!]! discountsApplied: [OrderDiscount!]!
  paymentHistory: [Payment!]! account: Ref buyer: Ref purchaseOrderNumber: String }
"""


def introspected(sdl: str, version: str = "v7") -> StoreSchema:
    return StoreSchema.from_introspection(version, introspection_from_schema(build_schema(sdl)))


def errors_of(sdl: str, document: str, with_locations: bool = True) -> list[dict]:
    """The errors a GraphQL server with this schema answers to `document`, as JSON (graphql-php's wording)."""
    found = validate(build_schema(sdl), parse(document))
    out = []
    for e in found:
        error = {"message": e.message.replace("'", '"')}
        if with_locations:
            error["locations"] = [{"line": loc.line, "column": loc.column} for loc in e.locations or ()]
        out.append(error)
    return out


def test_introspection_picks_the_alternative_the_store_has_and_leaves_out_what_it_lacks():
    found = plan(ORDERS, introspected(OLD_STORE))
    assert found.alternatives["orders.items_subtotal"] == "totals.itemsSubtotal.value"
    assert found.alternatives["order_discounts.voucher_code"] == "on AppliedDiscount.discount.code"
    assert found.paths["orders"]["is_on_hold"] is None and found.paths["order_lines"]["sku"] is None
    assert "orders.is_on_hold (isOnHold; lacks Order.isOnHold)" in lacking_fields(found)
    assert not validate(build_schema(OLD_STORE), parse(found.document)), "the fitted query is valid on the store"


def test_a_type_condition_on_an_interface_its_objects_share_is_read():
    """Centra's reference: `discountsApplied: [OrderDiscount!]!`, and `AppliedVoucher` is another interface that
    AppliedVoucherDiscount implements beside OrderDiscount (docs/centra-facts.md §12). GraphQL allows
    `... on AppliedVoucher` there; the plan reads it instead of leaving the voucher columns empty."""
    current = OLD_STORE.replace(
        "type AppliedDiscount implements OrderDiscount { value: Money date: String discount: Ref }",
        "interface AppliedVoucher { value: Money voucher: Ref voucherMethod: String }\n"
        "type AppliedVoucherDiscount implements AppliedVoucher & OrderDiscount { value: Money date: String "
        "voucher: Ref voucherMethod: String }",
    )
    found = plan(ORDERS, introspected(current))
    assert found.paths["order_discounts"]["voucher_code"] == "on AppliedVoucher.voucher.code"
    assert found.paths["order_discounts"]["voucher_method"] == "on AppliedVoucher.voucherMethod"
    assert not validate(build_schema(current), parse(found.document))


def test_validation_errors_name_each_field_by_its_place_in_the_query():
    document = plan(ORDERS).document  # the documented names, as a first try where introspection is refused
    errors = errors_of(OLD_STORE, document)
    lacking = lacking_from_errors(document, errors)
    assert "orders.totals.lineValues" in lacking and "orders.discountsApplied.on AppliedVoucher" in lacking
    assert "orders.lines.productSize" in lacking and "orders.isOnHold" in lacking
    assert not any(path.startswith("orders.lines.product.") for path in lacking)  # only what the errors point at
    store = StoreSchema("v7")
    store.learn(lacking)
    fitted = plan(ORDERS, store)
    assert not validate(build_schema(OLD_STORE), parse(fitted.document))
    assert fitted.alternatives["orders.items_subtotal"] == "totals.itemsSubtotal.value"


def test_without_locations_errors_are_placed_by_name():
    document = plan(ORDERS).document
    lacking = lacking_from_errors(document, errors_of(OLD_STORE, document, with_locations=False))
    assert "orders.totals.lineValues" in lacking and "orders.discountsApplied.on AppliedVoucher" in lacking


def test_an_error_that_is_not_about_the_schema_is_not_learnt_from():
    document = plan(ORDERS).document
    assert lacking_from_errors(document, [{"message": "Internal server error"}]) is None


def test_a_key_the_store_lacks_fails_with_the_field_the_version_and_what_to_do():
    sdl = OLD_STORE.replace("type Query { orders(", "type Query { x: Int orders(").replace(
        "interface Order { id: String number: Int", "interface Order { id: String"
    )
    sdl = sdl.replace(
        "DirectToConsumerOrder implements Order { id: String number: Int",
        "DirectToConsumerOrder implements Order { id: String",
    ).replace(
        "WholesaleOrder implements Order { id: String number: Int", "WholesaleOrder implements Order { id: String"
    )
    with pytest.raises(CentraSchemaError) as raised:
        plan(ORDERS, introspected(sdl, "v9.9"))
    message = str(raised.value)
    assert "orders" in message and "number" in message and "v9.9" in message and "centra-assets check" in message


def test_a_refresh_filter_the_store_lacks_fails_the_plan():
    sdl = OLD_STORE.replace(
        "input OrderFilter { number: [Int!] createdAt: DateRange }", "input OrderFilter { createdAt: DateRange }"
    )
    with pytest.raises(CentraSchemaError, match="OrderFilter.number"):
        plan(ORDERS, introspected(sdl))


def test_the_cache_keeps_one_schema_per_store_and_forgets_it_when_the_version_changes(tmp_path):
    cache = SchemaCache(tmp_path)
    learnt = StoreSchema("v1")
    learnt.learn({"orders.totals.lineValues"})
    cache.save("https://a.centra.com/graphql", learnt)
    cache.save("https://b.centra.com/graphql", introspected(OLD_STORE, "v2"))
    again = cache.load("https://a.centra.com/graphql", "v1")
    assert again.lacking == {"orders.totals.lineValues"} and again.schema is None
    assert cache.load("https://b.centra.com/graphql", "v2").has("orders", "totals.itemsSubtotal") is True
    assert cache.load("https://a.centra.com/graphql", "v2") is None  # a new Centra version: learn again


ORDER_WITH_NESTED_LISTS = {
    "number": 7,
    "lines": [
        {"id": 70, "allocations": [{"id": 1, "quantity": 2}, {"id": 2, "quantity": 1}]},
        {"id": 71, "allocations": [{"id": 3, "quantity": 4}]},
    ],
    "attributes": [
        {"type": {"name": "or_channel"}, "elements": [{"key": "channel", "kind": "INPUT", "value": "web"}]},
        {
            "type": {"name": "or_gift_wrap"},
            "elements": [{"key": "gift_wrap", "kind": "SELECT", "selectedValue": "1", "selectedValueName": "Yes"}],
        },
    ],
}


def _table(name: str):
    return next(t for t in ORDERS.tables if t.name == name)


def test_rows_in_a_list_inside_a_list_read_the_outer_item_they_belong_to():
    allocations = flatten(_table("order_line_allocations"), [ORDER_WITH_NESTED_LISTS])
    assert [(r["order_number"], r["line_id"], r["allocation_id"], r["quantity"]) for r in allocations] == [
        (7, 70, 1, 2),
        (7, 70, 2, 1),
        (7, 71, 3, 4),
    ]
    attributes = flatten(_table("order_attributes"), [ORDER_WITH_NESTED_LISTS])
    assert [
        (r["attribute_type"], r["element_key"], r["value"], r["selected_value"], r["selected_value_name"])
        for r in attributes
    ] == [("or_channel", "channel", "web", None, None), ("or_gift_wrap", "gift_wrap", None, "1", "Yes")]


def test_a_list_the_store_lacks_leaves_its_table_empty_and_the_data_type_runs_on():
    store = StoreSchema("v-old")  # refused introspection; its errors named `Order.attributes`
    store.learn({"orders.attributes"})
    fitted = plan(ORDERS, store)
    assert set(fitted.paths["order_attributes"].values()) == {None}
    assert "attributes" not in fitted.document and "allocations" in fitted.document
    assert {m.table for m in fitted.missing} == {"order_attributes"}
    assert flatten(_table("order_attributes"), [ORDER_WITH_NESTED_LISTS], fitted.paths["order_attributes"]) == []


def test_an_aliased_field_selects_a_field_twice_and_is_read_by_its_alias():
    """The return's refund with and without tax, `grandTotal` twice: GraphQL needs an alias for the second, the plan
    checks the field beneath the alias, and the reader finds the value under the alias."""
    sdl = SDL_PATH.read_text()
    found = plan(RETURNS, introspected(sdl))
    assert (
        found.paths["returns"]["refund_total_excl_tax"] == "refundTotalExclTax: grandTotal(includingTax: false).value"
    )
    assert not validate(build_schema(sdl), parse(found.document)), "the query is valid with the field twice"
    record = {"id": 5, "grandTotal": {"value": 120.0}, "refundTotalExclTax": {"value": 96.0}}
    (row,) = flatten(next(t for t in RETURNS.tables if t.name == "returns"), [record], found.paths["returns"])
    assert (row["refund_total"], row["refund_total_excl_tax"]) == (120.0, 96.0)
    # a store whose grandTotal takes no argument: the column is left out, the rest of the query stands
    older = sdl.replace("grandTotal(includingTax: Boolean! = true)", "grandTotal")
    fitted = plan(RETURNS, introspected(older))
    assert fitted.paths["returns"]["refund_total_excl_tax"] is None and fitted.paths["returns"]["refund_total"]
    assert not validate(build_schema(older), parse(fitted.document))
