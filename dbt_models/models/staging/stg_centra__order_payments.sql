-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('order_payments', key=['order_number', 'payment_id'], partition='event', money={'value': 'conversion_rate'}) }}
