-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('shipments', key=['shipment_id'], partition='event', money={'grand_total': 'grand_total_conversion_rate', 'shipping': 'conversion_rate', 'discounts': 'conversion_rate', 'tax_added': 'conversion_rate', 'internal_shipping_cost': 'conversion_rate'}) }}
