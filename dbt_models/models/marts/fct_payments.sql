{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_keys': {'key': 'store, order_number', 'sets': [
        {'model': 'int_orders', 'day': 'order_day', 'anchor': 'order'},
        {'model': 'int_returns', 'day': 'partition_date', 'anchor': 'return'}]}},
    pre_hook="{{ centra_delete_changed_keys([
        {'when': 'return_id is null', 'key': 'store, order_number', 'model': 'int_orders', 'day': 'order_day',
         'anchor': 'order'},
        {'when': 'return_id is not null', 'key': 'store, return_id', 'model': 'int_returns', 'day': 'partition_date',
         'anchor': 'return'}]) }}"
) }}
-- One row per payment entry of an order: its payment history (Centra's paymentHistory: authorisations, captures,
-- refunds and cancellations) and its returns' refund entries (refundPaymentHistory, where live stores keep refunds),
-- an entry in both counted once; in the order's currency and the base currency (at the recorded rate), on the day
-- the entry was made (in the store's timezone). `cash_movement_base` signs what moved money: captures +, refunds -;
-- authorisations and cancellations move none. Incremental (macros/incremental.sql): an order's entries by its day, a
-- return's by the return's (its raw partitions); an entry in both belongs to the order, whose day a changed return
-- recomputes, and a changed order recomputes its returns' days.
-- depends_on: {{ ref('int_changed_days') }} {{ ref('int_returns') }}
{%- set days = {'order': centra_changed_days('order'), 'return': centra_changed_days('return')}
    if centra_incremental() else none %}
with order_entries as (
    select store, order_number, payment_id, created_at, entry_type, status, payment_method, external_reference,
        currency, conversion_rate, value, cast(null as {{ dbt.type_bigint() }}) as return_id
    {%- if days is not none %}
    from {{ centra_staged('order_payments', days['order']) }} as payments
    {%- else %}
    from {{ ref('stg_centra__order_payments') }}
    {%- endif %}
),

return_entries as (
    select refunds.store, returns.order_number, refunds.payment_id, refunds.created_at, refunds.entry_type,
        refunds.status, refunds.payment_method, cast(null as {{ dbt.type_string() }}) as external_reference,
        refunds.currency, refunds.conversion_rate, refunds.value, refunds.return_id
    {%- if days is not none %}
    from {{ centra_staged('return_refunds', days['return']) }} as refunds
    inner join {{ centra_staged('returns', days['return']) }} as returns
    {%- else %}
    from {{ ref('stg_centra__return_refunds') }} as refunds
    inner join {{ ref('stg_centra__returns') }} as returns
    {%- endif %}
        on refunds.store = returns.store and refunds.return_id = returns.return_id
),

-- the order entries a return's entry may repeat: in a build by day, those recomputed and those this table keeps (its
-- pre-hook has deleted the ones recomputed). A recomputed return day holds returns of orders whose own day is not
-- recomputed (it is recomputed for another order's sake, or an earlier build's): their entries are only here.
order_keys as (
    select store, order_number, payment_id from order_entries
    {%- if days is not none %}
    union all
    select store, order_number, payment_id from {{ this }} where return_id is null
    {%- endif %}
),

payments as (
    select * from order_entries
    union all
    select * from return_entries
    where not exists (
        select 1 from order_keys
        where order_keys.store = return_entries.store and order_keys.order_number = return_entries.order_number
            and order_keys.payment_id = return_entries.payment_id
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
