-- One row per order line. Cancelled units never count as sold; returned units are those on the order's returns.
with lines as (
    select * from {{ ref('stg_centra__order_lines') }}
),

orders as (
    select order_number, created_at, market_id, store_type, status from {{ ref('stg_centra__orders') }}
),

returned as (
    select
        returns.order_number,
        return_lines.order_line_id as line_id,
        sum(return_lines.quantity) as returned_quantity,
        sum(return_lines.line_value) as returned_value
    from {{ ref('stg_centra__return_lines') }} as return_lines
    inner join {{ ref('stg_centra__returns') }} as returns using (return_id)
    group by all
),

measured as (
    select
        lines.order_number,
        lines.line_id,
        {{ local_day('orders.created_at') }} as order_day,
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
        lines.quantity - lines.cancelled_quantity as sold_quantity,
        coalesce(returned.returned_quantity, 0) as returned_quantity,
        lines.currency,
        lines.conversion_rate,
        lines.unit_price,
        lines.unit_original_price,
        lines.discount_percent,
        lines.tax_percent,
        round((lines.quantity - lines.cancelled_quantity) * lines.unit_price, 2) as gross_sales,
        round((lines.quantity - lines.cancelled_quantity) * (lines.unit_original_price - lines.unit_price), 2)
            as markdown,
        round(lines.cancelled_quantity * lines.unit_price, 2) as cancelled_value,
        coalesce(returned.returned_value, 0) as returned_value
    from lines
    inner join orders using (order_number)
    left join returned using (order_number, line_id)
)

select
    *,
    sold_quantity - returned_quantity as kept_quantity,
    {{ to_base('unit_price') }} as unit_price_base,
    {{ to_base('gross_sales') }} as gross_sales_base,
    {{ to_base('markdown') }} as markdown_base,
    {{ to_base('cancelled_value') }} as cancelled_value_base,
    {{ to_base('returned_value') }} as returned_value_base
from measured
