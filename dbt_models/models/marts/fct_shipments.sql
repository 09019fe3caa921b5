-- One row per shipment, with its lead times: order to shipment created (picking starts), created to shipped,
-- and order to shipped.
with shipments as (
    select * from {{ ref('stg_centra__shipments') }}
),

units as (
    select store, shipment_id, sum(quantity) as units
    from {{ ref('stg_centra__shipment_lines') }}
    group by store, shipment_id
),

orders as (
    select store, order_number, created_at as order_created_at, market_id, store_type
    from {{ ref('stg_centra__orders') }}
)

select
    shipments.store,
    shipments.shipment_id,
    shipments.shipment_number,
    shipments.order_number,
    shipments.partition_date as shipment_day,  -- created, in the store's timezone
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
    {{ hours_between('orders.order_created_at', 'shipments.created_at') }} as hours_order_to_shipment,
    {{ hours_between('shipments.created_at', 'shipments.shipped_at') }} as hours_shipment_to_shipped,
    {{ hours_between('orders.order_created_at', 'shipments.shipped_at') }} as hours_order_to_shipped
from shipments
left join units on shipments.store = units.store and shipments.shipment_id = units.shipment_id
left join orders on shipments.store = orders.store and shipments.order_number = orders.order_number
