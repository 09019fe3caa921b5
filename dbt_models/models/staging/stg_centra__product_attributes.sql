-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('product_attributes', key=['product_id', 'attribute_type', 'element_key'], partition='snapshot', money={}) }}
