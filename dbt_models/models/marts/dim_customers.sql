-- One row per customer (the latest customer snapshot), with their ordering history in the warehouse. Cancelled
-- orders are not purchases. The cohort is the month of the first purchase, where the warehouse holds the first ever
-- (their first order in it is 'new' in fct_orders); null for a customer who bought before the synced range or of
-- whom that is unknown (bought_before_synced_range says which).
{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_keys': {'key': 'store, customer_id', 'sets': [{'model': 'int_orders_recomputed'}]}},
    pre_hook="{{ centra_delete_changed_customers() }}"
) }}
-- Incremental (macros/incremental.sql): the customers of the orders int_orders_recomputed names; whole when a
-- customers snapshot was taken since the last build.
-- depends_on: {{ ref('int_orders_recomputed') }}
{%- set recomputed = 'select store, customer_id from ' ~ ref('int_orders_recomputed') if centra_customers_by_key() else none %}
with customers as (
    select * from {{ ref('stg_centra__customers') }} where is_latest_snapshot
    {%- if recomputed %}
    and (store, customer_id) in ({{ recomputed }})
    {%- endif %}
),

history as (
    select
        store,
        customer_id,
        min(order_day) as first_order_day,
        min(created_at) as first_order_at,
        max(created_at) as last_order_at,
        count(*) as lifetime_orders,
        max(case when customer_order_sequence = 1 then new_or_repeat end) as first_order_kind,
        sum(units) as lifetime_units,
        {{ centra_round('sum(net_sales_base)', 2) }} as lifetime_net_sales_base
    from {{ ref('fct_orders') }}
    where customer_id is not null and not is_cancelled
    {%- if recomputed %}
    and (store, customer_id) in ({{ recomputed }})
    {%- endif %}
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
    history.first_order_kind = 'new' as is_first_order_known,
    case history.first_order_kind when 'repeat' then true when 'new' then false end as bought_before_synced_range,
    history.last_order_at,
    coalesce(history.lifetime_orders, 0) as lifetime_orders,
    coalesce(history.lifetime_units, 0) as lifetime_units,
    coalesce(history.lifetime_net_sales_base, 0) as lifetime_net_sales_base,
    case when history.first_order_kind = 'new' then cast({{ dbt.date_trunc('month', 'history.first_order_day') }} as date)
    end as cohort_month
from customers
left join history on customers.store = history.store and customers.customer_id = history.customer_id
