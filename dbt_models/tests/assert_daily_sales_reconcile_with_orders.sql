{{ config(meta={"dagster": {"asset_key": ["analytics", "daily_sales"]}}) }}
-- Every day, market and store type: daily_sales equals the sum of its orders (no order lost or counted twice).
with from_orders as (
    select order_day, market_id, store_type, round(sum(net_sales_base), 2) as net, sum(units) as units,
        count(*) filter (where not is_cancelled) as orders
    from {{ ref('fct_orders') }}
    group by all
)

select *
from from_orders
full outer join {{ ref('daily_sales') }} as daily using (order_day, market_id, store_type)
where daily.order_day is null or from_orders.order_day is null
    or abs(daily.net_sales_base - from_orders.net) > 0.01
    or daily.units <> from_orders.units or daily.orders <> from_orders.orders
