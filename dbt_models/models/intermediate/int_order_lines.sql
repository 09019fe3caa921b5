{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_days': {'anchor': 'order', 'column': 'partition_date'}},
    pre_hook="{{ centra_delete_changed('order', 'store', 'partition_date') }}"
) }}
-- Per order line: units sold (not cancelled), returned, and their values, in the order's currency. Incremental by the
-- order's day (macros/incremental.sql): a build recomputes the lines of the days whose orders or returns changed.
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = centra_changed_days('order') if centra_incremental() else none %}
with lines as (
    {%- if days is not none %}
    select * from {{ centra_staged('order_lines', days) }} as lines
    {%- else %}
    select * from {{ ref('stg_centra__order_lines') }}
    {%- endif %}
),

returned as (
    select
        returns.store,
        returns.order_number,
        return_lines.order_line_id as line_id,
        sum(return_lines.quantity) as returned_quantity
    from {{ ref('stg_centra__return_lines') }} as return_lines
    inner join {{ ref('stg_centra__returns') }} as returns
        on return_lines.store = returns.store and return_lines.return_id = returns.return_id
    group by returns.store, returns.order_number, return_lines.order_line_id
)

select
    lines.*,
    lines.quantity - lines.cancelled_quantity as sold_quantity,
    coalesce(returned.returned_quantity, 0) as returned_quantity,
    {{ centra_round('(lines.quantity - lines.cancelled_quantity) * lines.unit_price', 2) }} as gross_sales,
    {{ centra_round('(lines.quantity - lines.cancelled_quantity) * (lines.unit_original_price - lines.unit_price)', 2) }}
        as markdown,
    {{ centra_round('lines.cancelled_quantity * lines.unit_price', 2) }} as cancelled_value,
    -- Centra gives a return line no value of its own: the units returned at the line's unit price.
    {{ centra_round('coalesce(returned.returned_quantity, 0) * lines.unit_price', 2) }} as returned_value
from lines
left join returned
    on lines.store = returned.store and lines.order_number = returned.order_number and lines.line_id = returned.line_id
