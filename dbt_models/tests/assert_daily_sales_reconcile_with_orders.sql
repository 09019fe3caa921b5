{{ config(meta={"dagster": {"asset_key": ["analytics", "daily_sales"]}}) }}
-- Every store, day, market and store type: daily_sales equals the sum of its orders (no order lost or counted twice).
with from_orders as (
    select store, order_day, market_id, store_type, sum(net_sales_base) as net, sum(units) as units,
        count(case when not is_cancelled then 1 end) as orders
    from {{ ref('fct_orders') }}
    group by store, order_day, market_id, store_type
)

select *
from from_orders
full outer join {{ ref('daily_sales') }} as daily
    on from_orders.store = daily.store and from_orders.order_day = daily.order_day
    and from_orders.market_id = daily.market_id and from_orders.store_type = daily.store_type
where daily.order_day is null or from_orders.order_day is null
    or abs(daily.net_sales_base - from_orders.net) > 0.01
    or daily.units <> from_orders.units or daily.orders <> from_orders.orders
