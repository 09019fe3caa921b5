-- One row per return: units and goods value returned, the refund Centra states (money back, after order discounts)
-- and what its refund payment entries paid back, the day it was created and the day it was completed, and how long
-- after the order it came. The market and tax come from the order; a return of an order the warehouse does not hold
-- (placed before CENTRA_START_DATE) carries no market of its own, so it keeps its row with `is_market_known` false.
with returns as (
    select * from {{ ref('int_returns') }}
),

-- Centra gives a return line no value of its own: the units returned at the order line's unit price.
lines as (
    select
        return_lines.store,
        return_lines.return_id,
        {{ centra_round('sum(return_lines.quantity * order_lines.unit_price)', 2) }} as returned_value,
        {{ dbt.any_value('order_lines.conversion_rate') }} as rate
    from {{ ref('stg_centra__return_lines') }} as return_lines
    inner join returns as parent
        on return_lines.store = parent.store and return_lines.return_id = parent.return_id
    left join {{ ref('int_order_lines') }} as order_lines
        on return_lines.store = order_lines.store and parent.order_number = order_lines.order_number
        and return_lines.order_line_id = order_lines.line_id
    group by return_lines.store, return_lines.return_id
),

orders as (
    select store, order_number, created_at as order_created_at, market_id, market_name, store_type, excl_tax_ratio,
        included_tax_percent
    from {{ ref('int_orders') }}
)

select
    returns.store,
    returns.return_id,
    returns.order_number,
    returns.shipment_id,
    returns.returned_to_stock,
    returns.return_warehouse_id,  -- where the units went back (Centra's returnWarehouse)
    returns.partition_date as return_day,  -- created, in the store's timezone
    returns.completed_day,
    returns.completed_day_source,
    returns.created_at,
    returns.completed_at,
    returns.return_status,
    returns.is_completed,
    orders.order_number is not null as is_order_synced,
    orders.market_id is not null as is_market_known,
    orders.market_id,
    orders.market_name,
    coalesce(orders.store_type, returns.return_store_type) as store_type,
    orders.order_created_at,
    returns.units,
    coalesce(lines.returned_value, 0) as returned_value,
    {{ to_base('coalesce(lines.returned_value, 0)', 'coalesce(lines.rate, returns.refund_total_conversion_rate)') }}
        as returned_value_base,
    returns.refund_total as refund,
    returns.refund_total_currency as currency,
    returns.refund_total_conversion_rate as conversion_rate,
    {{ to_base('returns.refund_total', 'returns.refund_total_conversion_rate') }} as refund_base,
    -- without tax: by the order's tax, else by the return's own total without tax (an order before the start date)
    {{ to_base(
        'coalesce(' ~ excl_tax('returns.refund_total', 'orders.included_tax_percent', 'orders.excl_tax_ratio')
        ~ ', returns.refund_total_excl_tax)',
        'returns.refund_total_conversion_rate'
    ) }}
        as refund_excl_tax_base,
    returns.refunded,
    returns.refunded_base,
    {{ to_base(
        'coalesce(' ~ excl_tax('returns.refunded', 'orders.included_tax_percent', 'orders.excl_tax_ratio')
        ~ ', ' ~ centra_round('returns.refunded * returns.refund_total_excl_tax / nullif(returns.refund_total, 0)', 2)
        ~ ')',
        'returns.refund_total_conversion_rate'
    ) }}
        as refunded_excl_tax_base,
    {{ centra_round('returns.refund_total - returns.refunded', 2) }} as refund_outstanding,
    returns.last_refunded_at,
    {{ local_day('returns.last_refunded_at', 'returns.store') }} as last_refund_day,
    returns.is_refunded_by_payment_entry,
    {{ hours_between('orders.order_created_at', 'returns.created_at', 86400.0) }} as days_order_to_return
from returns
left join lines on returns.store = lines.store and returns.return_id = lines.return_id
left join orders on returns.store = orders.store and returns.order_number = orders.order_number
