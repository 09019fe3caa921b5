-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('customer_attributes', key=['customer_id', 'attribute_type', 'element_key'], partition='snapshot', money={}) }}
