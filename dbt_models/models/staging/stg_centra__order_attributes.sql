-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('order_attributes', key=['order_number', 'attribute_type', 'element_key'], partition='event', money={}) }}
