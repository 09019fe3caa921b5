-- Day (the order's, in the store's timezone) by market by store type, in the base currency. Returns count
-- against the day the order was placed, so a day's figures settle as its orders' returns come in.
select
    order_day,
    market_id,
    any_value(market_name) as market_name,
    store_type,
    count(*) filter (where not is_cancelled) as orders,
    count(*) filter (where is_cancelled) as cancelled_orders,
    sum(units) as units,
    sum(returned_units) as returned_units,
    round(sum(gross_sales_base), 2) as gross_sales_base,
    round(sum(discounts_base), 2) as discounts_base,
    round(sum(refunds_base), 2) as refunds_base,
    round(sum(net_sales_base), 2) as net_sales_base,
    round(sum(gross_sales_base - discounts_base) / nullif(count(*) filter (where not is_cancelled), 0), 2)
        as average_order_value_base,
    round(sum(returned_units) / nullif(sum(units), 0), 4) as return_rate
from {{ ref('int_orders') }}
group by order_day, market_id, store_type
