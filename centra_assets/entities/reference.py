"""Reference data: markets, pricelists, warehouses, stores, currencies (with base rates), countries, suppliers."""

from .spec import Table, boolean, col, f64, i64, listing

SPECS = (
    listing(
        "markets",
        "reference",
        "Centra markets as of the snapshot day.",
        "markets.graphql",
        "markets",
        Table(
            "markets",
            key=("market_id",),
            columns=(
                i64("market_id", "id"),
                col("name"),
                i64("store_id", "store.id"),
                i64("pricelist_id", "pricelist.id"),
            ),
        ),
        Table(
            "market_countries",
            key=("market_id", "country"),
            rows_at="assignedToCountries",
            parent_key="market_id",
            columns=(i64("market_id", "^id"), col("country", "code")),
        ),
    ),
    listing(
        "pricelists",
        "reference",
        "Centra pricelists as of the snapshot day.",
        "pricelists.graphql",
        "pricelists",
        Table(
            "pricelists",
            key=("pricelist_id",),
            columns=(
                i64("pricelist_id", "id"),
                col("name"),
                col("status"),
                col("currency", "currency.code"),
                i64("store_id", "store.id"),
            ),
        ),
    ),
    listing(
        "warehouses",
        "reference",
        "Centra warehouses as of the snapshot day.",
        "warehouses.graphql",
        "warehouses",
        Table(
            "warehouses",
            key=("warehouse_id",),
            columns=(i64("warehouse_id", "id"), col("name"), col("status"), col("country", "country.code")),
        ),
    ),
    listing(
        "stores",
        "reference",
        "Centra stores (D2C and wholesale) as of the snapshot day.",
        "stores.graphql",
        "stores",
        Table("stores", key=("store_id",), columns=(i64("store_id", "id"), col("name"), col("type"))),
    ),
    listing(
        "currencies",
        "reference",
        "Centra currencies with their rate to the base currency, as of the snapshot day.",
        "currencies.graphql",
        "currencies",
        Table(
            "currencies",
            key=("currency_id",),
            columns=(
                i64("currency_id", "id"),
                col("code"),
                col("name"),
                boolean("is_base", "isBase"),
                f64("base_currency_rate", "baseCurrencyRate"),
            ),
        ),
    ),
    listing(
        "countries",
        "reference",
        "Centra countries as of the snapshot day.",
        "countries.graphql",
        "countries",
        Table(
            "countries",
            key=("country_id",),
            columns=(i64("country_id", "id"), col("code"), col("name"), col("continent"), boolean("is_eu", "isEU")),
        ),
    ),
    listing(
        "suppliers",
        "reference",
        "Centra suppliers as of the snapshot day.",
        "suppliers.graphql",
        "suppliers",
        Table("suppliers", key=("supplier_id",), columns=(i64("supplier_id", "id"), col("name"), col("status"))),
    ),
)
