{{ config(materialized='table') }}
-- The orders whose fct_orders rows an incremental build recomputes (macros/incremental.sql): those of the `order` days
-- recomputed and those with shipments of the `shipment` days (int_changed_days), then every order of their customers,
-- as the last build and this one see them (an order's place in its customer's sequence, and the customer's counts,
-- read all of them). Read before fct_orders is rebuilt: its last build is still in place. Empty in a full build.
-- Each row carries its customer as this build or the last one sees it: dim_customers recomputes those customers.
-- When a store's first order day moved (every customer's history flag reads it), every order of the store.
-- depends_on: {{ ref('int_changed_days') }}
{%- set node = graph.nodes['model.centra.fct_orders'] %}
{%- set previous = adapter.get_relation(node.database, node.schema, node.alias) if execute else none %}
{%- set previous = previous if centra_changed() is not none and not flags.FULL_REFRESH else none %}
with touched as (
    select orders.store, orders.order_number, orders.customer_id
    from {{ ref('int_orders') }} as orders
    inner join {{ ref('int_changed_days') }} as days
        on days.anchor = 'order' and orders.store = days.store and orders.order_day = days.day
    union all
    select shipments.store, shipments.order_number, orders.customer_id
    from {{ ref('fct_shipments') }} as shipments
    inner join {{ ref('int_changed_days') }} as days
        on days.anchor = 'shipment' and shipments.store = days.store and shipments.shipment_day = days.day
    left join {{ ref('int_orders') }} as orders
        on shipments.store = orders.store and shipments.order_number = orders.order_number
    {%- if previous %}
    union all
    select previous.store, previous.order_number, previous.customer_id
    from {{ previous }} as previous
    inner join {{ ref('int_changed_days') }} as days
        on days.anchor = 'order' and previous.store = days.store and previous.order_day = days.day
    union all  -- a store whose first order day moved: all of it
    select orders.store, orders.order_number, orders.customer_id
    from {{ ref('int_orders') }} as orders
    inner join (
        select store, min(order_day) as first_day from {{ ref('int_orders') }} group by store
        except select store, min(order_day) from {{ previous }} group by store
    ) as moved on orders.store = moved.store
    {%- endif %}
),

customers as (
    select distinct store, customer_id from touched where customer_id is not null
)

select store, order_number, customer_id from touched
union
select orders.store, orders.order_number, orders.customer_id
from {{ ref('int_orders') }} as orders
inner join customers on orders.store = customers.store and orders.customer_id = customers.customer_id
{%- if previous %}
union
select previous.store, previous.order_number, previous.customer_id
from {{ previous }} as previous
inner join customers on previous.store = customers.store and previous.customer_id = customers.customer_id
{%- endif %}
