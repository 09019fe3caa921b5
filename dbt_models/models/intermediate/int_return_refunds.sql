{{ config(materialized='table') }}  -- small (one row per return or refund): read several times, written once
-- One row per refund booked, in the return's currency: each successful REFUND entry of a return's refund payment
-- history (Centra's refundPaymentHistory: the money going back, on the day it went), and, for a completed return
-- with no such entry synced (a store whose payment history is not readable, a refund made outside Centra), the
-- return's refund total on the day it completed (created, on a store without Return.completedAt); each with its
-- value without tax, from the return's own totals. Choices: DECISIONLOG.md.
with returns as (
    select
        store, return_id, return_status, created_at, completed_at, refund_total, refund_total_excl_tax,
        refund_total_conversion_rate
    from {{ ref('stg_centra__returns') }}
),

entries as (
    select store, return_id, payment_id, created_at, value, conversion_rate
    from {{ ref('stg_centra__return_refunds') }}
    where entry_type = 'REFUND' and status = 'SUCCESS'
),

booked as (
    select
        entries.store,
        entries.return_id,
        entries.payment_id,
        entries.created_at as refunded_at,
        entries.value as refund,
        returns.refund_total,
        returns.refund_total_excl_tax,
        coalesce(entries.conversion_rate, returns.refund_total_conversion_rate) as conversion_rate,
        true as is_payment_entry
    from entries
    inner join returns on entries.store = returns.store and entries.return_id = returns.return_id

    union all

    select
        returns.store,
        returns.return_id,
        cast(null as {{ dbt.type_bigint() }}) as payment_id,
        -- a store without Return.completedAt: the day it was created (int_returns' completed_day does the same)
        coalesce(returns.completed_at, returns.created_at) as refunded_at,
        returns.refund_total as refund,
        returns.refund_total,
        returns.refund_total_excl_tax,
        returns.refund_total_conversion_rate as conversion_rate,
        false as is_payment_entry
    from returns
    where returns.return_status = 'COMPLETED'
        and not exists (select 1 from entries where entries.store = returns.store and entries.return_id = returns.return_id)
)

select
    booked.store,
    booked.return_id,
    booked.payment_id,
    booked.refunded_at,
    {{ local_day('booked.refunded_at', 'booked.store') }} as refund_day,
    booked.refund,
    -- without its tax, in the return's own share (Centra's grandTotal(includingTax: false) over grandTotal): known
    -- from the return alone, so also for a return whose order lies before the start date
    case when booked.refund = booked.refund_total then booked.refund_total_excl_tax
        else {{ centra_round('booked.refund * booked.refund_total_excl_tax / nullif(booked.refund_total, 0)', 2) }}
    end as refund_excl_tax,
    booked.conversion_rate,
    {{ to_base('booked.refund') }} as refund_base,
    booked.is_payment_entry
from booked
