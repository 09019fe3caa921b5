-- sales_by_canonical_category by order day and market (product_performance_daily's rows summed per canonical
-- category: each product once), so a day's rows sum to its sales.
{{ sales_by_category(ref('product_performance_daily'), ref('dim_product_categories'), 'is_canonical',
                     by=['order_day', 'order_week', 'order_month', 'market_id']) }}
