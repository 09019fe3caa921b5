-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('currencies', key=['currency_id'], partition='snapshot', money={}) }}
