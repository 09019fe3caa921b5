{{ config(
    materialized='incremental', incremental_strategy='append',
    pre_hook="{{ centra_delete_changed('order', 'store', 'anchor_day', anchor_column='anchor') }}"
) }}
-- What daily_sales adds up: the sales of orders (on the day they were placed) and of completed returns and refunds
-- (returned units on the day the return completed, refunds on the day they were paid back), summed by daily_sales'
-- day, market and store type and by the day that holds their raw data: the orders' day, or the returns' (anchor,
-- anchor_day). Incremental by that day (macros/incremental.sql): a late return or refund is booked again from its
-- own partition, whatever day it counts on. Summed here, not one row per order: a full build writes a few rows a
-- day, not a row of 25 columns per order that daily_sales reads back only to sum (every amount is in whole cents,
-- so summing in two steps gives daily_sales the same cents).
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = {'order': centra_changed_days('order'), 'return': centra_changed_days('return')}
    if centra_incremental() else none %}
with orders as materialized (
    select
        store, order_number, order_day, market_id, market_name, store_type, is_cancelled, units, returned_units,
        gross_sales, order_discounts, excl_tax_ratio, included_tax_percent, conversion_rate, currency, gross_sales_base,
        order_discounts_base, order_shipping_base, order_shipping_excl_tax_base,
        net_sales_before_refunds_excl_tax_base, refunds_base, net_sales_base,
        net_sales_excl_tax_base, pending_returns
    from {{ ref('int_orders') }}
),

-- the orders whose sales this build books: every order, or those of the days it recomputes
booked_orders as (
    select * from orders
    {%- if days is not none %}
    where {{ centra_in_days('store', 'order_day', days['order']) }}
    {%- endif %}
),

-- the returns whose units and refunds this build books: every return, or those created on the days it recomputes
booked_returns as (
    select * from {{ ref('int_returns') }}
    {%- if days is not none %}
    where {{ centra_in_days('store', 'partition_date', days['return']) }}
    {%- endif %}
),

sales as (
    select
        store,
        order_day as sales_day,
        market_id,
        market_name,
        store_type,
        case when not is_cancelled then 1 else 0 end as orders,
        case when is_cancelled then 1 else 0 end as cancelled_orders,
        units,
        gross_sales_base,
        order_discounts_base,
        order_shipping_base as shipping_base,
        order_shipping_excl_tax_base as shipping_excl_tax_base,
        {{ to_base(centra_round('gross_sales - order_discounts', 2)) }} as net_sales_before_refunds_base,
        net_sales_before_refunds_excl_tax_base,
        cast(0 as {{ dbt.type_bigint() }}) as returned_units,
        cast(0 as {{ dbt.type_bigint() }}) as completed_returns,
        cast(0 as double precision) as refunds_base,
        cast(0 as double precision) as refunds_excl_tax_base,
        returned_units as order_day_returned_units,
        refunds_base as order_day_refunds_base,
        net_sales_base as order_day_net_sales_base,
        net_sales_excl_tax_base as order_day_net_sales_excl_tax_base,
        pending_returns,
        'order' as anchor,
        order_day as anchor_day
    from booked_orders
),

-- completed returns' units, on the day they completed, and refunds, on the day they were paid back; a return whose
-- order (and so market) is unknown keeps its rows
returned as (
    select
        returns.store,
        returns.completed_day as sales_day,
        orders.market_id,
        orders.market_name,
        coalesce(orders.store_type, returns.return_store_type) as store_type,
        returns.partition_date as anchor_day,
        returns.units as returned_units,
        1 as completed_returns,
        cast(0 as double precision) as refunds_base,
        -- null, like the refunds', when the tax is unknown (no order, and a store whose return has no ex-tax total)
        case when orders.order_number is not null or returns.refund_total_excl_tax is not null
            then cast(0 as double precision) end as refunds_excl_tax_base
    from booked_returns as returns
    left join orders on returns.store = orders.store and returns.order_number = orders.order_number
    where returns.is_completed

    union all

    select
        refunds.store,
        refunds.refund_day as sales_day,
        orders.market_id,
        orders.market_name,
        coalesce(orders.store_type, returns.return_store_type) as store_type,
        returns.partition_date as anchor_day,
        0 as returned_units,
        0 as completed_returns,
        refunds.refund_base as refunds_base,
        -- by the order's tax when the warehouse holds the order, else by the return's own (its grandTotal without
        -- tax): a refund of an order placed before the start date is ex-tax too; null only when neither is known
        {{ to_base(
            'coalesce(' ~ excl_tax('refunds.refund', 'orders.included_tax_percent', 'orders.excl_tax_ratio')
            ~ ', refunds.refund_excl_tax)', 'refunds.conversion_rate'
        ) }}
            as refunds_excl_tax_base
    from {{ ref('int_return_refunds') }} as refunds
    inner join booked_returns as returns
        on refunds.store = returns.store and refunds.return_id = returns.return_id
    left join orders on returns.store = orders.store and returns.order_number = orders.order_number
),

refunded as (
    select
        store,
        sales_day,
        market_id,
        market_name,
        store_type,
        0 as orders,
        0 as cancelled_orders,
        0 as units,
        0 as gross_sales_base,
        0 as order_discounts_base,
        0 as shipping_base,
        0 as shipping_excl_tax_base,
        0 as net_sales_before_refunds_base,
        0 as net_sales_before_refunds_excl_tax_base,
        returned_units,
        completed_returns,
        refunds_base,
        refunds_excl_tax_base,
        0 as order_day_returned_units,
        0 as order_day_refunds_base,
        0 as order_day_net_sales_base,
        0 as order_day_net_sales_excl_tax_base,
        0 as pending_returns,
        'return' as anchor,
        anchor_day
    from returned
)

, booked as (
    select * from sales
    union all
    select * from refunded
)

-- Each sum of amounts is rounded to the cent it is (its amounts are cents): a sum of doubles differs in its last bit
-- with the order the rows come in, and an incremental build must equal a full one row for row. A day's counts are
-- integers, so that daily_sales' sums of them keep their types (bigint on PostgreSQL).
{%- set counts = ['orders', 'cancelled_orders', 'completed_returns'] %}
{%- set units = ['units', 'returned_units', 'order_day_returned_units', 'pending_returns'] %}
{%- set amounts = [
    'gross_sales_base', 'order_discounts_base', 'shipping_base', 'shipping_excl_tax_base',
    'net_sales_before_refunds_base', 'net_sales_before_refunds_excl_tax_base', 'refunds_base', 'refunds_excl_tax_base',
    'order_day_refunds_base', 'order_day_net_sales_base', 'order_day_net_sales_excl_tax_base'] %}
select
    store, sales_day, market_id, market_name, store_type, anchor, anchor_day,
    {%- for column in counts %}
    cast(sum({{ column }}) as {{ dbt.type_int() }}) as {{ column }},
    {%- endfor %}
    {%- for column in units %}
    sum({{ column }}) as {{ column }},
    {%- endfor %}
    {%- for column in amounts %}
    {{ centra_round('sum(' ~ column ~ ')', 2) }} as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from booked
group by store, sales_day, market_id, market_name, store_type, anchor, anchor_day
