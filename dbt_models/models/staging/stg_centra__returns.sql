-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('returns', key=['return_id'], partition='event', money={'refund_total': 'refund_total_conversion_rate'}) }}
