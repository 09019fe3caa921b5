{{ config(materialized='table') }}
-- The store days whose product_performance_daily rows an incremental build recomputes (macros/incremental.sql,
-- centra_listed_only), and of those, the days whose rows the daily sums of it (sales_by_attribute_daily, sales_by_category_daily,
-- sales_by_canonical_category_daily) recompute (is_sales_changed). A
-- day's sales, costs and margins change when its order lines do (the `order` days of int_changed_days), when a variant
-- sold that day costs something else (dim_variant_costs: deliveries change landed costs), or when the store's base
-- currency changed. A day's expected returns change with the settled history, the return curve and the store's
-- latest day, which almost any change moves: every day not settled, in this build or the last, is recomputed too
-- (the daily sums have no expected returns). Read before those marts are rebuilt: their last build is still
-- in place. Empty in a full build.
-- depends_on: {{ ref('int_changed_days') }} {{ ref('daily_sales') }} {{ ref('dim_variant_costs') }} {{ ref('int_orders') }}
{%- set node = graph.nodes['model.centra.product_performance_daily'] %}
{%- set previous = adapter.get_relation(node.database, node.schema, node.alias) if execute else none %}
{%- set previous = previous if centra_changed() is not none and not flags.FULL_REFRESH else none %}
{%- if previous %}
with base as (  -- as product_performance_daily finds it
    select store, max(case when conversion_rate = 1 then currency end) as base_currency
    from {{ ref('int_orders') }}
    group by store
),

days as (
    select store, day as order_day, true as is_sales_changed
    from {{ ref('int_changed_days') }}
    where anchor = 'order'
    union all
    select distinct previous.store, previous.order_day, true as is_sales_changed
    from {{ previous }} as previous
    left join {{ ref('dim_variant_costs') }} as costs
        on previous.store = costs.store and previous.variant_id = costs.variant_id
    left join base on previous.store = base.store
    where previous.unit_cost_base is distinct from costs.unit_cost_base
        or previous.landed_unit_cost_base is distinct from costs.landed_unit_cost_base
        or previous.base_currency is distinct from base.base_currency
    union all
    select distinct store, sales_day, false as is_sales_changed
    from {{ ref('daily_sales') }}
    where market_id is not null and not are_returns_settled
    union all
    select distinct store, order_day, false as is_sales_changed
    from {{ previous }}
    where not are_returns_settled
)

select store, order_day, {{ dbt.bool_or('is_sales_changed') }} as is_sales_changed
from days
group by store, order_day
{%- else %}
select cast(null as varchar) as store, cast(null as date) as order_day, cast(null as boolean) as is_sales_changed
where 1 = 0
{%- endif %}
