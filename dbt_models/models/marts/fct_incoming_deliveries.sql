-- One row per purchase order line: ordered against delivered, what is still open, and the week it is expected
-- (the purchase order's ETA, in the store's timezone; weeks start on Monday).
with lines as (
    select * from {{ ref('stg_centra__purchase_order_lines') }}
),

purchase_orders as (
    select * from {{ ref('stg_centra__purchase_orders') }}
)

select
    lines.store,
    lines.purchase_order_id,
    lines.line_id,
    purchase_orders.status as purchase_order_status,
    purchase_orders.supplier_id,
    purchase_orders.supplier_name,
    purchase_orders.warehouse_id,
    purchase_orders.created_at as ordered_at,
    purchase_orders.eta,
    cast({{ dbt.date_trunc('week', local_day('purchase_orders.eta', 'purchase_orders.store')) }} as date)
        as expected_arrival_week,
    lines.product_id,
    lines.variant_id,
    lines.size_id,
    lines.quantity as ordered_quantity,
    lines.delivered_quantity,
    case
        when purchase_orders.status in ('DELIVERED', 'CANCELLED') then 0
        else greatest(lines.quantity - lines.delivered_quantity, 0)
    end as open_quantity,
    {{ ratio('lines.delivered_quantity', 'lines.quantity') }} as delivered_share,
    lines.unit_cost,
    lines.currency
from lines
inner join purchase_orders
    on lines.store = purchase_orders.store and lines.purchase_order_id = purchase_orders.purchase_order_id
