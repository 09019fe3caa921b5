-- Day (the order's, in its store's timezone) by store by market by store type, in the base currency. Returns
-- count against the day the order was placed, so a day's figures settle as its orders' returns come in.
select
    store,
    order_day,
    market_id,
    {{ dbt.any_value('market_name') }} as market_name,
    store_type,
    count(case when not is_cancelled then 1 end) as orders,
    count(case when is_cancelled then 1 end) as cancelled_orders,
    sum(units) as units,
    sum(returned_units) as returned_units,
    {{ centra_round('sum(gross_sales_base)', 2) }} as gross_sales_base,
    {{ centra_round('sum(order_discounts_base)', 2) }} as discounts_base,
    {{ centra_round('sum(refunds_base)', 2) }} as refunds_base,
    {{ centra_round('sum(net_sales_base)', 2) }} as net_sales_base,
    {{ ratio('sum(gross_sales_base - order_discounts_base)', 'count(case when not is_cancelled then 1 end)', 2) }}
        as average_order_value_base,
    {{ ratio('sum(returned_units)', 'sum(units)') }} as return_rate
from {{ ref('int_orders') }}
group by store, order_day, market_id, store_type
