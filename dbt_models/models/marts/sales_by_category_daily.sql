-- sales_by_category by order day and market (product_performance_daily's rows summed per category listing a
-- product): "margin by category last week" is the sum of the week's rows. Expected returns: product_performance_daily.
{{ sales_by_category(ref('product_performance_daily'), ref('dim_product_categories'), 'is_listed',
                     by=['order_day', 'order_week', 'order_month', 'market_id']) }}
