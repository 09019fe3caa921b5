{{ config(materialized='table') }}  -- small (one row per return or refund): read several times, written once
-- Per return, what needs nothing of its order: units returned, the refund Centra states (refund_total) and what
-- was refunded (int_return_refunds), the days it was created, completed and last refunded. fct_returns adds the
-- order (market, tax, goods value); daily_sales books the units on the completed day and the refunds on theirs.
with lines as (
    select store, return_id, sum(quantity) as units
    from {{ ref('stg_centra__return_lines') }}
    group by store, return_id
),

refunded as (
    select
        store,
        return_id,
        sum(refund) as refunded,
        sum(refund_base) as refunded_base,
        max(refunded_at) as last_refunded_at,
        max(case when is_payment_entry then 1 else 0 end) = 1 as is_refunded_by_payment_entry
    from {{ ref('int_return_refunds') }}
    group by store, return_id
)

select
    returns.*,
    -- a store whose Centra version has no Return.completedAt (the sync leaves it null and says so): a completed
    -- return's day is its last refund entry's, else its creation's, and completed_day_source says which
    case when returns.return_status = 'COMPLETED' then {{ local_day(
        'coalesce(returns.completed_at, refunded.last_refunded_at, returns.created_at)', 'returns.store') }}
    end as completed_day,
    case
        when returns.return_status <> 'COMPLETED' then null
        when returns.completed_at is not null then 'completed_at'
        when refunded.last_refunded_at is not null then 'last_refund_entry'
        else 'created_at'
    end as completed_day_source,
    returns.return_status = 'COMPLETED' as is_completed,
    -- the return's own type tells the store type when its order is not in the warehouse
    case
        when returns.return_type like 'Wholesale%' then 'WHOLESALE'
        when returns.return_type like 'DirectToConsumer%' then 'DIRECT_TO_CONSUMER'
    end as return_store_type,
    coalesce(lines.units, 0) as units,
    coalesce(refunded.refunded, 0) as refunded,
    coalesce(refunded.refunded_base, 0) as refunded_base,
    refunded.last_refunded_at,
    coalesce(refunded.is_refunded_by_payment_entry, false) as is_refunded_by_payment_entry
from {{ ref('stg_centra__returns') }} as returns
left join lines on returns.store = lines.store and returns.return_id = lines.return_id
left join refunded on returns.store = refunded.store and returns.return_id = refunded.return_id
