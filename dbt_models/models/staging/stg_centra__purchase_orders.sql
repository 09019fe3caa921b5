-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('purchase_orders', key=['purchase_order_id'], partition='event', money={'total_value': 'total_value_conversion_rate'}) }}
