{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_keys': {'key': 'store, order_day', 'sets': [{'model': 'int_performance_days'}]}},
    pre_hook="{{ centra_delete_listed('int_performance_days', 'store, order_day', 'is_sales_changed') }}"
) }}
-- sales_by_canonical_category by order day and market (product_performance_daily's rows summed per canonical
-- category: each product once), so a day's rows sum to its sales.
-- Incremental (macros/incremental.sql): the days whose sales product_performance_daily recomputed, as
-- sales_by_attribute_daily; the categories are a snapshot: taken again, every day is summed anew.
-- depends_on: {{ ref('int_performance_days') }}
{{ sales_by_category(performance_of_changed_sales(), ref('dim_product_categories'), 'is_canonical',
                     by=['order_day', 'order_week', 'order_month', 'market_id']) }}
