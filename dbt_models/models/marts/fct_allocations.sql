{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_days': {'anchor': 'order', 'column': 'order_day'}},
    pre_hook="{{ centra_delete_changed('order', 'store', 'order_day') }}"
) }}
-- One row per order line allocation (key: store, order_number, line_id, allocation_id): units of a line Centra
-- allocated to a warehouse, with the order's day (its raw partition: the day it was placed, store timezone),
-- market and store type, the size sold, the value allocated, the allocation rule the order used and its market's
-- rule today. The allocations are those Centra lists on the order when it was last synced. Incremental by the order's
-- day (macros/incremental.sql): the allocations, orders and lines of one order share its raw partition; a new
-- snapshot of warehouses, markets or allocation rules rebuilds it whole.
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = centra_changed_days('order') if centra_incremental() else none %}
with rules as (
    select * from {{ ref('stg_centra__allocation_rules') }} where is_latest_snapshot
)

select
    allocations.store,
    allocations.order_number,
    allocations.line_id,
    allocations.allocation_id,
    allocations.partition_date as order_day,  -- its raw partition, shared with its order: the order's day
    orders.market_id,
    orders.market_name,
    orders.store_type,
    allocations.warehouse_id,
    warehouses.name as warehouse,
    warehouses.country as warehouse_country,
    lines.size_id,
    lines.variant_id,
    lines.product_id,
    lines.sku,
    allocations.quantity as allocated_quantity,
    lines.currency,
    {{ centra_round('allocations.quantity * lines.unit_price', 2) }} as allocated_value,
    {{ to_base(centra_round('allocations.quantity * lines.unit_price', 2), 'lines.conversion_rate') }}
        as allocated_value_base,
    orders.allocation_rule_id,
    order_rules.name as allocation_rule,
    markets.allocation_rule_id as market_allocation_rule_id,
    market_rules.name as market_allocation_rule
from {{ centra_staged('order_line_allocations', days) if days is not none else ref('stg_centra__order_line_allocations') }} as allocations
left join {{ centra_staged('orders', days) if days is not none else ref('stg_centra__orders') }} as orders
    on allocations.store = orders.store and allocations.order_number = orders.order_number
left join {{ centra_staged('order_lines', days) if days is not none else ref('stg_centra__order_lines') }} as lines
    on allocations.store = lines.store and allocations.order_number = lines.order_number
    and allocations.line_id = lines.line_id
left join {{ ref('stg_centra__warehouses') }} as warehouses
    on allocations.store = warehouses.store and allocations.warehouse_id = warehouses.warehouse_id
    and warehouses.is_latest_snapshot
left join {{ ref('stg_centra__markets') }} as markets
    on orders.store = markets.store and orders.market_id = markets.market_id and markets.is_latest_snapshot
left join rules as order_rules
    on orders.store = order_rules.store and orders.allocation_rule_id = order_rules.allocation_rule_id
left join rules as market_rules
    on markets.store = market_rules.store and markets.allocation_rule_id = market_rules.allocation_rule_id
