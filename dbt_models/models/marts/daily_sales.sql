-- Day (in its store's timezone) by store by market by store type, in the base currency. Sales count on the day the
-- order was placed; returned units on the day the return was completed, refunds on the day they were paid back (the
-- return's refund payment entries; as finance books them, dbt_shopify >= 1.6). The order-day view of returns (the
-- returns of that day's orders, however late they come) is beside it as `order_day_*`. Choices: DECISIONLOG.md.
-- The orders are read once (materialized): the sales and the returns' markets and tax share them.
with orders as materialized (
    select
        store, order_number, order_day, market_id, market_name, store_type, is_cancelled, units, returned_units,
        gross_sales, order_discounts, excl_tax_ratio, included_tax_percent, conversion_rate, currency, gross_sales_base,
        order_discounts_base, net_sales_before_refunds_excl_tax_base, refunds_base, net_sales_base,
        net_sales_excl_tax_base, pending_returns
    from {{ ref('int_orders') }}
),

sales as (
    select
        store,
        order_day as sales_day,
        market_id,
        market_name,
        store_type,
        case when not is_cancelled then 1 else 0 end as orders,
        case when is_cancelled then 1 else 0 end as cancelled_orders,
        units,
        gross_sales_base,
        order_discounts_base,
        {{ to_base(centra_round('gross_sales - order_discounts', 2)) }} as net_sales_before_refunds_base,
        net_sales_before_refunds_excl_tax_base,
        cast(0 as {{ dbt.type_bigint() }}) as returned_units,
        cast(0 as {{ dbt.type_bigint() }}) as completed_returns,
        cast(0 as double precision) as refunds_base,
        cast(0 as double precision) as refunds_excl_tax_base,
        returned_units as order_day_returned_units,
        refunds_base as order_day_refunds_base,
        net_sales_base as order_day_net_sales_base,
        net_sales_excl_tax_base as order_day_net_sales_excl_tax_base,
        pending_returns
    from orders
),

-- completed returns' units, on the day they completed, and refunds, on the day they were paid back; a return whose
-- order (and so market) is unknown keeps its rows
returned as (
    select
        returns.store,
        returns.completed_day as sales_day,
        orders.market_id,
        orders.market_name,
        coalesce(orders.store_type, returns.return_store_type) as store_type,
        returns.units as returned_units,
        1 as completed_returns,
        cast(0 as double precision) as refunds_base,
        -- null, like the refunds', when the order, and so its tax, is unknown
        case when orders.order_number is not null then cast(0 as double precision) end as refunds_excl_tax_base
    from {{ ref('int_returns') }} as returns
    left join orders on returns.store = orders.store and returns.order_number = orders.order_number
    where returns.is_completed

    union all

    select
        refunds.store,
        refunds.refund_day as sales_day,
        orders.market_id,
        orders.market_name,
        coalesce(orders.store_type, returns.return_store_type) as store_type,
        0 as returned_units,
        0 as completed_returns,
        refunds.refund_base as refunds_base,
        -- null when the order, and so its tax, is unknown (the null sums away beside a known one: the day and market
        -- are the order's, so all of a day-market's refunds are known or none is)
        {{ to_base(
            excl_tax('refunds.refund', 'orders.included_tax_percent', 'orders.excl_tax_ratio'), 'refunds.conversion_rate'
        ) }}
            as refunds_excl_tax_base
    from {{ ref('int_return_refunds') }} as refunds
    inner join {{ ref('int_returns') }} as returns
        on refunds.store = returns.store and refunds.return_id = returns.return_id
    left join orders on returns.store = orders.store and returns.order_number = orders.order_number
),

refunded as (
    select
        store,
        sales_day,
        market_id,
        market_name,
        store_type,
        0 as orders,
        0 as cancelled_orders,
        0 as units,
        0 as gross_sales_base,
        0 as order_discounts_base,
        0 as net_sales_before_refunds_base,
        0 as net_sales_before_refunds_excl_tax_base,
        returned_units,
        completed_returns,
        refunds_base,
        refunds_excl_tax_base,
        0 as order_day_returned_units,
        0 as order_day_refunds_base,
        0 as order_day_net_sales_base,
        0 as order_day_net_sales_excl_tax_base,
        0 as pending_returns
    from returned
),

days as (
    select
        store,
        sales_day,
        market_id,
        {{ dbt.any_value('market_name') }} as market_name,
        store_type,
        sum(orders) as orders,
        sum(cancelled_orders) as cancelled_orders,
        sum(units) as units,
        sum(returned_units) as returned_units,
        sum(completed_returns) as completed_returns,
        {{ centra_round('sum(gross_sales_base)', 2) }} as gross_sales_base,
        {{ centra_round('sum(order_discounts_base)', 2) }} as discounts_base,
        {{ centra_round('sum(refunds_base)', 2) }} as refunds_base,
        {{ centra_round('sum(refunds_excl_tax_base)', 2) }} as refunds_excl_tax_base,
        {{ centra_round('sum(net_sales_before_refunds_base) - sum(refunds_base)', 2) }} as net_sales_base,
        {{ centra_round('sum(net_sales_before_refunds_excl_tax_base) - sum(refunds_excl_tax_base)', 2) }}
            as net_sales_excl_tax_base,
        sum(order_day_returned_units) as order_day_returned_units,
        {{ centra_round('sum(order_day_refunds_base)', 2) }} as order_day_refunds_base,
        {{ centra_round('sum(order_day_net_sales_base)', 2) }} as order_day_net_sales_base,
        {{ centra_round('sum(order_day_net_sales_excl_tax_base)', 2) }} as order_day_net_sales_excl_tax_base,
        sum(pending_returns) as pending_returns
    from (
        select * from sales
        union all
        select * from refunded
    ) as booked
    group by store, sales_day, market_id, store_type
),

-- per store: the latest day with orders (how far the data reaches) and the base currency, the one Centra
-- converts at rate 1
stores as (
    select
        store,
        max(order_day) as as_of_day,
        max(case when conversion_rate = 1 then currency end) as base_currency
    from orders
    group by store
)

select
    days.store,
    days.sales_day,
    days.market_id,
    days.market_name,
    days.market_id is not null as is_market_known,
    days.store_type,
    stores.base_currency,
    days.orders,
    days.cancelled_orders,
    days.units,
    days.returned_units,
    days.completed_returns,
    days.gross_sales_base,
    days.discounts_base,
    days.refunds_base,
    days.refunds_excl_tax_base,
    days.net_sales_base,
    days.net_sales_excl_tax_base,
    {{ ratio('days.gross_sales_base - days.discounts_base', 'days.orders', 2) }} as average_order_value_base,
    days.order_day_returned_units,
    days.order_day_refunds_base,
    days.order_day_net_sales_base,
    days.order_day_net_sales_excl_tax_base,
    {{ ratio('days.order_day_returned_units', 'days.units') }} as order_day_return_rate,
    days.pending_returns,
    -- the day's orders can bring no more returns: none pending, and the return window since the day has passed
    days.pending_returns = 0
        and days.sales_day <= cast({{ dbt.dateadd('day', -var('return_window_days'), 'stores.as_of_day') }} as date)
        as are_returns_settled
from days
left join stores on days.store = stores.store
