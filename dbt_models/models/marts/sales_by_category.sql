-- One row per store and category a product is listed in (dim_product_categories): product_performance's measures
-- summed over the variants of the products listed in it. A product listed in several categories (a top category
-- and its subcategory, say) counts in each: rows do not sum to the store's totals. sales_by_canonical_category
-- counts each product once.
{{ sales_by_category(ref('product_performance'), ref('dim_product_categories'), 'is_listed') }}
