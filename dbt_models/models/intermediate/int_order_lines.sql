{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_days': {'anchor': 'order', 'column': 'partition_date'}},
    pre_hook="{{ centra_delete_changed('order', 'store', 'partition_date') }}"
) }}
-- Per order line: units sold (not cancelled), returned, and their values, in the order's currency. Incremental by the
-- order's day (macros/incremental.sql): a build recomputes the lines of the days whose orders or returns changed. The
-- measures are macros/order_lines.sql's, which int_orders sums from the staged lines.
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = centra_changed_days('order') if centra_incremental() else none %}
{{ order_lines_measured(days) }}
