{{ config(meta={"dagster": {"ref": {"name": "inventory_health"}}}) }}
-- Per store, size and warehouse, inventory_health's incoming units equal the open units of fct_incoming_deliveries
-- (none lost because the size has no stock row), on every store whose purchase orders tell open units (elsewhere
-- inventory_health reads Centra's stock figure: incoming_units_source).
with from_stock as (
    select distinct store from {{ ref('inventory_health') }} where incoming_units_source = 'stock_snapshot'
),

open_lines as (
    select store, size_id, warehouse_id, sum(open_quantity) as open_units
    from {{ ref('fct_incoming_deliveries') }}
    where store not in (select store from from_stock)
    group by store, size_id, warehouse_id
    having sum(open_quantity) > 0
),

health as (
    select store, size_id, warehouse_id, incoming_units
    from {{ ref('inventory_health') }}
    where incoming_units > 0 and incoming_units_source = 'purchase_orders'
)

select *
from open_lines
full outer join health
    on open_lines.store = health.store and open_lines.size_id = health.size_id
    and open_lines.warehouse_id = health.warehouse_id
where coalesce(open_lines.open_units, 0) <> coalesce(health.incoming_units, 0)
