-- One row per store and size (the sellable unit: SKU and EAN) with its variant, product, brand, collection, categories
-- and canonical category, from the latest catalogue snapshot. Prices per pricelist: dim_product_prices; attributes:
-- dim_product_attributes.
with sizes as (select * from {{ ref('stg_centra__sizes') }} where is_latest_snapshot),
variants as (select * from {{ ref('stg_centra__variants') }} where is_latest_snapshot),
products as (select * from {{ ref('stg_centra__products') }} where is_latest_snapshot),
brands as (select * from {{ ref('stg_centra__brands') }} where is_latest_snapshot),
collections as (select * from {{ ref('stg_centra__collections') }} where is_latest_snapshot),

-- Categories belong to displays (a product as shown in a market): dim_product_categories has a product's links.
linked as (
    select
        store,
        product_id,
        category_id,
        category,
        row_number() over (partition by store, product_id order by category_id) as position
    from {{ ref('dim_product_categories') }}
    where is_listed
),

categories as (
    select
        store,
        product_id,
        min(category_id) as primary_category_id,
        max(case when position = 1 then category end) as primary_category,
        {{ dbt.listagg('category', "', '", 'order by category_id') }} as categories
    from linked
    group by store, product_id
),

canonical as (
    select store, product_id, category_id, category, category_path
    from {{ ref('dim_product_categories') }}
    where is_canonical
)

select
    sizes.store,
    sizes.size_id,
    sizes.sku,
    sizes.ean,
    sizes.size_name,
    sizes.description as size_description,
    sizes.is_active as size_is_active,
    sizes.variant_id,
    variants.name as variant_name,
    variants.variant_number,
    variants.status as variant_status,
    variants.unit_cost,
    variants.unit_cost_currency,
    sizes.product_id,
    products.name as product_name,
    products.product_number,
    products.status as product_status,
    products.brand_id,
    brands.name as brand,
    products.collection_id,
    collections.name as collection,
    categories.primary_category_id,
    categories.primary_category,
    categories.categories,
    canonical.category_id as canonical_category_id,
    canonical.category as canonical_category,
    canonical.category_path as canonical_category_path
from sizes
left join variants on sizes.store = variants.store and sizes.variant_id = variants.variant_id
left join products on sizes.store = products.store and sizes.product_id = products.product_id
left join brands on products.store = brands.store and products.brand_id = brands.brand_id
left join collections on products.store = collections.store and products.collection_id = collections.collection_id
left join categories on sizes.store = categories.store and sizes.product_id = categories.product_id
left join canonical on sizes.store = canonical.store and sizes.product_id = canonical.product_id
