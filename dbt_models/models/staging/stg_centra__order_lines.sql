-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('order_lines', key=['order_number', 'line_id'], partition='event', money={'unit_price': 'conversion_rate', 'unit_original_price': 'conversion_rate', 'line_value': 'conversion_rate'}) }}
