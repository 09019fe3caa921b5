"""Reference data and catalogue of the simulated fashion brand, built once from the seed.

Records are plain dicts shaped like the GraphQL output types (so the executor reads them directly);
keys starting with ``_`` are internal and never part of the schema. Timestamps are epoch seconds.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field

DAY = 86_400.0

# code, name, SEK per unit (the base currency is SEK), shipping fee, free-shipping threshold
CURRENCIES = [
    ("SEK", "Swedish krona", 1.0, 49.0, 1000.0),
    ("EUR", "Euro", 11.45, 5.95, 90.0),
    ("USD", "US dollar", 10.62, 6.95, 100.0),
    ("GBP", "Pound sterling", 13.31, 4.95, 75.0),
    ("DKK", "Danish krone", 1.535, 39.0, 700.0),
]
# code, name, continent, isEU, VAT percent (prices include VAT, except the US)
COUNTRIES = [
    ("SE", "Sweden", "Europe", True, 25.0),
    ("DK", "Denmark", "Europe", True, 25.0),
    ("FI", "Finland", "Europe", True, 25.5),
    ("DE", "Germany", "Europe", True, 19.0),
    ("FR", "France", "Europe", True, 20.0),
    ("NL", "Netherlands", "Europe", True, 21.0),
    ("GB", "United Kingdom", "Europe", False, 20.0),
    ("US", "United States", "North America", False, 0.0),
    ("NO", "Norway", "Europe", False, 25.0),
    # countries of origin only (no market sells there)
    ("PT", "Portugal", "Europe", True, 23.0),
    ("TR", "Turkey", "Asia", False, 20.0),
    ("CN", "China", "Asia", False, 13.0),
]
CITIES = {
    "SE": "Stockholm",
    "DK": "Copenhagen",
    "FI": "Helsinki",
    "DE": "Berlin",
    "FR": "Paris",
    "NL": "Amsterdam",
    "GB": "London",
    "US": "New York",
    "NO": "Oslo",
}
# id, name, store id, currency, countries, warehouse priority, share of the store's orders
MARKETS = [
    (1, "Sweden", 1, "SEK", ["SE"], [1, 2], 0.34),
    (2, "Europe", 1, "EUR", ["DE", "FR", "NL", "FI"], [2, 1], 0.26),
    (3, "United Kingdom", 1, "GBP", ["GB"], [2, 1], 0.12),
    (4, "United States", 1, "USD", ["US"], [3], 0.16),
    (5, "Denmark", 1, "DKK", ["DK"], [1, 2], 0.12),
    (6, "Wholesale Europe", 2, "EUR", ["DE", "FR", "NL", "GB"], [2], 0.6),
    (7, "Wholesale Nordics", 2, "SEK", ["SE", "DK", "FI", "NO"], [1], 0.4),
]
WAREHOUSES = [
    (1, "Stockholm Main", "SE"),
    (2, "Berlin 3PL", "DE"),
    (3, "New Jersey 3PL", "US"),
    (4, "Stockholm Flagship Store", "SE"),
]
BRANDS = [(1, "Nordvik"), (2, "Nordvik Studio"), (3, "Field & Fjord")]
COLLECTIONS = [(1, "Core"), (2, "Spring Summer"), (3, "Autumn Winter"), (4, "Archive")]
TOP_CATEGORIES = {
    "Women": ["Tops", "Knitwear", "Trousers", "Outerwear", "Shoes", "Accessories"],
    "Men": ["Tops", "Knitwear", "Trousers", "Outerwear", "Shoes", "Accessories"],
}
GARMENTS = {
    "Tops": (["T-Shirt", "Shirt", "Polo", "Tank Top", "Blouse"], "apparel", (299, 899)),
    "Knitwear": (["Sweater", "Cardigan", "Turtleneck", "Vest"], "apparel", (899, 1999)),
    "Trousers": (["Jeans", "Chinos", "Trousers", "Shorts"], "apparel", (699, 1499)),
    "Outerwear": (["Parka", "Trench Coat", "Jacket", "Puffer"], "apparel", (1999, 4999)),
    "Shoes": (["Sneaker", "Boot", "Loafer"], "shoes", (1199, 2999)),
    "Accessories": (["Scarf", "Beanie", "Tote Bag", "Belt", "Cap"], "one", (199, 799)),
}
SIZE_CHARTS = {
    "apparel": ["XS", "S", "M", "L", "XL"],
    "shoes": ["38", "39", "40", "41", "42", "43", "44", "45"],
    "one": ["One Size"],
}
STYLES = ["Relaxed", "Classic", "Merino", "Organic", "Heavy", "Cropped", "Oversized", "Essential"]
COLOURS = ["Black", "Off White", "Navy", "Olive", "Sand", "Burgundy", "Grey Melange", "Forest Green"]
DISPLAY_ID_OFFSET = 100  # display ids differ from product ids, so a mix-up shows
SUPPLIERS = [(1, "Porto Knit Mills"), (2, "Izmir Denim Works"), (3, "Guangzhou Outerwear Co")]
FIRST_NAMES = [
    "Alice",
    "Oscar",
    "Maja",
    "Liam",
    "Elsa",
    "Hugo",
    "Wilma",
    "Noah",
    "Ebba",
    "Lucas",
    "Clara",
    "Leo",
    "Freja",
    "Emil",
    "Alma",
    "Theo",
    "Sofia",
    "Felix",
    "Agnes",
    "Axel",
    "Ines",
    "Jonas",
]
LAST_NAMES = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Schmidt",
    "Dubois",
    "de Vries",
    "Smith",
    "Jensen",
    "Virtanen",
    "Berg",
    "Lindqvist",
    "Müller",
    "Martin",
    "Hansen",
    "Brown",
]


def price_in(sek_price: float, currency: str) -> float:
    """A list price in another currency, rounded the way fashion brands price (x9.95 or x9)."""
    rate = next(c[2] for c in CURRENCIES if c[0] == currency)
    raw = sek_price / rate
    if raw < 50:
        return round(raw) - 0.05
    return float(round(raw / 10) * 10 - 1)


def ean13(rng: random.Random) -> str:
    digits = [7, 3, 5] + [rng.randrange(10) for _ in range(9)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits + [check]))


def money(value: float, currency: dict, rate: float) -> dict:
    return {"value": round(value, 2), "currency": currency, "conversionRate": rate}


@dataclass
class Catalog:
    """Everything that is not an order: reference data, catalogue, prices, accounts, initial stock."""

    seed: int
    start: float  # epoch seconds of the first day's midnight in the store timezone
    currencies: dict = field(default_factory=dict)  # code -> record
    countries: dict = field(default_factory=dict)  # code -> record
    stores: list = field(default_factory=list)
    markets: list = field(default_factory=list)
    pricelists: list = field(default_factory=list)
    warehouses: list = field(default_factory=list)
    brands: list = field(default_factory=list)
    collections: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    displays: list = field(default_factory=list)
    allocation_rules: list = field(default_factory=list)
    products: list = field(default_factory=list)
    variants: list = field(default_factory=list)
    sizes: list = field(default_factory=list)
    prices: list = field(default_factory=list)
    campaigns: list = field(default_factory=list)
    vouchers: list = field(default_factory=list)
    suppliers: list = field(default_factory=list)
    accounts: list = field(default_factory=list)
    buyers: list = field(default_factory=list)
    initial_stock: dict = field(default_factory=dict)  # (size id, warehouse id) -> units

    def __post_init__(self) -> None:
        rng = random.Random(f"{self.seed}:catalog")
        before = self.start - 400 * DAY  # the catalogue predates the simulated history
        for i, (code, name, rate, _, _) in enumerate(CURRENCIES, 1):
            self.currencies[code] = {
                "id": i,
                "code": code,
                "name": name,
                "isBase": code == "SEK",  # read by the isBase filter only
                "_rate": rate,
            }
        for i, (code, name, continent, is_eu, vat) in enumerate(COUNTRIES, 1):
            self.countries[code] = {
                "id": i,
                "code": code,
                "name": name,
                "continent": continent,
                "isEU": is_eu,
                "_vat": vat,
            }
        self.stores = [
            {"id": 1, "name": "Nordvik Retail", "type": "DIRECT_TO_CONSUMER"},
            {"id": 2, "name": "Nordvik Wholesale", "type": "WHOLESALE"},
        ]
        self.warehouses = [
            {"id": i, "name": n, "status": "ACTIVE", "country": self.countries[c]} for i, n, c in WAREHOUSES
        ]
        rules: dict[tuple, dict] = {}
        for mid, name, sid, cur, countries, wh, share in MARKETS:
            store = self.stores[sid - 1]
            rule = rules.get(tuple(wh))
            if rule is None:
                names = " then ".join(WAREHOUSES[w - 1][1] for w in wh)
                rule = rules[tuple(wh)] = {"id": len(rules) + 1, "name": f"Allocate from {names}"}
                self.allocation_rules.append(rule)
            pricelist = {
                "id": mid,
                "name": f"{name} {cur}",
                "status": "ACTIVE",
                "currency": self.currencies[cur],
                "store": store,
                "assignedToCountries": [self.countries[c] for c in countries],
            }
            self.pricelists.append(pricelist)
            self.markets.append(
                {
                    "id": mid,
                    "name": name,
                    "comment": f"Internal: {name} market",
                    "store": store,
                    "assignedToCountries": pricelist["assignedToCountries"],
                    "pricelist": pricelist,  # internal: orders use the market's pricelist
                    "allocationRule": rule,
                    "campaigns": [],
                    "displays": [],
                    "_currency": cur,
                    "_warehouses": wh,
                    "_share": share,
                    "_countries": countries,
                }
            )
        self.brands = [{"id": i, "name": n} for i, n in BRANDS]
        self.collections = [
            {"id": i, "name": n, "status": "INACTIVE" if n == "Archive" else "ACTIVE"} for i, n in COLLECTIONS
        ]
        self.suppliers = [{"id": i, "name": n, "status": "ACTIVE"} for i, n in SUPPLIERS]
        self._build_categories()
        self._build_products(rng, before)
        self._build_promotions(rng)
        self._build_accounts(rng, before)
        self._build_initial_stock(rng)

    # -- catalogue ---------------------------------------------------------------------------------
    def _build_categories(self) -> None:
        ids = itertools.count(1)
        for top, children in TOP_CATEGORIES.items():
            parent = {
                "id": next(ids),
                "name": top,
                "uri": top.lower(),
                "isTopCategory": True,
                "parentCategory": None,
                "childCategories": [],
            }
            self.categories.append(parent)
            for child in children:
                rec = {
                    "id": next(ids),
                    "name": child,
                    "uri": f"{top.lower()}/{child.lower()}",
                    "isTopCategory": False,
                    "parentCategory": parent,
                    "childCategories": [],
                }
                parent["childCategories"].append(rec)
                self.categories.append(rec)

    def _build_products(self, rng: random.Random, before: float) -> None:
        size_ids = itertools.count(1)
        size_records: dict[str, dict] = {}
        variant_id = itertools.count(1)
        leaves = [c for c in self.categories if not c["isTopCategory"]]
        for pid in range(1, 73):
            category = leaves[(pid - 1) % len(leaves)]
            names, chart, (low, high) = GARMENTS[category["name"]]
            garment = names[rng.randrange(len(names))]
            brand = self.brands[0 if pid % 5 else (1 if pid % 2 else 2)]
            collection = self.collections[rng.choice([0, 0, 1, 2, 3])]
            created = before + rng.uniform(0, 300) * DAY
            status = "ACTIVE" if collection["status"] == "ACTIVE" or rng.random() < 0.5 else "INACTIVE"
            product = {
                "id": pid,
                "name": f"{rng.choice(STYLES)} {garment}",
                "status": status,
                "productNumber": f"NV{pid:04d}",
                "createdAt": created,
                "updatedAt": created + rng.uniform(1, 60) * DAY,
                "internalComment": f"Margin review {2020 + pid % 5}",
                "harmonizedCommodityCode": f"6{rng.randrange(10**7):07d}",
                "brand": brand,
                "collection": collection,
                "_categories": [category["parentCategory"], category],
                "displays": [],
                "variants": [],
                "media": [],
                "_sek_price": float(round(rng.uniform(low, high) / 100) * 100 - 1),
                "_supplier": 1 + pid % 3,
            }
            self.products.append(product)
            for vn, colour in enumerate(rng.sample(COLOURS, rng.choice([1, 2, 2, 3])), 1):
                vid = next(variant_id)
                variant = {
                    "id": vid,
                    "name": colour,
                    "status": "ACTIVE" if status == "ACTIVE" else "INACTIVE",
                    "variantNumber": f"{vn:02d}",
                    "updatedAt": product["updatedAt"],
                    "unitCost": money(product["_sek_price"] * 0.28, self.currencies["SEK"], 1.0),
                    "product": product,
                    "productSizes": [],
                    "media": [{"id": vid, "_path": f"{product['productNumber']}-{vn:02d}"}],
                    "_popularity": rng.paretovariate(1.6) if status == "ACTIVE" else 0.0,
                }
                product["variants"].append(variant)
                product["media"].extend(variant["media"])
                self.variants.append(variant)
                for sn, size_name in enumerate(SIZE_CHARTS[chart], 1):
                    size = size_records.setdefault(
                        f"{chart}|{size_name}", {"id": len(size_records) + 1, "name": size_name}
                    )
                    sid = next(size_ids)
                    rec = {
                        "id": sid,
                        "SKU": f"{product['productNumber']}{variant['variantNumber']}{sn:02d}",
                        "EAN": ean13(rng),
                        "sizeNumber": f"{sn:02d}",
                        "description": size_name,
                        "isActive": True,
                        "preorder": False,
                        "updatedAt": product["updatedAt"],
                        "size": size,
                        "productVariant": variant,
                        "product": product,
                        "_weight": 1.6 if size_name in ("M", "L", "41", "42", "One Size") else 1.0,
                    }
                    variant["productSizes"].append(rec)
                    self.sizes.append(rec)
        self._build_displays()
        price_id = itertools.count(1)
        for variant in self.variants:
            sek = variant["product"]["_sek_price"]
            for pricelist in self.pricelists:
                cur = pricelist["currency"]["code"]
                list_price = (
                    price_in(sek, cur)
                    if pricelist["store"]["type"] == "DIRECT_TO_CONSUMER"
                    else round(price_in(sek, cur) * 0.45, 2)
                )
                self.prices.append(
                    {
                        "id": next(price_id),
                        "price": money(list_price, pricelist["currency"], 1.0),
                        "recommendedRetailPrice": money(price_in(sek, cur), pricelist["currency"], 1.0),
                        "pricelist": pricelist,
                        "product": variant["product"],
                        "productVariant": variant,
                    }
                )
        self.price_of = {(p["productVariant"]["id"], p["pricelist"]["id"]): p["price"]["value"] for p in self.prices}
        # popularity-weighted sampling tables for order lines, per store type
        sellable = [v for v in self.variants if v["_popularity"] > 0]
        self.sellable = sellable
        self.sellable_cum = list(itertools.accumulate(v["_popularity"] for v in sellable))
        self.size_by_id = {s["id"]: s for s in self.sizes}

    def _build_displays(self) -> None:
        """One display per product in the direct-to-consumer store, in all its markets; the display carries
        the product's categories (top category first, which is also the canonical one)."""
        d2c = [m for m in self.markets if m["store"]["type"] == "DIRECT_TO_CONSUMER"]
        for product in self.products:
            slug = "-".join(product["name"].lower().split())
            display = {
                "id": DISPLAY_ID_OFFSET + product["id"],
                "name": product["name"],
                "status": "ACTIVE" if product["status"] == "ACTIVE" else "INACTIVE",
                "uri": f"{slug}-{product['productNumber'].lower()}",
                "updatedAt": product["updatedAt"],
                "product": product,
                "productVariants": product["variants"],
                "categories": product["_categories"],
                "canonicalCategory": product["_categories"][0],
                "markets": d2c,
                "store": self.stores[0],
                "media": product["media"],
                "_createdAt": product["createdAt"],
            }
            product["displays"].append(display)
            for market in d2c:
                market["displays"].append(display)
            self.displays.append(display)

    def _build_promotions(self, rng: random.Random) -> None:
        d2c = [m for m in self.markets if m["store"]["type"] == "DIRECT_TO_CONSUMER"]
        for cid, (name, first, last, pct, markets) in enumerate(
            [
                ("Mid Season Sale", 8, 15, 20.0, [1, 2, 5]),
                ("Black Week", 24, 31, 30.0, [1, 2, 3, 4, 5]),
                ("Spring Preview", 70, 74, 10.0, [1]),
            ],
            1,
        ):
            camp = {
                "id": cid,
                "name": name,
                "status": "ACTIVE",
                "startDate": self.start + first * DAY,
                "stopDate": self.start + last * DAY,
                "updatedAt": self.start - 3 * DAY,
                "discountPercent": pct,
                "markets": [self.markets[m - 1] for m in markets],
            }
            self.campaigns.append(camp)
            for m in camp["markets"]:
                m["campaigns"].append(camp)
        for vid, (name, code, pct) in enumerate(
            [
                ("Welcome 10", "WELCOME10", 10.0),
                ("Newsletter 15", "NEWS15", 15.0),
                ("Friends 20", "FRIENDS20", 20.0),
                ("Influencer 25", "NORDVIK25", 25.0),
                ("Staff 40", "STAFF40", 40.0),
            ],
            1,
        ):
            created = self.start - rng.uniform(30, 200) * DAY
            self.vouchers.append(
                {
                    "id": vid,
                    "name": name,
                    "code": code,
                    "status": "ACTIVE",
                    "method": "CODE",
                    "type": "PERCENT",
                    "discountPercent": pct,
                    "startAt": created,
                    "stopAt": None,
                    "createdAt": created,
                    "updatedAt": created + DAY,
                    "markets": d2c,
                    "store": self.stores[0],
                }
            )
        self.voucher_cum = list(itertools.accumulate([40, 25, 15, 15, 5]))

    def _build_accounts(self, rng: random.Random, before: float) -> None:
        wholesale = [m for m in self.markets if m["store"]["type"] == "WHOLESALE"]
        buyer_id = itertools.count(1)
        for aid, name in enumerate(
            [
                "Urban Outfitters Nordic",
                "Concept Store Berlin",
                "Le Bon Marché",
                "Selfridges",
                "NK Stockholm",
                "Magasin du Nord",
                "Stockmann",
                "De Bijenkorf",
                "Illum",
                "Åhléns",
            ],
            1,
        ):
            account = {
                "id": aid,
                "name": name,
                "status": "ACTIVE",
                "market": wholesale[aid % 2],
                "buyers": [],
                "createdAt": before + rng.uniform(0, 200) * DAY,
            }
            for _ in range(rng.choice([1, 2])):
                first = rng.choice(FIRST_NAMES)
                account["buyers"].append(
                    {
                        "id": next(buyer_id),
                        "email": f"{first.lower()}@{aid}.example.com",
                        "firstName": first,
                        "lastName": rng.choice(LAST_NAMES),
                        "account": account,
                    }
                )
            self.accounts.append(account)
            self.buyers.extend(account["buyers"])

    def _build_initial_stock(self, rng: random.Random) -> None:
        for size in self.sizes:
            pop = size["productVariant"]["_popularity"] * size["_weight"]
            for wh in (1, 2, 3):
                self.initial_stock[(size["id"], wh)] = int(40 + pop * rng.uniform(60, 140))
            self.initial_stock[(size["id"], 4)] = rng.randrange(0, 6)

    # -- helpers used by the timeline ----------------------------------------------------------------
    def pick_variant(self, rng: random.Random) -> dict:
        x = rng.random() * self.sellable_cum[-1]
        return self.sellable[bisect.bisect_right(self.sellable_cum, x)]

    def pick_voucher(self, rng: random.Random) -> dict:
        x = rng.random() * self.voucher_cum[-1]
        return self.vouchers[bisect.bisect_right(self.voucher_cum, x)]

    def campaign_pct(self, market_id: int, when: float) -> float:
        for camp in self.campaigns:
            if camp["startDate"] <= when < camp["stopDate"] and any(m["id"] == market_id for m in camp["markets"]):
                return camp["discountPercent"]
        return 0.0
