{{ config(meta={"dagster": {"ref": {"name": "daily_sales"}}}) }}
-- Per store, the same returns in every mart: daily_sales' refunds (on the day paid) and returned units (on the day
-- returns completed) equal fct_returns' refunded and completed units; its order-day returned units equal
-- return_rates' and product_performance's units returned, and fct_returns' units of the orders the warehouse holds.
with daily as (
    select store, sum(returned_units) as returned_units, sum(refunds_base) as refunds_base,
        sum(order_day_returned_units) as order_day_returned_units
    from {{ ref('daily_sales') }}
    group by store
),

returns as (
    select store,
        sum(case when is_completed then units else 0 end) as returned_units,
        sum(refunded_base) as refunds_base,
        sum(case when is_order_synced then units else 0 end) as order_units
    from {{ ref('fct_returns') }}
    group by store
),

rates as (
    select store, sum(units_returned) as units_returned from {{ ref('return_rates') }} group by store
),

products as (
    select store, sum(units_returned) as units_returned from {{ ref('product_performance') }} group by store
)

select *
from returns
left join daily on returns.store = daily.store
left join rates on returns.store = rates.store
left join products on returns.store = products.store
where coalesce(daily.returned_units, 0) <> returns.returned_units
    or abs(coalesce(daily.refunds_base, 0) - returns.refunds_base) > 0.01
    or coalesce(daily.order_day_returned_units, 0) <> returns.order_units
    or coalesce(rates.units_returned, 0) <> returns.order_units
    or coalesce(products.units_returned, 0) <> returns.order_units
