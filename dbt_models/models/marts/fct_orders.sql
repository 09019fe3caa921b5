-- One row per order (and store): what was sold, discounted, taxed, shipped and refunded, in the order's currency and the base
-- currency; who bought it (new or repeat); how fast it shipped. Metric choices: DECISIONLOG.md.
with orders as (
    select * from {{ ref('int_orders') }}
),

shipments as (
    select store, order_number, min(created_at) as first_shipment_at, min(shipped_at) as shipped_at
    from {{ ref('stg_centra__shipments') }}
    group by store, order_number
),

sequenced as (
    select
        orders.*,
        shipments.first_shipment_at,
        shipments.shipped_at,
        case
            when orders.customer_id is not null and not orders.is_cancelled
                then row_number() over (
                    partition by orders.store, orders.customer_id, orders.is_cancelled
                    order by orders.created_at, orders.order_number
                )
        end as customer_order_sequence
    from orders
    left join shipments on orders.store = shipments.store and orders.order_number = shipments.order_number
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
    case when customer_order_sequence = 1 then 'new' when customer_order_sequence > 1 then 'repeat' end
        as new_or_repeat,
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
from sequenced
