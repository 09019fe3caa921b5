-- One row per payment history entry of an order (Centra's paymentHistory): authorisations, captures, refunds and
-- cancellations, in the order's currency and the base currency (at the order's recorded rate), on the day the
-- entry was made (in the store's timezone). `cash_movement_base` signs what moved money: captures +, refunds -;
-- authorisations and cancellations move none.
with payments as (
    select * from {{ ref('stg_centra__order_payments') }}
),

orders as (
    select store, order_number, market_id, store_type from {{ ref('int_orders') }}
)

select
    payments.store,
    payments.order_number,
    payments.payment_id,
    payments.created_at,
    {{ local_day('payments.created_at', 'payments.store') }} as payment_day,
    payments.entry_type,
    payments.status,
    payments.status = 'SUCCESS' as is_successful,
    payments.payment_method,
    payments.external_reference,
    orders.market_id,
    orders.store_type,
    payments.currency,
    payments.conversion_rate,
    payments.value,
    {{ to_base('payments.value') }} as value_base,
    case
        when payments.status <> 'SUCCESS' then 0
        when payments.entry_type = 'CAPTURE' then {{ to_base('payments.value') }}
        when payments.entry_type = 'REFUND' then -{{ to_base('payments.value') }}
        else 0
    end as cash_movement_base
from payments
left join orders on payments.store = orders.store and payments.order_number = orders.order_number
