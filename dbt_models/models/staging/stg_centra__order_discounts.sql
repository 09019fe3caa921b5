-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('order_discounts', key=['order_number', 'position'], partition='event', money={'value': 'conversion_rate'}) }}
