-- Return rates by size, with its variant's and product's rates beside it, per store. The rates are over D2C units
-- of settled order days only (older than the return window, no return pending: see daily_sales), so a recent
-- day's returns still to come do not lower them; cancelled units never count as sold. `units_sold` and
-- `units_returned` are over every order in the warehouse, the same returned units as daily_sales' order-day view.
with lines as (
    select
        lines.*,
        lines.store_type = 'DIRECT_TO_CONSUMER' and settled.sales_day is not null as is_settled_d2c
    from {{ ref('fct_order_lines') }} as lines
    left join (
        select distinct store, sales_day, market_id from {{ ref('daily_sales') }}
        where are_returns_settled and store_type = 'DIRECT_TO_CONSUMER'
    ) as settled
        on lines.store = settled.store and lines.order_day = settled.sales_day and lines.market_id = settled.market_id
),

by_size as (
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
        sum(returned_quantity) as units_returned,
        sum(case when is_settled_d2c then sold_quantity else 0 end) as settled_d2c_units_sold,
        sum(case when is_settled_d2c then returned_quantity else 0 end) as settled_d2c_units_returned
    from lines
    group by store, product_id, variant_id, size_id
)

select
    *,
    {{ ratio('settled_d2c_units_returned', 'settled_d2c_units_sold') }} as size_return_rate,
    {{ ratio('sum(settled_d2c_units_returned) over (partition by store, variant_id)',
             'sum(settled_d2c_units_sold) over (partition by store, variant_id)') }} as variant_return_rate,
    {{ ratio('sum(settled_d2c_units_returned) over (partition by store, product_id)',
             'sum(settled_d2c_units_sold) over (partition by store, product_id)') }} as product_return_rate
from by_size
