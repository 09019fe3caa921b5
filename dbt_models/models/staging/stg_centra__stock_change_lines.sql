-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('stock_change_lines', key=['line_id'], partition='event', money={'unit_cost': 'conversion_rate'}) }}
