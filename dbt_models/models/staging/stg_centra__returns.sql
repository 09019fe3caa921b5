-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('returns', key=['return_id'], partition='event', money={'refund_total': 'refund_total_conversion_rate', 'return_cost': 'conversion_rate', 'return_shipping': 'conversion_rate', 'return_handling': 'conversion_rate', 'return_discounts': 'conversion_rate'}) }}
