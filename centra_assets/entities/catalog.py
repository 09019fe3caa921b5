"""Catalogue: products, variants, sizes, prices, categories, brands, collections, campaigns, vouchers (snapshots)."""

from .spec import EntitySpec, Table, boolean, col, f64, i64, ts


def snapshot(name: str, description: str, document: str, root: str, *tables: Table, group: str = "catalog"):
    return EntitySpec(name=name, group=group, description=description, document=document, root=root,
                      partition="snapshot", tables=tables)


SPECS = (
    snapshot("products", "Centra products as of the snapshot day.", "products.graphql", "products",
             Table("products", key=("product_id",), columns=(
                 i64("product_id", "id"), col("name"), col("status"), col("product_number", "productNumber"),
                 ts("created_at", "createdAt"), ts("updated_at", "updatedAt"),
                 col("harmonized_commodity_code", "harmonizedCommodityCode"), i64("brand_id", "brand.id"),
                 i64("collection_id", "collection.id"))),
             Table("product_categories", key=("product_id", "category_id"), rows_at="categories",
                   parent_key="product_id", columns=(i64("product_id", "^id"), i64("category_id", "id")))),
    snapshot("variants", "Centra product variants as of the snapshot day.", "variants.graphql", "productVariants",
             Table("variants", key=("variant_id",), columns=(
                 i64("variant_id", "id"), i64("product_id", "product.id"), col("name"), col("status"),
                 col("variant_number", "variantNumber"), ts("updated_at", "updatedAt"),
                 f64("unit_cost", "unitCost.value"), col("unit_cost_currency", "unitCost.currency.code")))),
    snapshot("sizes", "Centra product sizes (the stock-keeping unit, with SKU and EAN) as of the snapshot day.",
             "sizes.graphql", "productSizes",
             Table("sizes", key=("size_id",), columns=(
                 i64("size_id", "id"), i64("variant_id", "productVariant.id"), i64("product_id", "product.id"),
                 col("sku", "SKU"), col("ean", "EAN"), col("size_number", "sizeNumber"), col("size_name", "size.name"),
                 col("description"), boolean("is_active", "isActive"), boolean("preorder", "preorder"),
                 ts("updated_at", "updatedAt")))),
    snapshot("prices", "Centra prices per variant and pricelist as of the snapshot day.", "prices.graphql", "prices",
             Table("prices", key=("price_id",), columns=(
                 i64("price_id", "id"), i64("pricelist_id", "pricelist.id"), i64("product_id", "product.id"),
                 i64("variant_id", "productVariant.id"), f64("price", "price.value"),
                 col("currency", "price.currency.code"), f64("recommended_retail_price", "recommendedRetailPrice.value")))),
    snapshot("categories", "Centra categories as of the snapshot day.", "categories.graphql", "categories",
             Table("categories", key=("category_id",), columns=(
                 i64("category_id", "id"), col("name"), col("uri"), boolean("is_top_category", "isTopCategory"),
                 i64("parent_category_id", "parentCategory.id")))),
    snapshot("brands", "Centra brands as of the snapshot day.", "brands.graphql", "brands",
             Table("brands", key=("brand_id",), columns=(i64("brand_id", "id"), col("name")))),
    snapshot("collections", "Centra collections as of the snapshot day.", "collections.graphql", "collections",
             Table("collections", key=("collection_id",), columns=(i64("collection_id", "id"), col("name"), col("status")))),
    snapshot("campaigns", "Centra campaigns as of the snapshot day.", "campaigns.graphql", "campaigns",
             Table("campaigns", key=("campaign_id",), columns=(
                 i64("campaign_id", "id"), col("name"), col("status"), ts("start_date", "startDate"),
                 ts("stop_date", "stopDate"), ts("updated_at", "updatedAt"), f64("discount_percent", "discountPercent"))),
             Table("campaign_markets", key=("campaign_id", "market_id"), rows_at="markets", parent_key="campaign_id",
                   columns=(i64("campaign_id", "^id"), i64("market_id", "id")))),
    snapshot("vouchers", "Centra vouchers as of the snapshot day.", "vouchers.graphql", "vouchers",
             Table("vouchers", key=("voucher_id",), columns=(
                 i64("voucher_id", "id"), col("name"), col("code"), col("status"), col("method"), col("type"),
                 f64("discount_percent", "discountPercent"), ts("start_at", "startAt"), ts("stop_at", "stopAt"),
                 ts("created_at", "createdAt"), ts("updated_at", "updatedAt"), i64("store_id", "store.id")))),
)
