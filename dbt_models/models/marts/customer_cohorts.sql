-- Cohort month (of the first purchase) by months since then: customers who bought again that month, and what
-- the cohort spent, in the base currency.
with purchases as (
    select
        customer_id,
        date_trunc('month', order_day) as order_month,
        net_sales_base
    from {{ ref('fct_orders') }}
    where customer_id is not null and not is_cancelled
),

cohorts as (
    select customer_id, min(order_month) as cohort_month from purchases group by customer_id
),

sizes as (
    select cohort_month, count(*) as cohort_customers from cohorts group by cohort_month
)

select
    cohorts.cohort_month,
    date_diff('month', cohorts.cohort_month, purchases.order_month) as months_since_first_order,
    any_value(sizes.cohort_customers) as cohort_customers,
    count(distinct purchases.customer_id) as customers_retained,
    round(count(distinct purchases.customer_id) / any_value(sizes.cohort_customers), 4) as retention_rate,
    round(sum(purchases.net_sales_base), 2) as net_sales_base
from purchases
inner join cohorts using (customer_id)
inner join sizes using (cohort_month)
group by all
