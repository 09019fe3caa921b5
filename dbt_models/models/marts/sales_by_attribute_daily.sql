-- sales_by_attribute by order day and market (product_performance_daily's rows summed per attribute value): "margin
-- of the autumn season last month" is the sum of the month's rows of its value.
{{ sales_by_attribute(ref('product_performance_daily'), ref('dim_product_attributes'),
                      by=['order_day', 'order_week', 'order_month', 'market_id']) }}
