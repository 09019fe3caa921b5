-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('shipment_lines', key=['shipment_id', 'line_id'], partition='event', money={'line_value': 'conversion_rate'}) }}
