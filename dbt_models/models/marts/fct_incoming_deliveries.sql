-- One row per purchase order line: units ordered, units that arrived on the purchase order's deliveries (delivery
-- lines of the same size), of those the units inserted into stock, and what is still to come (open = ordered -
-- arrived, never negative; 0 once the purchase order is delivered or cancelled; null when the store lacks the
-- purchase order's status or the line's quantity). The expected arrival is the
-- purchase order's ETA (day and Monday-starting week, in the store's timezone); the lead time is from the
-- purchase order to its first delivery's arrival. The warehouse is the purchase order's, else (a store lacking that
-- name) the one its deliveries arrived at; `warehouse_source` says which.
with lines as (
    select * from {{ ref('stg_centra__purchase_order_lines') }}
),

purchase_orders as (
    select * from {{ ref('stg_centra__purchase_orders') }}
),

deliveries as (
    select * from {{ ref('stg_centra__purchase_order_deliveries') }}
),

-- a purchase order holds each size once, so a delivery line meets its purchase order line by size
arrived as (
    select
        deliveries.store,
        deliveries.purchase_order_id,
        delivery_lines.size_id,
        sum(delivery_lines.quantity) as arrived_quantity
    from {{ ref('stg_centra__purchase_order_delivery_lines') }} as delivery_lines
    inner join deliveries
        on delivery_lines.store = deliveries.store and delivery_lines.delivery_id = deliveries.delivery_id
    group by deliveries.store, deliveries.purchase_order_id, delivery_lines.size_id
),

first_arrival as (
    select
        store,
        purchase_order_id,
        min(created_at) as first_arrival_at,
        count(*) as deliveries,
        -- the warehouse its deliveries arrived at, when one: the purchase order's where a store lacks that name
        -- (PurchaseOrder.warehouse is UNCONFIRMED, PurchaseOrderDelivery.warehouse is read by live clients)
        case when min(warehouse_id) = max(warehouse_id) then min(warehouse_id) end as delivery_warehouse_id
    from deliveries
    group by store, purchase_order_id
)

select
    lines.store,
    lines.purchase_order_id,
    lines.line_id,
    purchase_orders.status as purchase_order_status,
    purchase_orders.supplier_id,
    purchase_orders.supplier_name,
    coalesce(purchase_orders.warehouse_id, first_arrival.delivery_warehouse_id) as warehouse_id,
    case
        when purchase_orders.warehouse_id is not null then 'purchase_order'
        when first_arrival.delivery_warehouse_id is not null then 'deliveries'
    end as warehouse_source,
    purchase_orders.created_at as ordered_at,
    purchase_orders.eta,
    {{ local_day('purchase_orders.eta', 'purchase_orders.store') }} as expected_arrival_day,
    cast({{ dbt.date_trunc('week', local_day('purchase_orders.eta', 'purchase_orders.store')) }} as date)
        as expected_arrival_week,
    first_arrival.first_arrival_at,
    {{ centra_round(hours_between('purchase_orders.created_at', 'first_arrival.first_arrival_at', 86400.0), 2) }}
        as lead_time_days,
    coalesce(first_arrival.deliveries, 0) as deliveries,
    lines.product_id,
    lines.variant_id,
    lines.size_id,
    lines.quantity as ordered_quantity,
    coalesce(arrived.arrived_quantity, 0) as arrived_quantity,
    lines.delivered_quantity,
    greatest(coalesce(arrived.arrived_quantity, 0) - lines.delivered_quantity, 0) as on_delivery_quantity,
    case
        when purchase_orders.status in ('DELIVERED', 'CANCELLED') then 0
        -- a store lacking an UNCONFIRMED PurchaseOrder name writes it empty: unknown, not 0 (greatest skips nulls)
        when lines.quantity is null or purchase_orders.status is null then null
        else greatest(lines.quantity - coalesce(arrived.arrived_quantity, 0), 0)
    end as open_quantity,
    {{ ratio('lines.delivered_quantity', 'lines.quantity') }} as delivered_share,
    lines.unit_cost,
    lines.currency
from lines
inner join purchase_orders
    on lines.store = purchase_orders.store and lines.purchase_order_id = purchase_orders.purchase_order_id
left join arrived
    on lines.store = arrived.store and lines.purchase_order_id = arrived.purchase_order_id
    and lines.size_id = arrived.size_id
left join first_arrival
    on lines.store = first_arrival.store and lines.purchase_order_id = first_arrival.purchase_order_id
