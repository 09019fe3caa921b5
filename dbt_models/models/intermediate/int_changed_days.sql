{{ config(materialized='table') }}
-- The days an incremental build recomputes (macros/incremental.sql), by anchor, from the raw partitions that changed
-- (var `changed`): `order` days, the orders placed that day, `return` days, the returns created that day, and
-- `shipment` days, the shipments created that day. A return belongs to its order: a changed return re-computes its
-- order's day (the order's refunds, returned units), and a changed order re-computes the days of its returns (their
-- rows carry the order's market and tax) and of its shipments (the order's time and market). Empty in a full build:
-- nothing reads it then.
-- every event table the incremental models read is upstream of it (a new snapshot rebuilds its readers whole), so
-- Dagster builds it whenever one changes
-- depends_on: {{ ref('int_returns') }} {{ ref('stg_centra__orders') }} {{ ref('stg_centra__order_lines') }}
-- depends_on: {{ ref('stg_centra__order_line_allocations') }} {{ ref('stg_centra__shipments') }} {{ ref('stg_centra__shipment_lines') }}
-- depends_on: {{ ref('stg_centra__order_payments') }} {{ ref('stg_centra__order_discounts') }}
-- (the deliveries' lines: their landed costs are product_performance_daily's, int_performance_days)
-- depends_on: {{ ref('stg_centra__purchase_order_delivery_lines') }}
{%- set changed = centra_changed() or {} %}
{%- set order_tables = ['orders', 'order_lines', 'order_line_allocations', 'order_payments', 'order_discounts'] %}
{%- set return_tables = ['returns', 'return_lines', 'return_refunds'] %}
{%- set shipment_tables = ['shipments', 'shipment_lines'] %}
{%- set order_pairs, return_pairs, shipment_pairs = [], [], [] %}
{%- for store, tables in changed.items() %}
    {%- for table, days in tables.items() %}
        {%- for day in days %}
            {%- if table in order_tables and [store, day] not in order_pairs %}{% do order_pairs.append([store, day]) %}{% endif %}
            {%- if table in return_tables and [store, day] not in return_pairs %}{% do return_pairs.append([store, day]) %}{% endif %}
            {%- if table in shipment_tables and [store, day] not in shipment_pairs %}{% do shipment_pairs.append([store, day]) %}{% endif %}
        {%- endfor %}
    {%- endfor %}
{%- endfor %}
{#- the orders as the last build left them (an order keeps its day): where a changed return's order was placed #}
{%- set node = graph.nodes['model.centra.int_orders'] %}
{%- set previous = adapter.get_relation(node.database, node.schema, node.alias) if execute else none %}
{#- the shipments as the last build left them (a shipment keeps its day): where a changed order's shipments are #}
{%- set node = graph.nodes['model.centra.fct_shipments'] %}
{%- set shipments = adapter.get_relation(node.database, node.schema, node.alias) if execute else none %}
{%- set empty = 'select cast(null as varchar) as store, cast(null as date) as day where 1 = 0' %}

{%- if changed and previous and not flags.FULL_REFRESH %}
with changed_orders as (
    select store, order_number, partition_date as day
    from {{ centra_staged('orders', order_pairs) }} as orders
),

changed_returns as (
    select store, order_number, partition_date as day
    from {{ centra_staged('returns', return_pairs) }} as returns
),

order_days as (
    {% for store, day in order_pairs -%}
    select '{{ store }}' as store, cast('{{ day }}' as date) as day union all
    {% endfor -%}
    -- the orders of the changed returns
    select previous.store, previous.partition_date as day
    from changed_returns
    inner join {{ previous }} as previous
        on changed_returns.store = previous.store and changed_returns.order_number = previous.order_number
),

return_days as (
    {% for store, day in return_pairs -%}
    select '{{ store }}' as store, cast('{{ day }}' as date) as day union all
    {% endfor -%}
    -- the returns of the changed orders
    select returns.store, returns.partition_date as day
    from {{ ref('int_returns') }} as returns
    inner join changed_orders on returns.store = changed_orders.store and returns.order_number = changed_orders.order_number
),

shipment_days as (
    {% for store, day in shipment_pairs -%}
    select '{{ store }}' as store, cast('{{ day }}' as date) as day union all
    {% endfor -%}
    {%- if shipments %}
    -- the shipments of the changed orders
    select shipments.store, shipments.shipment_day as day
    from {{ shipments }} as shipments
    inner join changed_orders
        on shipments.store = changed_orders.store and shipments.order_number = changed_orders.order_number
    {%- else %}
    {{ empty }}
    {%- endif %}
)

select distinct 'order' as anchor, store, day from order_days
union all
select distinct 'return' as anchor, store, day from return_days
union all
select distinct 'shipment' as anchor, store, day from shipment_days
{%- else %}
select 'order' as anchor, store, day from ({{ empty }}) as nothing
{%- endif %}
