-- One row per store and calendar day (in the store's timezone), every day from the store's first synced order day
-- to its latest, with or without sales: the day's totals over all markets from daily_sales (base currency), and
-- whether the day is complete: its orders were synced whole after the day had ended (on a later day, in the store's
-- timezone) and the store has orders of a later day, so no order of it is missing; and whether its returns, refunds
-- (and shipments) may still belong to orders placed before the first synced day, which the warehouse does not hold.
{% set measures = ['orders', 'cancelled_orders', 'units', 'returned_units', 'gross_sales_base', 'discounts_base',
                   'refunds_base', 'net_sales_base', 'net_sales_excl_tax_base', 'shipping_excl_tax_base',
                   'total_sales_excl_tax_base'] %}
with orders as (
    select
        store,
        partition_date as order_day,
        -- when the day's partition was last synced whole: a whole sync stamps every row, while a refresh (a
        -- webhook, the sweep) stamps only the orders it re-read, so the earliest stamp is the whole sync's
        min(loaded_at) as loaded_at
    from {{ ref('int_orders') }}  -- every order staged, a table (the staging view reads every raw file)
    group by store, partition_date
),

bounds as (
    select store, min(order_day) as first_day, max(order_day) as last_day from orders group by store
),

series as (  -- 1 .. 20000: days enough for 54 years of one store
    {{ dbt.generate_series(20000) }}
),

spine as (
    select
        bounds.store,
        cast({{ dbt.dateadd('day', 'series.generated_number - 1', 'bounds.first_day') }} as date) as calendar_day
    from bounds
    inner join series
        on series.generated_number <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }} + 1
),

sales as (
    select
        store,
        sales_day,
        {% for m in measures %}{{ centra_round('sum(' ~ m ~ ')', 2) if m.endswith('_base') else 'sum(' ~ m ~ ')' }} as {{ m }},
        {% endfor %}
        not {{ dbt.bool_or('not are_returns_settled') }} as are_returns_settled
    from {{ ref('daily_sales') }}
    group by store, sales_day
)

select
    spine.store,
    spine.calendar_day,
    cast({{ dbt.date_trunc('week', 'spine.calendar_day') }} as date) as calendar_week,
    cast({{ dbt.date_trunc('month', 'spine.calendar_day') }} as date) as calendar_month,
    cast(extract(isodow from spine.calendar_day) as integer) as iso_weekday,
    {% for m in measures %}coalesce(sales.{{ m }}, 0) as {{ m }},
    {% endfor %}
    coalesce(sales.orders, 0) + coalesce(sales.cancelled_orders, 0) > 0 as has_orders,
    coalesce(
        {{ local_day('orders.loaded_at', 'orders.store') }} > spine.calendar_day and spine.calendar_day < bounds.last_day,
        false
    ) as is_day_complete,
    coalesce(sales.are_returns_settled, false) as are_returns_settled,
    -- within the return window of the first synced day, a day's returns and refunds may be of orders placed before
    -- it: returns created before that day are not synced, and those of later days lack their order's market, so the
    -- day's returned units, refunds and net sales are not complete (DECISIONLOG.md, "History before the start date")
    {{ depends_on_history_before_start('spine.calendar_day', 'bounds.first_day') }} as depends_on_history_before_start
from spine
left join sales on spine.store = sales.store and spine.calendar_day = sales.sales_day
left join orders on spine.store = orders.store and spine.calendar_day = orders.order_day
inner join bounds on spine.store = bounds.store
