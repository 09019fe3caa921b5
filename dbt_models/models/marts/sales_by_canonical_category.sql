-- One row per store and canonical category (each product's one canonical category, dim_products):
-- product_performance's measures summed over the variants of its products. Every product counts once, products
-- without a canonical category (no display) under category_id null, so the rows sum to the store's totals.
select
    performance.store,
    performance.canonical_category_id as category_id,
    {{ dbt.any_value('categories.category') }} as category,
    {{ dbt.any_value('categories.category_path') }} as category_path,
    {{ dbt.any_value('categories.top_category') }} as top_category,
    count(distinct performance.product_id) as products,
    {{ sum_product_performance('performance') }}
from {{ ref('product_performance') }} as performance
left join {{ ref('dim_categories') }} as categories
    on performance.store = categories.store and performance.canonical_category_id = categories.category_id
group by performance.store, performance.canonical_category_id
