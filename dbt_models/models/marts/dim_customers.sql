-- One row per customer (the latest customer snapshot), with their ordering history in the warehouse. Cancelled
-- orders are not purchases. The cohort is the month of the first purchase, where the warehouse can tell it is the
-- first ever (fct_orders.is_first_order_known); null for a customer whose earlier history is not synced.
with customers as (
    select * from {{ ref('stg_centra__customers') }} where is_latest_snapshot
),

history as (
    select
        store,
        customer_id,
        min(order_day) as first_order_day,
        min(created_at) as first_order_at,
        max(created_at) as last_order_at,
        count(*) as lifetime_orders,
        {{ dbt.bool_or('customer_order_sequence = 1 and is_first_order_known') }} as is_first_order_known,
        sum(units) as lifetime_units,
        {{ centra_round('sum(net_sales_base)', 2) }} as lifetime_net_sales_base
    from {{ ref('fct_orders') }}
    where customer_id is not null and not is_cancelled
    group by store, customer_id
)

select
    customers.store,
    customers.customer_id,
    customers.email,
    customers.first_name,
    customers.last_name,
    customers.country,
    customers.market_id,
    customers.status,
    customers.created_at,
    history.first_order_at,
    history.is_first_order_known,
    history.last_order_at,
    coalesce(history.lifetime_orders, 0) as lifetime_orders,
    coalesce(history.lifetime_units, 0) as lifetime_units,
    coalesce(history.lifetime_net_sales_base, 0) as lifetime_net_sales_base,
    case when history.is_first_order_known then cast({{ dbt.date_trunc('month', 'history.first_order_day') }} as date)
    end as cohort_month
from customers
left join history on customers.store = history.store and customers.customer_id = history.customer_id
