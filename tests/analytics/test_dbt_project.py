"""The generated dbt staging layer follows the entity specs."""

from centra_assets.analytics.dbt_sources import money_columns, stale
from centra_assets.entities import BY_NAME


def test_the_generated_staging_layer_is_current():
    assert stale() == [], "the entity specs changed: run `make dbt-sources` and commit the result"


def test_money_columns_convert_at_the_rate_recorded_beside_them():
    orders, lines = BY_NAME["orders"].tables[:2]
    assert money_columns(orders)["grand_total"] == "conversion_rate"
    assert "tax_percent" not in money_columns(lines) and money_columns(lines)["unit_price"] == "conversion_rate"
    assert money_columns(BY_NAME["returns"].tables[0]) == {
        "refund_total": "refund_total_conversion_rate",
        **dict.fromkeys(("return_cost", "return_shipping", "return_handling", "return_discounts"), "conversion_rate"),
    }
