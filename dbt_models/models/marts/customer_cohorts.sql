-- Cohort month (of the first purchase) by months since then, per store: customers who bought again that month,
-- and what the cohort spent, in the base currency.
with purchases as (
    select
        store,
        customer_id,
        cast({{ dbt.date_trunc('month', 'order_day') }} as date) as order_month,
        net_sales_base
    from {{ ref('fct_orders') }}
    where customer_id is not null and not is_cancelled
),

cohorts as (
    select store, customer_id, min(order_month) as cohort_month from purchases group by store, customer_id
),

sizes as (
    select store, cohort_month, count(*) as cohort_customers from cohorts group by store, cohort_month
)

select
    cohorts.store,
    cohorts.cohort_month,
    {{ dbt.datediff('cohorts.cohort_month', 'purchases.order_month', 'month') }} as months_since_first_order,
    max(sizes.cohort_customers) as cohort_customers,
    count(distinct purchases.customer_id) as customers_retained,
    {{ ratio('count(distinct purchases.customer_id)', 'max(sizes.cohort_customers)') }} as retention_rate,
    {{ centra_round('sum(purchases.net_sales_base)', 2) }} as net_sales_base
from purchases
inner join cohorts on purchases.store = cohorts.store and purchases.customer_id = cohorts.customer_id
inner join sizes on cohorts.store = sizes.store and cohorts.cohort_month = sizes.cohort_month
group by cohorts.store, cohorts.cohort_month, {{ dbt.datediff('cohorts.cohort_month', 'purchases.order_month', 'month') }}
