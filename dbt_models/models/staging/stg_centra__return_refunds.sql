-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('return_refunds', key=['return_id', 'payment_id'], partition='event', money={'value': 'conversion_rate'}) }}
