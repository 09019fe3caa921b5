{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_keys': {'key': 'store, order_day', 'sets': [{'model': 'int_performance_days'}]}},
    pre_hook="{{ centra_delete_listed('int_performance_days', 'store, order_day', 'is_sales_changed') }}"
) }}
-- sales_by_attribute by order day and market (product_performance_daily's rows summed per attribute value): "margin
-- of the autumn season last month" is the sum of the month's rows of its value.
-- Incremental (macros/incremental.sql): the days whose sales product_performance_daily recomputed
-- (int_performance_days.is_sales_changed), each summed from that day's rows alone; a day recomputed only for its
-- expected returns keeps its rows. The attributes are a snapshot: taken again, every day is summed anew.
-- depends_on: {{ ref('int_performance_days') }}
{{ sales_by_attribute(performance_of_changed_sales(), ref('dim_product_attributes'),
                      by=['order_day', 'order_week', 'order_month', 'market_id']) }}
