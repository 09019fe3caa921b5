"""Reference data: markets, pricelists, warehouses, stores, currencies, countries, suppliers."""

from .spec import Table, boolean, col, f64, i64, listing

SPECS = (
    listing(
        "markets",
        "reference",
        "Centra markets as of the snapshot day.",
        "markets",
        "MarketFilter",
        Table(
            "markets",
            key=("market_id",),
            columns=(
                i64("market_id", "id"),
                col("name"),
                i64("store_id", "store.id"),
                col("comment"),
                i64("allocation_rule_id", "allocationRule.id"),
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
        "pricelists",
        "PricelistFilter",
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
        "warehouses",
        "WarehouseFilter",
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
        "stores",
        "StoreFilter",
        Table("stores", key=("store_id",), columns=(i64("store_id", "id"), col("name"), col("type"))),
    ),
    listing(
        "currencies",
        "reference",
        "Centra currencies as of the snapshot day, with the day's rate to the base currency (each money value "
        "carries the rate of its own date).",
        "currencies",
        "CurrencyFilter",
        Table(
            "currencies",
            key=("currency_id",),
            columns=(
                i64("currency_id", "id"),
                col("code"),
                col("name"),
                # Centra's complete Currency page (docs/centra-facts.md §12): not `baseCurrencyRate`
                f64("current_base_rate", "currentBaseRate"),
                boolean("is_base", "isBase"),
            ),
        ),
    ),
    listing(
        "countries",
        "reference",
        "Centra countries as of the snapshot day.",
        "countries",
        "CountryFilter",
        Table(
            "countries",
            key=("country_id",),
            columns=(i64("country_id", "id"), col("code"), col("name"), col("continent"), boolean("is_eu", "isEU")),
        ),
    ),
    listing(
        "allocation_rules",
        "reference",
        "Centra allocation rules (which warehouses an order's units are allocated from) as of the snapshot day.",
        "allocationRules",
        "AllocationRuleFilter",
        Table("allocation_rules", key=("allocation_rule_id",), columns=(i64("allocation_rule_id", "id"), col("name"))),
    ),
    listing(
        "suppliers",
        "reference",
        "Centra suppliers as of the snapshot day.",
        "suppliers",
        "SupplierFilter",
        Table("suppliers", key=("supplier_id",), columns=(i64("supplier_id", "id"), col("name"), col("status"))),
    ),
)
