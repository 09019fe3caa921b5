-- One row per order: what was sold, discounted, taxed, shipped and refunded, in the order's currency and the base
-- currency; who bought it (new or repeat); how fast it shipped. Metric choices: DECISIONLOG.md.
with orders as (
    select * from {{ ref('stg_centra__orders') }}
),

lines as (
    select
        order_number,
        sum(sold_quantity) as units,
        sum(returned_quantity) as returned_units,
        sum(gross_sales) as gross_sales,
        sum(markdown) as markdown,
        sum(returned_value) as returned_value
    from {{ ref('fct_order_lines') }}
    group by order_number
),

refunds as (
    select
        order_number,
        count(*) as returns,
        sum(refund_total) filter (where return_status = 'COMPLETED') as refunds,
        sum(refund_total) filter (where return_status <> 'COMPLETED') as pending_refunds
    from {{ ref('stg_centra__returns') }}
    group by order_number
),

shipments as (
    select order_number, min(created_at) as first_shipment_at, min(shipped_at) as shipped_at
    from {{ ref('stg_centra__shipments') }}
    group by order_number
),

measured as (
    select
        orders.order_number,
        orders.order_id,
        {{ local_day('orders.created_at') }} as order_day,
        orders.created_at,
        orders.updated_at,
        orders.status,
        orders.status = 'CANCELLED' as is_cancelled,
        orders.order_type,
        orders.store_id,
        orders.store_type,
        orders.market_id,
        orders.market_name,
        orders.pricelist_id,
        orders.customer_id,
        orders.account_id,
        orders.shipping_country,
        orders.currency,
        orders.conversion_rate,
        coalesce(lines.units, 0) as units,
        coalesce(lines.returned_units, 0) as returned_units,
        coalesce(lines.gross_sales, 0) as gross_sales,
        coalesce(lines.markdown, 0) as markdown,
        -- order-level amounts lapse with the order when it is cancelled
        case when orders.status = 'CANCELLED' then 0 else orders.discounts end as discounts,
        case when orders.status = 'CANCELLED' then 0 else orders.shipping + orders.handling end as shipping,
        case when orders.status = 'CANCELLED' then 0 else orders.tax_included + orders.tax_added end as tax,
        coalesce(lines.returned_value, 0) as returned_value,
        coalesce(refunds.returns, 0) as returns,
        coalesce(refunds.refunds, 0) as refunds,
        coalesce(refunds.pending_refunds, 0) as pending_refunds,
        orders.grand_total,
        shipments.first_shipment_at,
        shipments.shipped_at
    from orders
    left join lines using (order_number)
    left join refunds using (order_number)
    left join shipments using (order_number)
),

sequenced as (
    select
        *,
        round(gross_sales - discounts - refunds, 2) as net_sales,
        case
            when customer_id is not null and not is_cancelled
                then row_number() over (
                    partition by customer_id, is_cancelled order by created_at, order_number
                )
        end as customer_order_sequence
    from measured
)

select
    *,
    case when customer_order_sequence = 1 then 'new' when customer_order_sequence > 1 then 'repeat' end as new_or_repeat,
    date_diff('second', created_at, shipped_at) / 3600.0 as hours_to_ship,
    {{ to_base('gross_sales') }} as gross_sales_base,
    {{ to_base('markdown') }} as markdown_base,
    {{ to_base('discounts') }} as discounts_base,
    {{ to_base('shipping') }} as shipping_base,
    {{ to_base('tax') }} as tax_base,
    {{ to_base('refunds') }} as refunds_base,
    {{ to_base('net_sales') }} as net_sales_base,
    {{ to_base('grand_total') }} as grand_total_base
from sequenced
