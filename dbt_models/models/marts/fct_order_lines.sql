{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_days': {'anchor': 'order', 'column': 'order_day'}},
    pre_hook="{{ centra_delete_changed('order', 'store', 'order_day') }}"
) }}
-- One row per order line. Cancelled units never count as sold; returned units are those on the order's returns.
-- Incremental by the order's day (macros/incremental.sql): every value here is the order's own, so a line changes only
-- when its order or returns do. Costs change with the catalogue and deliveries: dim_variant_costs holds them.
-- The line's shares (excl_tax_share, discount_share) are kept unrounded so that marts summing lines round once.
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = centra_changed_days('order') if centra_incremental() else none %}
with lines as (
    select
        lines.*,
        orders.order_day,
        orders.created_at as order_created_at,
        orders.market_id,
        orders.store_type,
        orders.status as order_status,
        -- the share of the line's price that is not tax (1 when the order adds tax on top)
        case
            when coalesce(orders.tax_added, 0) <> 0 then 1.0
            else 1.0 / (1 + coalesce(lines.tax_percent, 0) / 100.0)
        end as excl_tax_share,
        -- the order's voucher discounts spread over its lines by their gross sales (0 once the order is cancelled)
        case when orders.gross_sales > 0 then orders.order_discounts / orders.gross_sales else 0 end as discount_share
    from {{ ref('int_order_lines') }} as lines
    inner join {{ ref('int_orders') }} as orders
        on lines.store = orders.store and lines.order_number = orders.order_number
    {%- if days is not none %}
    where {{ centra_in_days('lines.store', 'lines.partition_date', days) }}
        and {{ centra_in_days('orders.store', 'orders.order_day', days) }}
    {%- endif %}
)

select
    lines.store,
    lines.order_number,
    lines.line_id,
    lines.order_day,
    lines.order_created_at,
    lines.market_id,
    lines.store_type,
    lines.order_status,
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
    {{ to_base('lines.returned_value', 'lines.conversion_rate') }} as returned_value_base,
    lines.excl_tax_share,
    lines.discount_share,
    {{ to_base('lines.gross_sales * lines.excl_tax_share', 'lines.conversion_rate') }} as gross_sales_excl_tax_base,
    {{ to_base('lines.gross_sales * lines.discount_share * lines.excl_tax_share', 'lines.conversion_rate') }}
        as discounts_excl_tax_base,
    {{ to_base('lines.gross_sales * (1 - lines.discount_share) * lines.excl_tax_share', 'lines.conversion_rate') }}
        as net_sales_excl_tax_base,
    {{ to_base('(lines.sold_quantity - least(lines.returned_quantity, lines.sold_quantity)) * lines.unit_price'
               ~ ' * (1 - lines.discount_share) * lines.excl_tax_share', 'lines.conversion_rate') }}
        as kept_sales_excl_tax_base
from lines
