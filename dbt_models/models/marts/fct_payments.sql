-- One row per payment entry of an order: its payment history (Centra's paymentHistory: authorisations, captures,
-- refunds and cancellations) and its returns' refund entries (refundPaymentHistory, where live stores keep refunds),
-- an entry in both counted once; in the order's currency and the base currency (at the recorded rate), on the day
-- the entry was made (in the store's timezone). `cash_movement_base` signs what moved money: captures +, refunds -;
-- authorisations and cancellations move none.
with order_entries as (
    select store, order_number, payment_id, created_at, entry_type, status, payment_method, external_reference,
        currency, conversion_rate, value, cast(null as {{ dbt.type_bigint() }}) as return_id
    from {{ ref('stg_centra__order_payments') }}
),

return_entries as (
    select refunds.store, returns.order_number, refunds.payment_id, refunds.created_at, refunds.entry_type,
        refunds.status, refunds.payment_method, cast(null as {{ dbt.type_string() }}) as external_reference,
        refunds.currency, refunds.conversion_rate, refunds.value, refunds.return_id
    from {{ ref('stg_centra__return_refunds') }} as refunds
    inner join {{ ref('stg_centra__returns') }} as returns
        on refunds.store = returns.store and refunds.return_id = returns.return_id
),

payments as (
    select * from order_entries
    union all
    select * from return_entries
    where not exists (
        select 1 from order_entries
        where order_entries.store = return_entries.store and order_entries.order_number = return_entries.order_number
            and order_entries.payment_id = return_entries.payment_id
    )
),

orders as (
    select store, order_number, market_id, store_type from {{ ref('int_orders') }}
)

select
    payments.store,
    payments.order_number,
    payments.payment_id,
    payments.return_id,
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
