-- Cohort (month of the customers' first order ever) by order month, per store: the cohort's size, who bought that
-- month, and what the cohort has spent, that month and cumulatively since its first month (lifetime value), in the
-- base currency. Customers whose first order ever lies before the synced range, or of whom that is unknown
-- (dim_customers.cohort_month null), are one row per month with cohort_month null: bought, not known since when. Months run from the cohort's
-- first to the store's latest month with orders; a month without purchases has a row (the value carries on).
-- `is_month_complete` says whether every day of the order month is synced and complete (sales_calendar): the month
-- in progress, and a first month that began before the start date, are partial, so their retention reads low.
with purchases as (  -- per customer and month of purchase: the orders, joined with the customers once
    select
        store,
        customer_id,
        cast({{ dbt.date_trunc('month', 'order_day') }} as date) as order_month,
        count(*) as orders,
        sum(net_sales_base) as net_sales_base
    from {{ ref('fct_orders') }}
    where customer_id is not null and not is_cancelled
    group by store, customer_id, cast({{ dbt.date_trunc('month', 'order_day') }} as date)
),

customers as (
    select store, customer_id, cohort_month
    from {{ ref('dim_customers') }}
    where lifetime_orders > 0
),

bought as (  -- one row per customer and month they bought in, with their cohort
    select purchases.*, customers.cohort_month
    from purchases
    inner join customers on purchases.store = customers.store and purchases.customer_id = customers.customer_id
),

cohorts as (
    select
        store,
        cohort_month,
        min(first_month) as first_month,
        count(*) as cohort_customers
    from (
        select store, customer_id, cohort_month, min(order_month) as first_month
        from bought
        group by store, customer_id, cohort_month
    ) as per_customer
    group by store, cohort_month
),

months as (
    select distinct store, order_month from purchases
),

spine as (
    select cohorts.store, cohorts.cohort_month, cohorts.cohort_customers, months.order_month
    from cohorts
    inner join months on cohorts.store = months.store and months.order_month >= cohorts.first_month
),

monthly as (
    select
        store,
        cohort_month,
        order_month,
        count(*) as customers_retained,
        sum(orders) as orders,
        sum(net_sales_base) as net_sales_base
    from bought
    group by store, cohort_month, order_month
),

complete_months as (  -- months whose every day sales_calendar holds and calls complete
    select store, calendar_month as order_month
    from {{ ref('sales_calendar') }}
    group by store, calendar_month
    having not {{ dbt.bool_or('not is_day_complete') }}
        and count(*) = {{ dbt.datediff('calendar_month', dbt.dateadd('month', 1, 'calendar_month'), 'day') }}
),

joined as (
    select
        spine.store,
        spine.cohort_month,
        spine.order_month,
        spine.cohort_customers,
        coalesce(monthly.customers_retained, 0) as customers_retained,
        coalesce(monthly.orders, 0) as orders,
        coalesce(monthly.net_sales_base, 0) as net_sales_base,
        complete_months.order_month is not null as is_month_complete
    from spine
    left join complete_months on spine.store = complete_months.store and spine.order_month = complete_months.order_month
    left join monthly
        on spine.store = monthly.store and spine.order_month = monthly.order_month
        and (spine.cohort_month = monthly.cohort_month or (spine.cohort_month is null and monthly.cohort_month is null))
)

select
    store,
    cohort_month,
    cohort_month is not null as is_cohort_known,
    order_month,
    is_month_complete,
    {{ dbt.datediff('cohort_month', 'order_month', 'month') }} as months_since_first_order,
    cohort_customers,
    customers_retained,
    {{ ratio('customers_retained', 'cohort_customers') }} as retention_rate,
    orders,
    {{ centra_round('net_sales_base', 2) }} as net_sales_base,
    {{ centra_round('sum(net_sales_base) over (partition by store, cohort_month order by order_month rows between unbounded preceding and current row)', 2) }}
        as cumulative_net_sales_base,
    {{ centra_round('sum(net_sales_base) over (partition by store, cohort_month order by order_month rows between unbounded preceding and current row) / cohort_customers', 2) }}
        as cumulative_net_sales_per_customer_base
from joined
