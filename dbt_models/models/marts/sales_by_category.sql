-- One row per store and category a product is listed in (dim_product_categories): product_performance's measures
-- summed over the variants of the products listed in it. A product listed in several categories (a top category
-- and its subcategory, say) counts in each: rows do not sum to the store's totals. sales_by_canonical_category
-- counts each product once.
select
    links.store,
    links.category_id,
    {{ dbt.any_value('links.category') }} as category,
    {{ dbt.any_value('links.category_path') }} as category_path,
    {{ dbt.any_value('links.top_category') }} as top_category,
    count(distinct links.product_id) as products,
    {{ sum_product_performance('performance') }}
from {{ ref('dim_product_categories') }} as links
inner join {{ ref('product_performance') }} as performance
    on links.store = performance.store and links.product_id = performance.product_id
where links.is_listed
group by links.store, links.category_id
