-- Return rates by size, with its variant's and product's rates beside it: units returned over units sold
-- (cancelled units never count as sold), over every order in the warehouse.
with by_size as (
    select
        product_id,
        any_value(product_name) as product_name,
        variant_id,
        any_value(variant_name) as variant_name,
        size_id,
        any_value(sku) as sku,
        any_value(size) as size,
        sum(sold_quantity) as units_sold,
        sum(returned_quantity) as units_returned
    from {{ ref('fct_order_lines') }}
    group by product_id, variant_id, size_id
)

select
    *,
    round(units_returned / nullif(units_sold, 0), 4) as size_return_rate,
    round(
        sum(units_returned) over (partition by variant_id) / nullif(sum(units_sold) over (partition by variant_id), 0), 4
    ) as variant_return_rate,
    round(
        sum(units_returned) over (partition by product_id) / nullif(sum(units_sold) over (partition by product_id), 0), 4
    ) as product_return_rate
from by_size
