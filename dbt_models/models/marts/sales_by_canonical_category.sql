-- One row per store and canonical category (each product's one canonical category, dim_product_categories):
-- product_performance's measures summed over the variants of its products. Every product counts once, products
-- without a canonical category (no display) under category_id null, so the rows sum to the store's totals.
{{ sales_by_category(ref('product_performance'), ref('dim_product_categories'), 'is_canonical') }}
