{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_days': {'anchor': 'order', 'column': 'order_day'}},
    pre_hook="{{ centra_delete_changed('order', 'store', 'order_day') }}"
) }}
-- fct_order_lines summed per store, order day, market and variant: product_performance_daily's sales, and the settled
-- history its expected returns are estimated from. Incremental by the order's day (macros/incremental.sql), as
-- fct_order_lines is: a day's sums change only when its lines do, so a refresh sums the changed days' lines instead
-- of every line of the history.
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = centra_changed_days('order') if centra_incremental() else none %}
select
    lines.store,
    lines.order_day,
    lines.market_id,
    lines.variant_id,
    {{ dbt.any_value('lines.store_type') }} as store_type,
    {{ dbt.any_value('lines.product_id') }} as product_id,
    {{ sum_order_lines('lines') }}
from {{ ref('fct_order_lines') }} as lines
{%- if days is not none %}
where {{ centra_in_days('lines.store', 'lines.order_day', days) }}
{%- endif %}
group by lines.store, lines.order_day, lines.market_id, lines.variant_id
