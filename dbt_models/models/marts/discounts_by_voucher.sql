{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_days': {'anchor': 'order', 'column': 'order_day'}},
    pre_hook="{{ centra_delete_changed('order', 'store', 'order_day') }}"
) }}
-- Store by day (the order's, in the store's timezone) by voucher code: the orders that used the code, what it took
-- off them and what they sold, in the base currency. Cancelled orders lose their discounts (as in daily_sales) and
-- are left out. An order with two codes counts under each, with each code's own discount; its sales count under
-- each too, so sales do not add up across codes (discounts do, to daily_sales.discounts_base).
-- Incremental by the order's day (macros/incremental.sql): an order's discounts share its raw partition, its day
-- (int_orders.order_day); rebuilt whole, it read every discount of the history on every change (issue #27).
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = centra_changed_days('order') if centra_incremental() else none %}
with discounts as (
    select * from {{ centra_staged('order_discounts', days) if days is not none else ref('stg_centra__order_discounts') }}
),

orders as (
    select * from {{ ref('int_orders') }}
    where not is_cancelled{% if days is not none %} and {{ centra_in_days('store', 'order_day', days) }}{% endif %}
)

select
    discounts.store,
    orders.order_day,
    discounts.voucher_code,
    {{ dbt.any_value('discounts.voucher_id') }} as voucher_id,
    {{ dbt.any_value('discounts.voucher_name') }} as voucher_name,
    {{ dbt.any_value('discounts.voucher_type') }} as voucher_type,
    {{ dbt.any_value('discounts.voucher_method') }} as voucher_method,
    count(distinct discounts.order_number) as orders,
    sum(orders.units) as units,
    {{ centra_round('sum(' ~ to_base('discounts.value', 'orders.conversion_rate') ~ ')', 2) }} as discounts_base,
    {{ centra_round('sum(orders.gross_sales_base)', 2) }} as gross_sales_base,
    {{ ratio('sum(' ~ to_base('discounts.value', 'orders.conversion_rate') ~ ')', 'sum(orders.gross_sales_base)') }}
        as discount_rate
from discounts
inner join orders on discounts.store = orders.store and discounts.order_number = orders.order_number
group by discounts.store, orders.order_day, discounts.voucher_code
