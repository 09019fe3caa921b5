{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_keys': {'key': 'store, order_day', 'sets': [{'model': 'int_performance_days'}]}},
    pre_hook="{{ centra_delete_listed('int_performance_days', 'store, order_day') }}"
) }}
-- One row per store, order day, market and variant sold that day: product_performance's sales, cost and margin at
-- the grain "margin by category last week" or "sell-through since launch" need (sum the rows of the days wanted;
-- order_week and order_month group them), with the returns still expected. Stock is not by day: product_performance
-- has today's. Money in the base currency.
--
-- Expected returns (DECISIONLOG.md, "Expected returns"): a day whose returns are settled (daily_sales) expects the
-- returns it booked. A day not settled expects what it booked plus the part of its eventual returns that has not
-- come yet (Bornhuetter-Ferguson): units sold * the settled return rate * (1 - the share of returns that come by
-- the day's age). The rate is the product's in the market over settled days (when they sold it at least var
-- expected_returns_min_units times there), else the market's over every product; the share by age is the store's,
-- from when the returns of days older than the return window were created. Without settled history in the
-- market there is no estimate (null).
--
-- Incremental (macros/incremental.sql): the days int_performance_days lists (those whose sales changed, those not
-- settled, those of a variant whose cost changed), from int_variant_days; the settled history the rates come from
-- is int_variant_days whole, a sum per day and variant rather than every order line.
-- depends_on: {{ ref('int_performance_days') }}
{%- set listed = centra_listed_only('int_performance_days') %}
with all_days as (
    select * from {{ ref('int_variant_days') }}
),

days as (  -- the days this build writes
    select * from all_days
    {%- if listed %}
    where {{ centra_listed('int_performance_days', 'store, order_day') }}
    {%- endif %}
),

settled as (  -- the order days and markets whose returns are settled (every store type of the market)
    select store, sales_day, market_id
    from {{ ref('daily_sales') }}
    where market_id is not null
    group by store, sales_day, market_id
    having min(case when are_returns_settled then 1 else 0 end) = 1
),

marked as (
    select days.*, settled.sales_day is not null as are_returns_settled
    from days
    left join settled
        on days.store = settled.store and days.order_day = settled.sales_day and days.market_id = settled.market_id
),

product_rates as (  -- over every settled day, written by this build or not
    select all_days.store, all_days.product_id, all_days.market_id, sum(all_days.units_sold) as units_sold,
        sum(all_days.units_returned) as units_returned
    from all_days
    inner join settled
        on all_days.store = settled.store and all_days.order_day = settled.sales_day
        and all_days.market_id = settled.market_id
    group by all_days.store, all_days.product_id, all_days.market_id
),

market_rates as (
    select store, market_id, sum(units_sold) as units_sold, sum(units_returned) as units_returned
    from product_rates
    group by store, market_id
),

stores as (
    select store, max(order_day) as as_of_day from all_days group by store
),

return_lags as (  -- returned units of orders older than the return window, by days from the order to the return
    select
        returns.store,
        {{ dbt.datediff('orders.order_day', 'returns.return_day', 'day') }} as lag_days,
        sum(returns.units) as units
    from {{ ref('fct_returns') }} as returns
    inner join {{ ref('int_orders') }} as orders
        on returns.store = orders.store and returns.order_number = orders.order_number
    inner join stores on returns.store = stores.store
    where orders.order_day <= cast({{ dbt.dateadd('day', -var('return_window_days'), 'stores.as_of_day') }} as date)
    group by returns.store, {{ dbt.datediff('orders.order_day', 'returns.return_day', 'day') }}
),

return_curve as (  -- the share of a day's eventual returns created within lag_days of it
    select
        store,
        lag_days,
        cast(sum(units) over (partition by store order by lag_days rows between unbounded preceding and current row)
            as double precision) / sum(units) over (partition by store) as returned_share
    from return_lags
),

day_ages as (  -- each order day's share of returns already come, by its age on the store's latest day
    select ages.store, ages.order_day, coalesce(max(return_curve.returned_share), 0) as returned_share
    from (
        select distinct days.store, days.order_day, {{ dbt.datediff('days.order_day', 'stores.as_of_day', 'day') }} as age
        from days
        inner join stores on days.store = stores.store
    ) as ages
    left join return_curve on ages.store = return_curve.store and return_curve.lag_days <= ages.age
    group by ages.store, ages.order_day
),

rated as (
    select
        marked.*,
        day_ages.returned_share,
        case
            when marked.are_returns_settled then 'booked'
            when product_rates.units_sold >= {{ var('expected_returns_min_units') }} then 'product_market'
            when market_rates.units_sold > 0 then 'market'
        end as expected_returns_basis,
        case
            when product_rates.units_sold >= {{ var('expected_returns_min_units') }}
                then cast(product_rates.units_returned as double precision) / product_rates.units_sold
            when market_rates.units_sold > 0
                then cast(market_rates.units_returned as double precision) / market_rates.units_sold
        end as settled_return_rate
    from marked
    left join product_rates
        on marked.store = product_rates.store and marked.product_id = product_rates.product_id
        and marked.market_id = product_rates.market_id
    left join market_rates on marked.store = market_rates.store and marked.market_id = market_rates.market_id
    left join day_ages on marked.store = day_ages.store and marked.order_day = day_ages.order_day
),

expected as (
    select
        rated.*,
        case
            when are_returns_settled then cast(units_returned as double precision)
            else units_returned + units_sold * settled_return_rate * (1 - returned_share)
        end as expected_units_returned
    from rated
),

base as (  -- the currency the store's orders convert at rate 1
    select store, max(case when conversion_rate = 1 then currency end) as base_currency
    from {{ ref('int_orders') }}
    group by store
)

select
    expected.store,
    expected.order_day,
    cast({{ dbt.date_trunc('week', 'expected.order_day') }} as date) as order_week,
    cast({{ dbt.date_trunc('month', 'expected.order_day') }} as date) as order_month,
    expected.market_id,
    expected.store_type,
    expected.product_id,
    expected.variant_id,
    base.base_currency,
    expected.units_sold,
    expected.units_returned,
    expected.units_kept,
    expected.gross_sales_base,
    expected.gross_sales_excl_tax_base,
    expected.discounts_excl_tax_base,
    expected.net_sales_excl_tax_base,
    expected.kept_sales_excl_tax_base,
    costs.unit_cost_base,
    costs.landed_unit_cost_base,
    {{ cost_and_margin('expected.units_kept', 'expected.kept_sales_excl_tax_base', 'costs.unit_cost_base',
                       'costs.landed_unit_cost_base') }},
    expected.are_returns_settled,
    expected.expected_returns_basis,
    {{ centra_round('expected.expected_units_returned', 2) }} as expected_units_returned,
    {{ ratio('expected.expected_units_returned', 'expected.units_sold') }} as expected_return_rate,
    -- the sales the units expected back will take away, at the day's average net price of a unit sold
    {{ centra_round('expected.net_sales_excl_tax_base - expected.expected_units_returned * expected.net_sales_excl_tax_base'
                    ~ ' / nullif(expected.units_sold, 0)', 2) }} as net_sales_excl_tax_after_expected_returns_base
from expected
left join {{ ref('dim_variant_costs') }} as costs
    on expected.store = costs.store and expected.variant_id = costs.variant_id
left join base on expected.store = base.store
