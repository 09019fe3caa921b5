{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_days': {'anchor': 'order', 'column': 'order_day'}},
    pre_hook="{{ centra_delete_changed('order', 'store', 'order_day') }}"
) }}
-- One row per order line. Cancelled units never count as sold; returned units are those on the order's returns.
-- Incremental by the order's day (macros/incremental.sql).
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = centra_changed_days('order') if centra_incremental() else none %}
select
    lines.store,
    lines.order_number,
    lines.line_id,
    orders.order_day,
    orders.created_at as order_created_at,
    orders.market_id,
    orders.store_type,
    orders.status as order_status,
    lines.product_id,
    lines.variant_id,
    lines.size_id,
    lines.brand_id,
    lines.sku,
    lines.ean,
    lines.product_number,
    lines.product_name,
    lines.variant_name,
    lines.size,
    lines.quantity,
    lines.cancelled_quantity,
    lines.sold_quantity,
    lines.returned_quantity,
    lines.sold_quantity - lines.returned_quantity as kept_quantity,
    lines.currency,
    lines.conversion_rate,
    lines.unit_price,
    lines.unit_original_price,
    lines.discount_percent,
    lines.tax_percent,
    lines.gross_sales,
    lines.markdown,
    lines.cancelled_value,
    lines.returned_value,
    {{ to_base('lines.unit_price', 'lines.conversion_rate') }} as unit_price_base,
    {{ to_base('lines.gross_sales', 'lines.conversion_rate') }} as gross_sales_base,
    {{ to_base('lines.markdown', 'lines.conversion_rate') }} as markdown_base,
    {{ to_base('lines.cancelled_value', 'lines.conversion_rate') }} as cancelled_value_base,
    {{ to_base('lines.returned_value', 'lines.conversion_rate') }} as returned_value_base
from {{ ref('int_order_lines') }} as lines
inner join {{ ref('int_orders') }} as orders on lines.store = orders.store and lines.order_number = orders.order_number
{%- if days is not none %}
where {{ centra_in_days('lines.store', 'lines.partition_date', days) }}
    and {{ centra_in_days('orders.store', 'orders.order_day', days) }}
{%- endif %}
