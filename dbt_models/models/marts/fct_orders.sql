{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_keys': {'key': 'store, order_number', 'sets': [{'model': 'int_orders_recomputed'}]}},
    pre_hook="{{ centra_delete_changed_orders() }}"
) }}
-- One row per order (and store): what was sold, discounted, taxed, shipped and refunded, in the order's currency and the base
-- currency; who bought it (new or repeat, where Centra's data can tell); how fast it shipped. Choices: DECISIONLOG.md.
-- Incremental (macros/incremental.sql): the orders int_orders_recomputed names, those of the days recomputed and
-- those whose shipments changed, with every order of their customers (numbered over all of them).
-- depends_on: {{ ref('int_orders_recomputed') }}
{%- set recomputed = 'select store, order_number from ' ~ ref('int_orders_recomputed') if centra_orders_by_key() else none %}
with orders as (
    select * from {{ ref('int_orders') }}
    {%- if recomputed %}
    where (store, order_number) in ({{ recomputed }})
    {%- endif %}
),

shipments as (  -- (fct_shipments: the shipments staged, a table, built by day)
    select store, order_number, min(created_at) as first_shipment_at, min(shipped_at) as shipped_at
    from {{ ref('fct_shipments') }}
    {%- if recomputed %}
    where (store, order_number) in ({{ recomputed }})
    {%- endif %}
    group by store, order_number
),

-- The first day the warehouse holds orders of: a customer created on or after it has every order in the warehouse.
first_day as (
    select store, min(order_day) as first_order_day from {{ ref('int_orders') }} group by store
),

-- Whether a customer bought before the synced range, from Centra's count of their orders (customers.total_orders, as
-- of the latest snapshot) less the orders of theirs the warehouse holds. Whether Centra counts cancelled orders is
-- UNCONFIRMED, and orders placed while the snapshot was taken may be in the count or not, so the orders before the
-- range are bounded from both sides, whichever Centra's rule:
--   at least: the count less every order of theirs in the warehouse (any status, placed any time);
--   at most:  the count less their orders not cancelled and placed before the snapshot was loaded.
-- At most 0: no order before the range (their first in the warehouse is their first ever); at least 1: they bought
-- before. Anything else (no count: a store without the field; a negative one; bounds apart) stays unknown.
customers as (
    select
        customers.store,
        customers.customer_id,
        {{ local_day('customers.created_at', 'customers.store') }} >= first_day.first_order_day
            as is_customer_history_synced,
        customers.total_orders - count(orders.order_number) as earlier_orders_at_least,
        customers.total_orders - count(case when not orders.is_cancelled and orders.created_at <= customers.loaded_at
            then 1 end) as earlier_orders_at_most
    from {{ ref('stg_centra__customers') }} as customers
    inner join first_day on customers.store = first_day.store
    left join orders on customers.store = orders.store and customers.customer_id = orders.customer_id
    where customers.is_latest_snapshot
    {%- if recomputed %}
        -- only the customers of the orders recomputed (their current customer is among those listed)
        and (customers.store, customers.customer_id) in (
            select store, customer_id from {{ ref('int_orders_recomputed') }} where customer_id is not null)
    {%- endif %}
    group by customers.store, customers.customer_id, customers.created_at, customers.total_orders,
        customers.loaded_at, first_day.first_order_day
),

sequenced as (
    select
        orders.*,
        shipments.first_shipment_at,
        shipments.shipped_at,
        customers.is_customer_history_synced,
        customers.earlier_orders_at_least,
        customers.earlier_orders_at_most,
        case
            when orders.customer_id is not null and not orders.is_cancelled
                then row_number() over (
                    partition by orders.store, orders.customer_id, orders.is_cancelled
                    order by orders.created_at, orders.order_number
                )
        end as customer_order_sequence
    from orders
    left join shipments on orders.store = shipments.store and orders.order_number = shipments.order_number
    left join customers on orders.store = customers.store and orders.customer_id = customers.customer_id
),

classified as (
    select
        *,
        -- a later order is a repeat whatever came before; the first in the warehouse is the first ever when the
        -- customer was created inside the synced range (Centra keeps no order before its customer) or Centra's
        -- count leaves no order before the range, and a repeat when the count holds one before it
        case
            when customer_order_sequence > 1 then 'repeat'
            when customer_order_sequence = 1 and (is_customer_history_synced or earlier_orders_at_most = 0) then 'new'
            when customer_order_sequence = 1 and earlier_orders_at_least >= 1 then 'repeat'
            when customer_order_sequence = 1 then 'unknown'
        end as new_or_repeat
    from sequenced
)

select
    store,
    order_number,
    order_id,
    order_day,
    created_at,
    updated_at,
    status,
    is_cancelled,
    order_type,
    store_id,
    store_type,
    market_id,
    market_name,
    pricelist_id,
    customer_id,
    account_id,
    shipping_country,
    currency,
    conversion_rate,
    units,
    returned_units,
    gross_sales,
    markdown,
    order_discounts as discounts,
    order_shipping as shipping,
    tax,
    order_shipping_tax as shipping_tax,
    order_shipping_excl_tax as shipping_excl_tax,
    returned_value,
    returns,
    refunds,
    pending_refunds,
    net_sales,
    net_sales_excl_tax,
    grand_total,
    customer_order_sequence,
    new_or_repeat in ('new', 'repeat') as is_first_order_known,
    new_or_repeat,
    first_shipment_at,
    shipped_at,
    {{ hours_between('created_at', 'shipped_at') }} as hours_to_ship,
    gross_sales_base,
    markdown_base,
    order_discounts_base as discounts_base,
    order_shipping_base as shipping_base,
    order_shipping_excl_tax_base as shipping_excl_tax_base,
    tax_base,
    refunds_base,
    net_sales_base,
    net_sales_excl_tax_base,
    grand_total_base
from classified
