-- One row per size (the sellable unit: SKU and EAN) with its variant, product, brand, collection and categories,
-- from the latest catalogue snapshot. Prices per pricelist: dim_product_prices.
with sizes as (select * from {{ ref('stg_centra__sizes') }} where is_latest_snapshot),
variants as (select * from {{ ref('stg_centra__variants') }} where is_latest_snapshot),
products as (select * from {{ ref('stg_centra__products') }} where is_latest_snapshot),
brands as (select * from {{ ref('stg_centra__brands') }} where is_latest_snapshot),
collections as (select * from {{ ref('stg_centra__collections') }} where is_latest_snapshot),

categories as (
    select
        links.product_id,
        min(links.category_id) as primary_category_id,
        arg_min(categories.name, links.category_id) as primary_category,
        string_agg(categories.name, ', ' order by links.category_id) as categories
    from {{ ref('stg_centra__product_categories') }} as links
    inner join {{ ref('stg_centra__categories') }} as categories
        on links.category_id = categories.category_id and categories.is_latest_snapshot
    where links.is_latest_snapshot
    group by links.product_id
)

select
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
    categories.categories
from sizes
left join variants using (variant_id)
left join products on sizes.product_id = products.product_id
left join brands on products.brand_id = brands.brand_id
left join collections on products.collection_id = collections.collection_id
left join categories on sizes.product_id = categories.product_id
