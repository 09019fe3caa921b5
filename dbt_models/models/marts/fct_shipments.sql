-- One row per shipment, with its lead times: order to shipment created (picking starts), created to shipped,
-- and order to shipped.
with shipments as (
    select * from {{ ref('stg_centra__shipments') }}
),

units as (
    select shipment_id, sum(quantity) as units from {{ ref('stg_centra__shipment_lines') }} group by shipment_id
),

orders as (
    select order_number, created_at as order_created_at, market_id, store_type
    from {{ ref('stg_centra__orders') }}
)

select
    shipments.shipment_id,
    shipments.shipment_number,
    shipments.order_number,
    {{ local_day('shipments.created_at') }} as shipment_day,
    shipments.created_at,
    shipments.shipped_at,
    shipments.is_shipped,
    shipments.is_paid,
    shipments.warehouse_id,
    shipments.carrier_name,
    shipments.service_name,
    shipments.tracking_number,
    orders.market_id,
    orders.store_type,
    orders.order_created_at,
    coalesce(units.units, 0) as units,
    shipments.grand_total,
    shipments.grand_total_currency as currency,
    shipments.grand_total_base,
    date_diff('second', orders.order_created_at, shipments.created_at) / 3600.0 as hours_order_to_shipment,
    date_diff('second', shipments.created_at, shipments.shipped_at) / 3600.0 as hours_shipment_to_shipped,
    date_diff('second', orders.order_created_at, shipments.shipped_at) / 3600.0 as hours_order_to_shipped
from shipments
left join units using (shipment_id)
left join orders using (order_number)
