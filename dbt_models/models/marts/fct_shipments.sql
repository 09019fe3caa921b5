{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_days': {'anchor': 'shipment', 'column': 'shipment_day'}},
    pre_hook="{{ centra_delete_changed('shipment', 'store', 'shipment_day') }}"
) }}
-- One row per shipment, with its lead times: order to shipment created (picking starts), created to shipped,
-- and order to shipped. Incremental by the shipment's day (macros/incremental.sql): a shipment and its lines share
-- its raw partition; a changed order recomputes the days of its shipments.
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = centra_changed_days('shipment') if centra_incremental() else none %}
with shipments as (
    select * from {{ centra_staged('shipments', days) if days is not none else ref('stg_centra__shipments') }}
),

units as (
    select store, shipment_id, sum(quantity) as units
    from {{ centra_staged('shipment_lines', days) if days is not none else ref('stg_centra__shipment_lines') }}
    group by store, shipment_id
),

orders as (  -- every order, staged (int_orders: one row per order, a table; the staging view reads every file)
    select store, order_number, created_at as order_created_at, market_id, store_type
    from {{ ref('int_orders') }}
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
    -- the order is in the warehouse: false for an order placed before CENTRA_START_DATE, whose time, market and
    -- store type are then unknown (null), so an average of the lead times from the order covers the others only
    orders.order_number is not null as is_order_synced,
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
