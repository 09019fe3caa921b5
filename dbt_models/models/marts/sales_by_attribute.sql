-- One row per store, attribute element (level, type, key) and value: product_performance's measures summed over the
-- variants that have the value (a product-level attribute gives its value to each of the product's variants). Within
-- one attribute element every variant counts once, under its value or under value_key null (not set), so that
-- element's rows sum to the store's totals; summed over several elements they count each variant once per element.
{{ sales_by_attribute(ref('product_performance'), ref('dim_product_attributes')) }}
