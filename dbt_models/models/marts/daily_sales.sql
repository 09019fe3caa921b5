-- Day (in its store's timezone) by store by market by store type, in the base currency. Sales count on the day the
-- order was placed; returned units on the day the return was completed, refunds on the day they were paid back (the
-- return's refund payment entries; as finance books them, dbt_shopify >= 1.6). The order-day view of returns (the
-- returns of that day's orders, however late they come) is beside it as `order_day_*`. Shipping is beside net sales,
-- not in it (as Shopify reports it), with and without its tax; total sales excluding tax add the two. Choices:
-- DECISIONLOG.md.
-- The rows it adds up are int_sales_booked's (one per order, completed return and refund), which a build recomputes
-- only for the days that changed; the sums over them are cheap.
with booked as (
    select * from {{ ref('int_sales_booked') }}
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
        {{ centra_round('sum(shipping_base)', 2) }} as shipping_base,
        {{ centra_round('sum(shipping_excl_tax_base)', 2) }} as shipping_excl_tax_base,
        sum(order_day_returned_units) as order_day_returned_units,
        {{ centra_round('sum(order_day_refunds_base)', 2) }} as order_day_refunds_base,
        {{ centra_round('sum(order_day_net_sales_base)', 2) }} as order_day_net_sales_base,
        {{ centra_round('sum(order_day_net_sales_excl_tax_base)', 2) }} as order_day_net_sales_excl_tax_base,
        sum(pending_returns) as pending_returns
    from booked
    group by store, sales_day, market_id, store_type
),

-- per store: the first and the latest day with orders (where the synced history starts, how far it reaches) and the
-- base currency, the one Centra converts at rate 1
stores as (
    select
        store,
        min(order_day) as first_day,
        max(order_day) as as_of_day,
        max(case when conversion_rate = 1 then currency end) as base_currency
    from {{ ref('int_orders') }}
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
    days.shipping_base,
    days.shipping_excl_tax_base,
    -- what the day's sales brought in without tax, shipping included (net sales leave shipping out)
    {{ centra_round('days.net_sales_excl_tax_base + days.shipping_excl_tax_base', 2) }} as total_sales_excl_tax_base,
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
        as are_returns_settled,
    -- the day's returned units, refunds and net sales may miss returns of orders placed before the first synced day
    -- (sales_calendar marks its days by the same rule): on the day's row, where an analyst sums them
    {{ depends_on_history_before_start('days.sales_day', 'stores.first_day') }} as depends_on_history_before_start
from days
left join stores on days.store = stores.store
