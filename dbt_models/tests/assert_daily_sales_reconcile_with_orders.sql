{{ config(meta={"dagster": {"ref": {"name": "daily_sales"}}}) }}
-- Every store, day, market and store type: daily_sales' order-day figures equal the sum of its orders (no order
-- lost or counted twice). Rows with refunds only (completed that day, no order) have no orders.
with from_orders as (
    select store, order_day, market_id, store_type, sum(net_sales_base) as net, sum(units) as units,
        count(case when not is_cancelled then 1 end) as orders
    from {{ ref('fct_orders') }}
    group by store, order_day, market_id, store_type
)

select *
from from_orders
full outer join (select * from {{ ref('daily_sales') }} where orders + cancelled_orders > 0) as daily
    on from_orders.store = daily.store and from_orders.order_day = daily.sales_day
    and from_orders.market_id = daily.market_id and from_orders.store_type = daily.store_type
where daily.sales_day is null or from_orders.order_day is null
    or abs(daily.order_day_net_sales_base - from_orders.net) > 0.01
    or daily.units <> from_orders.units or daily.orders <> from_orders.orders
