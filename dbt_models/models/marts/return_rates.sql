-- Return rates by size, with its variant's and product's rates beside it: units returned over units sold
-- (cancelled units never count as sold), over every order in the warehouse, per store.
with by_size as (
    select
        store,
        product_id,
        {{ dbt.any_value('product_name') }} as product_name,
        variant_id,
        {{ dbt.any_value('variant_name') }} as variant_name,
        size_id,
        {{ dbt.any_value('sku') }} as sku,
        {{ dbt.any_value('size') }} as size,
        sum(sold_quantity) as units_sold,
        sum(returned_quantity) as units_returned
    from {{ ref('fct_order_lines') }}
    group by store, product_id, variant_id, size_id
)

select
    *,
    {{ ratio('units_returned', 'units_sold') }} as size_return_rate,
    {{ ratio('sum(units_returned) over (partition by store, variant_id)',
             'sum(units_sold) over (partition by store, variant_id)') }} as variant_return_rate,
    {{ ratio('sum(units_returned) over (partition by store, product_id)',
             'sum(units_sold) over (partition by store, product_id)') }} as product_return_rate
from by_size
