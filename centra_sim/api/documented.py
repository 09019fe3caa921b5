"""Roots and fields that Centra's documented example queries read beyond what the project syncs.

Display texts, product master data (weight, attributes, translations), folders, size charts, languages,
mapped attributes, delivery windows, a price alteration, wholesale account terms and order channel data.
Everything is derived from the catalogue without drawing random numbers, so adding these never changes
the generated store. Values are plausible, not Centra's: a field with no data here answers null or [].
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from graphql import GraphQLError

from ..store.catalog import DAY, SIZE_CHARTS, Catalog
from .analyst import MATERIALS, string_element
from .resolvers import MAX_LIMIT, by_id, listing, ref, sort_records, where_predicate

LANGUAGES = [  # (id, name, languageCode, countryCode, isAvailableForLocalization); English is the default
    (1, "English", "en", None, False),
    (2, "Swedish", "sv", "SE", True),
    (3, "German", "de", "DE", True),
    (4, "French", "fr", "FR", True),
]
WEIGHT_BY_CHART = {"apparel": 0.4, "shoes": 1.1, "one": 0.2}


_BUILT: dict[int, tuple[Catalog, dict]] = {}


def _extras(cat: Catalog) -> dict:
    """Everything built once per catalogue (a catalogue is immutable after its build)."""
    built = _BUILT.get(id(cat))
    if built is None or built[0] is not cat:
        built = _BUILT[id(cat)] = (cat, _build(cat))
    return built[1]


def _build(cat: Catalog) -> dict:
    chart_of = {name: chart for chart, names in SIZE_CHARTS.items() for name in names}
    charts: dict[str, list] = {c: [] for c in SIZE_CHARTS}
    for size in sorted({s["size"]["id"]: s["size"] for s in cat.sizes}.values(), key=lambda s: s["id"]):
        charts[chart_of[size["name"]]].append(size)
    size_charts = [{"id": i, "name": name.title(), "sizes": sizes} for i, (name, sizes) in enumerate(charts.items(), 1)]
    languages = [
        {
            "id": i,
            "name": n,
            "code": lc,  # Centra's Language page: `code` is String!, languageCode (ISO-639) may be null
            "languageCode": lc,
            "languageName": n,
            "countryCode": cc,
            "isActive": True,
            "isAvailableForLocalization": a,
            "isAvailableForTranslation": a,
            "countries": [c for c in cat.countries.values() if c["code"] == cc],
        }
        for i, n, lc, cc, a in LANGUAGES
    ]
    folders, ids = [], iter(range(1, 1000))
    for top in (c for c in cat.categories if c["isTopCategory"]):
        children = [
            {"id": 0, "name": child["name"], "isTopFolder": False, "childFolders": [], "_category": child}
            for child in top["childCategories"]
        ]
        folder = {"id": next(ids), "name": top["name"], "isTopFolder": True, "childFolders": children, "products": []}
        folders.append(folder)
        for child in children:
            child["id"] = next(ids)
            child["products"] = [p for p in cat.products if p["_categories"][-1] is child["_category"]]
            folders.append(child)
    mapped = [
        {
            "id": i,
            "name": m,
            "description": "Product materials",
            "objectType": "Product",
            "type": {"name": "pr_materials", "isMapped": True},
            "elements": [string_element("text", "Material description", m)],
        }
        for i, m in enumerate(MATERIALS, 1)
    ]
    wholesale = [m for m in cat.markets if m["store"]["type"] == "WHOLESALE"]
    preorder_variants = [v for v in cat.variants if v["product"]["collection"]["name"] == "Spring Summer"]
    windows = [
        {
            "__typename": "AtOnceDeliveryWindow",
            "id": 1,
            "name": "At once",
            "daysFromNow": 3,
            "selectableDate": False,
            "defaultVariantDeliveryType": "STOCK",
            "deliveryWindowVariants": [],
        },
        {
            "__typename": "PreorderDeliveryWindow",
            "id": 2,
            "name": "Spring Summer preorder",
            "allocationOrder": "FIFO",
            "salesStartDate": cat.start - 60 * DAY,
            "salesEndDate": cat.start + 30 * DAY,
            "deliveryStartDate": cat.start + 60 * DAY,
            "deliveryEndDate": cat.start + 90 * DAY,
            "defaultVariantDeliveryType": "PREORDER",
            "deliveryWindowVariants": [
                {
                    "type": "PREORDER",
                    "limit": {"value": 200, "on": "quantity", "type": "HIGH"},
                    "product": v["product"],
                    "productVariant": v,
                }
                for v in preorder_variants
            ],
        },
    ]
    for w in windows:
        w.update(
            status="ACTIVE",
            markets=wholesale,
            campaigns=[],
            allocationRule=wholesale[0]["allocationRule"],
            deliveryDatesVisible=True,
            selectableByBuyers=True,
            selectedByDefault=w["id"] == 1,
        )
    d2c_lists = {p["id"] for p in cat.pricelists if p["store"]["type"] == "DIRECT_TO_CONSUMER"}
    alteration = {
        "id": 1,
        "name": "Archive markdown",
        "startDate": cat.start - 30 * DAY,
        "status": "ACTIVE",
        "store": cat.stores[0],
        "_prices": [
            {**p, "id": 100_000 + p["id"], "price": {**p["price"], "value": round(p["price"]["value"] * 0.7, 2)}}
            for p in cat.prices
            if p["pricelist"]["id"] in d2c_lists and p["product"]["collection"]["name"] == "Archive"
        ],
    }
    return {
        "size_charts": size_charts,
        "languages": languages,
        "folders": folders,
        "mapped": mapped,
        "windows": windows,
        "alterations": [alteration],
        "d2c_prices": {
            pid: [p for p in cat.prices if p["product"]["id"] == pid and p["pricelist"]["id"] in d2c_lists]
            for pid in {p["id"] for p in cat.products}
        },
    }


def _of(name: str) -> Callable:
    return lambda ctx: _extras(ctx.sim.catalog)[name]


# ---------------------------------------------------------------- products, variants, sizes


def _category(product: dict) -> dict:
    return product["_categories"][-1]


def product_folder(cat: Catalog, product: dict) -> dict:
    """The folder of the product's category (folders mirror the category tree here)."""
    return next(f for f in _extras(cat)["folders"] if product in f["products"])


def product_weight(product: dict) -> dict:
    chart = (
        "shoes"
        if _category(product)["name"] == "Shoes"
        else "one"
        if _category(product)["name"] == "Accessories"
        else "apparel"
    )
    value = round(WEIGHT_BY_CHART[chart] + (product["id"] % 5) * 0.05, 3)
    return {"value": value, "unit": "KILOGRAMS", "formattedValue": f"{value:.3f} kg"}


def localized(fields: tuple[str, ...]) -> Callable:
    """Translations into each localization language: the text with a language tag (a stand-in translation)."""

    def resolve(obj, _args, ctx):
        texts = {f: _text(obj, f) for f in fields}
        return [
            {
                "language": lang,
                "translations": [
                    {"field": f, "value": f"{v} [{lang['languageCode']}]" if v else v} for f, v in texts.items()
                ],
            }
            for lang in _extras(ctx.sim.catalog)["languages"]
            if lang["isAvailableForLocalization"]
        ]

    return resolve


def translations(fields: tuple[str, ...]) -> Callable:
    """Centra's ObjectWithTranslations.translations: the same stand-in texts as `localized`, one entry per
    translation language, filtered by language code and field name, empty values skipped unless asked for."""
    inner = localized(fields)

    def resolve(obj, args, ctx):
        where = args.get("where") or {}
        codes, field_filter = where.get("languageCode"), where.get("fields") or {}
        skip_empty = field_filter.get("skipEmpty", True) is not False
        keep = where_predicate({"field": field_filter["field"]} if field_filter.get("field") else None, {})
        return [
            {
                "language": entry["language"],
                "fields": [
                    t for t in entry["translations"] if (t["value"] or not skip_empty) and (keep is None or keep(t))
                ],
            }
            for entry in inner(obj, args, ctx)
            if codes is None or entry["language"]["code"] in codes
        ]

    return resolve


def _text(obj: dict, field: str):
    return display_description(obj) if field == "description" else obj.get(field)


def counters_products(_obj, args, ctx):
    pred = where_predicate(args.get("where"), ref)
    return sum(1 for p in ctx.sim.catalog.products if p["createdAt"] <= ctx.t and (pred is None or pred(p)))


# ---------------------------------------------------------------- displays


def display_description(display: dict) -> str:
    p = display["product"]
    return f"{p['name']} by {p['brand']['name']}, in {', '.join(v['name'] for v in p['variants'])}."


def display_prices(display, _args, ctx):
    return _extras(ctx.sim.catalog)["d2c_prices"][display["product"]["id"]]


def _cursor(display_id: int) -> str:
    return base64.b64encode(f"id:{display_id}".encode()).decode()


def display_connection(_obj, args, ctx):
    """Relay pagination over displays, forwards (first/after) only; cursors are base64 'id:<n>'."""
    if args.get("last") is not None or args.get("before"):
        raise GraphQLError("Backward pagination of displays is not supported by the simulator")
    size = args.get("first") or 20
    if not 1 <= size <= MAX_LIMIT:
        raise GraphQLError(f"Limit must be in range 1 - {MAX_LIMIT}")
    items = _all_displays(ctx, args)
    if args.get("after"):
        after = args["after"]
        start = next((i + 1 for i, d in enumerate(items) if _cursor(d["id"]) == after), None)
        if start is None:
            raise GraphQLError(f"Invalid cursor: {after}")
        items, has_prev = items[start:], True
    else:
        has_prev = False
    window = items[:size]
    edges = [{"cursor": _cursor(d["id"]), "node": d} for d in window]
    return {
        "totalCount": len(_all_displays(ctx, {"where": args.get("where")})),
        "edges": edges,
        "pageInfo": {
            "hasNextPage": len(items) > size,
            "hasPreviousPage": has_prev,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _all_displays(ctx, args: dict) -> list:
    pred = where_predicate(args.get("where"), DISPLAY_ACCESSORS)
    items = [d for d in ctx.sim.catalog.displays if d["_createdAt"] <= ctx.t and (pred is None or pred(d))]
    return sort_records(items, args.get("sort") or ["id_ASC"], {})


DISPLAY_ACCESSORS = {
    "productId": lambda r: r["product"]["id"],
    "marketId": lambda r: frozenset(m["id"] for m in r["markets"]),
}


# ---------------------------------------------------------------- orders and accounts


def payment_method(order, _args, _ctx):
    if order["_plan"].wholesale:
        return {"name": "Invoice", "uri": "invoice", "plugin": "invoice"}
    return {"name": "Klarna Checkout", "uri": "klarna-checkout", "plugin": "klarna_checkout_v3"}


def shipping_price_group(order, _args, _ctx):
    market = order["_plan"].market
    return {
        "shippingOption": {"id": market["id"], "name": f"Standard {market['name']}", "uri": f"standard-{market['id']}"}
    }


def order_delivery_windows(order, _args, ctx):
    return [_extras(ctx.sim.catalog)["windows"][0]]


def _account_field(make: Callable) -> Callable:
    return lambda account, _args, _ctx: make(account)


ACCOUNT_FIELDS = {
    "salesRepresentative": lambda a: {
        "id": 1 + a["id"] % 2,
        "name": ("Karin Ek", "Jonas Berg")[a["id"] % 2],
        "email": ("karin.ek", "jonas.berg")[a["id"] % 2] + "@nordvik.example",
        "commissionPercent": 5.0,
    },
    "paymentTerms": lambda a: {"id": 1 + a["id"] % 2, "description": ("30 days net", "60 days net")[a["id"] % 2]},
    "shippingTerms": lambda a: {"id": 1, "description": "DAP"},
    "carrierInformation": lambda a: {
        "carrierName": "DHL",
        "serviceName": "DHL Freight",
        "accountIdentifier": f"DHL-{a['id']:05d}",
        "taxId": None,
    },
    "websiteUrl": lambda a: f"https://www.{''.join(ch for ch in a['name'].lower() if ch.isalnum())}.example",
}
US_STATES = [{"id": 1, "name": "New York", "code": "NY"}, {"id": 2, "name": "California", "code": "CA"}]


ROOTS: dict[str, Callable] = {
    "productVariant": by_id(lambda ctx: ctx.sim.catalog.variants),
    "displayConnection": display_connection,
    "counters": lambda _obj, _args, _ctx: {},
    "folders": listing(_of("folders")),
    "sizeCharts": listing(_of("size_charts")),
    "languages": listing(_of("languages")),
    "mappedAttributes": listing(_of("mapped"), {"typeName": lambda r: r["type"]["name"]}),
    "deliveryWindows": listing(_of("windows")),
    "priceAlteration": by_id(_of("alterations")),
}
FIELDS: dict[str, Callable] = {
    "Counters.products": counters_products,
    "Product.harmonizedCommodityCodeDescription": lambda p, _a, _c: f"{_category(p)['name']}, textile",
    "Product.isSerializableProduct": lambda _p, _a, _c: False,
    "Product.weight": lambda p, _a, _c: product_weight(p),
    "Product.folder": lambda p, _a, ctx: product_folder(ctx.sim.catalog, p),
    "Product.localized": localized(("name",)),
    "Product.translations": translations(("name",)),
    "ProductVariant.internalName": lambda v, _a, _c: (
        f"{v['product']['productNumber']}-{v['variantNumber']} {v['name']}"
    ),
    "ProductVariant.localized": localized(("name",)),
    "ProductVariant.translations": translations(("name",)),
    "ProductSize.GTIN": lambda s, _a, _c: s["EAN"],
    "ProductSize.weight": lambda s, _a, _c: product_weight(s["product"]),
    "Display.description": lambda d, _a, _c: display_description(d),
    "Display.shortDescription": lambda d, _a, _c: d["name"],
    "Display.metaTitle": lambda d, _a, _c: f"{d['name']} | {d['product']['brand']['name']}",
    "Display.metaDescription": lambda d, _a, _c: display_description(d),
    "Display.metaKeywords": lambda d, _a, _c: ", ".join(d["name"].lower().split()),
    "Display.tags": lambda _d, _a, _c: [],
    "Display.minimumOrderQuantity": lambda _d, _a, _c: 1,
    "Display.orderQuantityDenominator": lambda _d, _a, _c: 1,
    "Display.displayItems": lambda d, _a, _c: [{"id": v["id"], "productVariant": v} for v in d["productVariants"]],
    "Display.prices": display_prices,
    "Display.campaignVariants": lambda _d, _a, _c: [],
    "Display.related": lambda _d, _a, _c: [],
    "Display.taxGroup": lambda _d, _a, _c: {"id": 1, "name": "Standard rate"},
    "Display.localized": localized(("name", "description")),
    "Display.translations": translations(("name", "description")),
    "Language.name": lambda lang, _a, _c: lang["name"],
    "Category.metaDescription": lambda c, _a, _c: f"Shop {c['name'].lower()} at Nordvik.",
    "PriceAlteration.prices": lambda pa, args, _c: [
        p for p in pa["_prices"] if (pred := where_predicate(args.get("where"), ref)) is None or pred(p)
    ],
    "Order.paymentMethod": payment_method,
    "Order.shippingPriceGroup": shipping_price_group,
    "WholesaleOrder.deliveryWindows": order_delivery_windows,
    "Country.states": lambda c, _a, _ctx: US_STATES if c["code"] == "US" else [],
    **{f"Account.{k}": _account_field(f) for k, f in ACCOUNT_FIELDS.items()},
}
