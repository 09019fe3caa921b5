"""What analysts read beyond orders and stock (docs/centra-facts.md §11.4): attributes, product master data, the
supply map, order channel data, shipment economics, allocations and stock changes.

Every value is derived from the catalogue and the order plans without drawing random numbers, so adding these
never changes the generated store. The ground truth (centra_sim/truth.py) reads the same builders, never the API.
"""

from __future__ import annotations

from collections.abc import Callable

from ..store.catalog import Catalog
from ..store.records import happened
from ..store.timeline import OrderPlan
from .resolvers import listing

# ---------------------------------------------------------------- attributes

MATERIALS = ["Cotton", "Wool", "Linen", "Recycled Polyester", "Leather", "Merino Wool"]
HEX = {
    "Black": "#000000",
    "Off White": "#F5F2EA",
    "Navy": "#1F2A44",
    "Olive": "#6B6B3A",
    "Sand": "#C8B79A",
    "Burgundy": "#6D1A36",
    "Grey Melange": "#9A9A9A",
    "Forest Green": "#2F4F3A",
}
COLOUR_FAMILIES = {  # colour -> (choice value, its name)
    "Black": ("dark", "Dark"),
    "Navy": ("dark", "Dark"),
    "Burgundy": ("dark", "Dark"),
    "Forest Green": ("dark", "Dark"),
    "Off White": ("light", "Light"),
    "Sand": ("light", "Light"),
    "Grey Melange": ("neutral", "Neutral"),
    "Olive": ("neutral", "Neutral"),
}
TIERS = [("a", "Tier A"), ("b", "Tier B"), ("c", "Tier C")]


def string_element(key: str, description: str, value: str | None) -> dict:
    return {
        "__typename": "AttributeStringElement",
        "key": key,
        "description": description,
        "kind": "INPUT",
        "value": value,
    }


def choice_element(key: str, description: str, value: str, name: str) -> dict:
    return {
        "__typename": "AttributeChoiceElement",
        "key": key,
        "description": description,
        "kind": "SELECT",
        "isMulti": False,
        "selectedValue": value,
        "selectedValueName": name,
    }


def attribute(type_name: str, description: str, object_type: str, mapped: bool, *elements: dict) -> dict:
    return {
        "type": {"name": type_name, "isMapped": mapped},
        "description": description,
        "objectType": object_type,
        "elements": list(elements),
    }


def product_attributes(product: dict) -> list[dict]:
    collection = product["collection"]
    return [
        attribute(
            "pr_season",
            "Season",
            "Product",
            False,
            choice_element("season", "Season", str(collection["id"]), collection["name"]),
        ),
        attribute(
            "pr_materials",
            "Product materials",
            "Product",
            True,
            string_element("text", "Material description", MATERIALS[product["id"] % len(MATERIALS)]),
        ),
    ]


def variant_attributes(variant: dict) -> list[dict]:
    colour = variant["name"]
    family, family_name = COLOUR_FAMILIES.get(colour, ("neutral", "Neutral"))
    return [
        attribute(
            "sh_swatch",
            "Showroom Color Swatch",
            "ProductVariant",
            True,
            string_element("desc", "Color", colour),
            string_element("hex", "Hex", HEX.get(colour, "#808080")),
        ),
        attribute(
            "var_colour_family",
            "Colour family",
            "ProductVariant",
            False,
            choice_element("family", "Colour family", family, family_name),
        ),
    ]


def order_attributes(o: OrderPlan) -> list[dict]:
    if o.wholesale:
        return [
            attribute("or_channel", "Sales channel", "Order", False, string_element("channel", "Channel", "showroom"))
        ]
    gift = o.number % 7 == 0
    return [
        attribute(
            "or_channel",
            "Sales channel",
            "Order",
            False,
            string_element("channel", "Channel", "app" if o.number % 3 == 0 else "web"),
        ),
        attribute(
            "or_gift_wrap",
            "Gift wrap",
            "Order",
            False,
            choice_element("gift_wrap", "Gift wrap", "1" if gift else "0", "Yes" if gift else "No"),
        ),
    ]


def customer_attributes(customer_id: int) -> list[dict]:
    subscribed = customer_id % 3 != 0
    return [
        attribute(
            "cu_newsletter",
            "Newsletter",
            "Customer",
            False,
            choice_element(
                "newsletter", "Newsletter", "1" if subscribed else "0", "Subscribed" if subscribed else "Not subscribed"
            ),
        )
    ]


def account_attributes(account: dict) -> list[dict]:
    value, name = TIERS[account["id"] % len(TIERS)]
    return [attribute("ac_tier", "Account tier", "Account", False, choice_element("tier", "Tier", value, name))]


def attribute_rows(attributes: list[dict]) -> list[dict]:
    """(type, key, value, selected value, its name) per element, for the ground truth."""
    return [
        {
            "attribute_type": a["type"]["name"],
            "element_key": e["key"],
            "value": e.get("value"),
            "selected_value": e.get("selectedValue"),
            "selected_value_name": e.get("selectedValueName"),
        }
        for a in attributes
        for e in a["elements"]
    ]


# ---------------------------------------------------------------- product master data and the supply map

# Countries of origin by supplier (Porto, Izmir, Guangzhou): catalog.COUNTRIES holds them.
ORIGIN_BY_SUPPLIER = {1: "PT", 2: "TR", 3: "CN"}


def country_of_origin(cat: Catalog, product: dict) -> dict:
    return cat.countries[ORIGIN_BY_SUPPLIER[product["_supplier"]]]


def supplier_of(cat: Catalog, variant: dict) -> dict:
    """Each variant comes from its product's supplier, the one its purchase orders go to."""
    return cat.suppliers[variant["product"]["_supplier"] - 1]


def is_bundle(product: dict) -> bool:
    return product["id"] % 24 == 0  # a few gift sets


# ---------------------------------------------------------------- orders and shipments

STORE_PLUGINS = {
    False: {"id": 1, "name": "PostNord Shipping", "status": "ACTIVE"},
    True: {"id": 2, "name": "DHL Freight", "status": "ACTIVE"},
}
SHIPPING_COST_SEK_PER_PACKAGE = 45.0  # what the carrier charges the brand


def internal_shipping_cost(o: OrderPlan, packages: int) -> float:
    """The carrier's charge, in the order's currency (at the order's rate to the base currency, SEK)."""
    return round(SHIPPING_COST_SEK_PER_PACKAGE * packages / o.rate, 2)


def shipment_totals(shipment, _args, ctx):
    rec, o = ctx.sim.records, shipment["_plan"]
    a = rec.amounts(o)
    return {
        "shipping": rec.money(o, a["shipping"]),
        "discounts": rec.money(o, a["discount"]),
        "taxAdded": rec.money(o, 0.0),
    }


def shipment_internal_cost(shipment, _args, ctx):
    o = shipment["_plan"]
    return ctx.sim.records.money(o, internal_shipping_cost(o, shipment["numberOfPackages"]))


def return_tracking_number(shipment, _args, _ctx):
    o = shipment["_plan"]
    return f"R{o.number:012d}" if happened(o.return_created, shipment["_t"]) else None


# ---------------------------------------------------------------- stock changes (deliveries into stock)


def stock_change_lines(cat: Catalog, timeline, t: float) -> list[dict]:
    """One stock change per delivery inserted into stock by `t`, one line per delivery line: the delivered
    quantity at the delivery's unit cost, in the purchase order's currency."""
    out = []
    for po in timeline.purchase_orders_until(t):
        currency = cat.currencies[po["currency"]]
        warehouse = cat.warehouses[po["warehouse"] - 1]
        for d in po["deliveries"]:
            if d["inserted"] > t:
                continue
            change = {
                "id": d["id"],
                "createdAt": d["inserted"],
                "comment": f"Delivery {d['number']}",
                "type": "DELIVERY",
                "warehouse": warehouse,
                "lines": [],
            }
            for i, line in enumerate(d["lines"], 1):
                change["lines"].append(
                    {
                        "id": d["id"] * 1000 + i,
                        "createdAt": d["inserted"],
                        "deliveredQuantity": line["quantity"],
                        "unitCost": {
                            "value": line["unitCost"],
                            "currency": currency,
                            "conversionRate": currency["_rate"],
                        },
                        "currencyBaseRate": currency["_rate"],
                        "productSize": cat.size_by_id[line["size"]],
                        "warehouse": warehouse,
                        "stockChange": change,
                    }
                )
            out.extend(change["lines"])
    return out


def _stock_change_lines(ctx) -> list[dict]:
    return stock_change_lines(ctx.sim.catalog, ctx.sim.timeline, ctx.t)


# ---------------------------------------------------------------- wiring

ROOTS: dict[str, Callable] = {
    "stockChangeLines": listing(
        _stock_change_lines,
        {"warehouseId": lambda r: r["warehouse"]["id"], "productSizeId": lambda r: r["productSize"]["id"]},
    ),
}
FIELDS: dict[str, Callable] = {
    "Product.attributes": lambda p, _a, _c: product_attributes(p),
    "Product.isBundle": lambda p, _a, _c: is_bundle(p),
    "Product.countryOfOrigin": lambda p, _a, ctx: country_of_origin(ctx.sim.catalog, p),
    "ProductVariant.attributes": lambda v, _a, _c: variant_attributes(v),
    "ProductVariant.supply": lambda v, _a, ctx: {"supplier": supplier_of(ctx.sim.catalog, v)},
    "Customer.attributes": lambda c, _a, _c: customer_attributes(c["id"]),
    "Customer.totalOrders": lambda c, _a, ctx: ctx.sim.timeline.total_orders(c["id"], ctx.t),
    "Account.attributes": lambda a, _a, _c: account_attributes(a),
    "Order.attributes": lambda o, _a, _c: order_attributes(o["_plan"]),
    "Order.allocationRule": lambda o, _a, _c: o["_plan"].market["allocationRule"],
    "Shipment.shipmentPlugin": lambda s, _a, _c: STORE_PLUGINS[s["_plan"].wholesale],
    "Shipment.internalShippingCost": shipment_internal_cost,
    "Shipment.returnTrackingNumber": return_tracking_number,
    "Shipment.totals": shipment_totals,
    "OrderLineAllocation.stockChangeLine": lambda _a, _args, _c: None,  # allocations move no stock here
}
