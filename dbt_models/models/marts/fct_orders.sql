-- One row per order (and store): what was sold, discounted, taxed, shipped and refunded, in the order's currency and the base
-- currency; who bought it (new or repeat, where Centra's data can tell); how fast it shipped. Choices: DECISIONLOG.md.
with orders as (
    select * from {{ ref('int_orders') }}
),

shipments as (
    select store, order_number, min(created_at) as first_shipment_at, min(shipped_at) as shipped_at
    from {{ ref('stg_centra__shipments') }}
    group by store, order_number
),

-- The first day the warehouse holds orders of: a customer created on or after it has every order in the warehouse.
first_day as (
    select store, min(order_day) as first_order_day from orders group by store
),

customers as (
    select store, customer_id, created_at from {{ ref('stg_centra__customers') }} where is_latest_snapshot
),

sequenced as (
    select
        orders.*,
        shipments.first_shipment_at,
        shipments.shipped_at,
        {{ local_day('customers.created_at', 'customers.store') }} >= first_day.first_order_day
            as is_customer_history_synced,
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
    inner join first_day on orders.store = first_day.store
),

classified as (
    select
        *,
        -- a later order is a repeat whatever came before; the first in the warehouse is the first ever only when
        -- the customer was created inside the synced range (Centra keeps no order before its customer)
        case
            when customer_order_sequence > 1 then true
            when customer_order_sequence = 1 then coalesce(is_customer_history_synced, false)
        end as is_first_order_known
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
    returned_value,
    returns,
    refunds,
    pending_refunds,
    net_sales,
    net_sales_excl_tax,
    grand_total,
    customer_order_sequence,
    is_first_order_known,
    case
        when customer_order_sequence > 1 then 'repeat'
        when customer_order_sequence = 1 and is_first_order_known then 'new'
        when customer_order_sequence = 1 then 'unknown'
    end as new_or_repeat,
    first_shipment_at,
    shipped_at,
    {{ hours_between('created_at', 'shipped_at') }} as hours_to_ship,
    gross_sales_base,
    markdown_base,
    order_discounts_base as discounts_base,
    order_shipping_base as shipping_base,
    tax_base,
    refunds_base,
    net_sales_base,
    net_sales_excl_tax_base,
    grand_total_base
from classified
