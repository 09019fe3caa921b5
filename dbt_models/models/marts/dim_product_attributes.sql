-- One row per store, product or variant, and attribute element (latest catalogue snapshot): Centra's custom
-- attributes (season, material, colour family, ...) as a long table, the shape every store shares, whatever
-- attributes it defines. A choice element has a selected value (its key) and that value's name; a free-text element
-- has its text, which is both. Product-level attributes apply to every variant of the product.
with products as (
    select
        store,
        'product' as attribute_level,
        product_id,
        cast(null as bigint) as variant_id,
        attribute_type,
        element_key,
        element_kind,
        coalesce(selected_value, value) as value_key,
        coalesce(selected_value_name, value) as value_name
    from {{ ref('stg_centra__product_attributes') }}
    where is_latest_snapshot
),

variants as (
    select
        attributes.store,
        'variant' as attribute_level,
        variants.product_id,
        attributes.variant_id,
        attributes.attribute_type,
        attributes.element_key,
        attributes.element_kind,
        coalesce(attributes.selected_value, attributes.value) as value_key,
        coalesce(attributes.selected_value_name, attributes.value) as value_name
    from {{ ref('stg_centra__variant_attributes') }} as attributes
    left join {{ ref('stg_centra__variants') }} as variants
        on attributes.store = variants.store and attributes.variant_id = variants.variant_id
        and variants.is_latest_snapshot
    where attributes.is_latest_snapshot
)

select * from products
union all
select * from variants
