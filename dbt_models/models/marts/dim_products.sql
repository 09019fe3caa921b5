-- One row per store and size (the sellable unit: SKU and EAN) with its variant, product, brand, collection and categories,
-- from the latest catalogue snapshot. Prices per pricelist: dim_product_prices.
with sizes as (select * from {{ ref('stg_centra__sizes') }} where is_latest_snapshot),
variants as (select * from {{ ref('stg_centra__variants') }} where is_latest_snapshot),
products as (select * from {{ ref('stg_centra__products') }} where is_latest_snapshot),
brands as (select * from {{ ref('stg_centra__brands') }} where is_latest_snapshot),
collections as (select * from {{ ref('stg_centra__collections') }} where is_latest_snapshot),

-- Categories belong to displays (a product as shown in a market); a product has the union of its displays' ones.
links as (
    select distinct displays.store, displays.product_id, display_categories.category_id
    from {{ ref('stg_centra__display_categories') }} as display_categories
    inner join {{ ref('stg_centra__displays') }} as displays
        on display_categories.store = displays.store and display_categories.display_id = displays.display_id
        and displays.is_latest_snapshot
    where display_categories.is_latest_snapshot
),

linked as (
    select
        links.store,
        links.product_id,
        links.category_id,
        categories.name,
        row_number() over (partition by links.store, links.product_id order by links.category_id) as position
    from links
    inner join {{ ref('stg_centra__categories') }} as categories
        on links.store = categories.store and links.category_id = categories.category_id
        and categories.is_latest_snapshot
),

categories as (
    select
        store,
        product_id,
        min(category_id) as primary_category_id,
        max(case when position = 1 then name end) as primary_category,
        {{ dbt.listagg('name', "', '", 'order by category_id') }} as categories
    from linked
    group by store, product_id
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
    categories.categories
from sizes
left join variants on sizes.store = variants.store and sizes.variant_id = variants.variant_id
left join products on sizes.store = products.store and sizes.product_id = products.product_id
left join brands on products.store = brands.store and products.brand_id = brands.brand_id
left join collections on products.store = collections.store and products.collection_id = collections.collection_id
left join categories on sizes.store = categories.store and sizes.product_id = categories.product_id
