-- One row per store, attribute element (level, type, key) and value: product_performance's measures summed over the
-- variants that have the value (a product-level attribute gives its value to each of the product's variants). Within
-- one attribute element every variant counts once, under its value or under value_key null (not set), so that
-- element's rows sum to the store's totals; summed over several elements they count each variant once per element.
with attributes as (
    select * from {{ ref('dim_product_attributes') }}
),

elements as (
    select distinct store, attribute_level, attribute_type, element_key from attributes
)

select
    elements.store,
    elements.attribute_level,
    elements.attribute_type,
    elements.element_key,
    attributes.value_key,
    max(attributes.value_name) as value_name,
    {{ sum_product_performance('performance') }}
from elements
inner join {{ ref('product_performance') }} as performance on elements.store = performance.store
left join attributes
    on elements.store = attributes.store
    and elements.attribute_level = attributes.attribute_level
    and elements.attribute_type = attributes.attribute_type
    and elements.element_key = attributes.element_key
    and performance.product_id = attributes.product_id
    and (elements.attribute_level = 'product' or performance.variant_id = attributes.variant_id)
group by elements.store, elements.attribute_level, elements.attribute_type, elements.element_key, attributes.value_key
