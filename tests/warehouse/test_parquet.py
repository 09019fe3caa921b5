"""Raw data that stays true (warehouse/parquet.py `to_arrow`): a value that fits its column is stored as it is; one
that does not is refused, naming the table, the column, the value and the record, never converted."""

from __future__ import annotations

import pyarrow as pa
import pytest

from centra_assets.entities.spec import TIMESTAMP
from centra_assets.warehouse.parquet import SchemaDriftError, to_arrow

INT, FLOAT, TEXT, BOOL = pa.int64(), pa.float64(), pa.string(), pa.bool_()


@pytest.mark.parametrize(
    "type_, value, stored",
    [
        (INT, 3, 3),
        (INT, 3.0, 3),  # JSON does not tell 3.0 from 3: a whole float is the integer, nothing is lost
        (FLOAT, 100, 100.0),  # a whole price may arrive as an integer
        (FLOAT, 2.5, 2.5),
        (TEXT, "SOME_FUTURE_STATUS", "SOME_FUTURE_STATUS"),  # an unknown enum value stays text
        (BOOL, False, False),
        (INT, None, None),
    ],
)
def test_a_value_that_fits_is_stored_as_it_is(type_, value, stored):
    schema = pa.schema([("order_number", INT), ("v", type_)])
    table = to_arrow([{"order_number": 1, "v": value}], schema, "orders", ("order_number",))
    assert table.column("v").to_pylist() == [stored]


@pytest.mark.parametrize(
    "type_, value",
    [
        (INT, 2.7),  # was stored as 2
        (INT, float("nan")),
        (INT, True),
        (INT, "5"),
        (INT, 2**63),
        (FLOAT, True),  # was stored as 1.0
        (FLOAT, "2.5"),
        (FLOAT, 2**53 + 1),  # no double holds it exactly
        (FLOAT, float("nan")),  # was stored, and a day's sum(grand_total) became NaN
        (FLOAT, float("inf")),  # JSON's Infinity, and 1e309 beyond a double's range
        (FLOAT, float("-inf")),
        (TEXT, 5),
        (TEXT, False),
        (BOOL, 1),
        (BOOL, "true"),
        (TIMESTAMP, ""),  # a date flatten could not read arrives as Centra sent it
    ],
)
def test_a_value_that_does_not_fit_is_refused_naming_table_column_value_and_record(type_, value):
    schema = pa.schema([("order_number", INT), ("line", INT), ("v", type_)])
    rows = [{"order_number": 1041, "line": 1, "v": None}, {"order_number": 1042, "line": 2, "v": value}]
    with pytest.raises(SchemaDriftError) as refused:
        to_arrow(rows, schema, "order_lines", ("order_number", "line"))
    message = str(refused.value)
    assert f"Centra returned {value!r} for order_lines.v, which is declared {type_}" in message
    assert "in the record order_number=1042, line=2; it was refused, not converted" in message


def test_a_field_that_changed_type_is_named_in_the_error():
    schema = pa.schema([("order_number", pa.int64()), ("status", pa.string())])
    with pytest.raises(SchemaDriftError, match=r"'A-1042' for orders.order_number, which is declared int64"):
        to_arrow(
            [{"order_number": 1, "status": "SHIPPED"}, {"order_number": "A-1042", "status": "NEW_STATUS"}],
            schema,
            "orders",
        )
    unknown_enum = to_arrow([{"order_number": 2, "status": "SOME_FUTURE_STATUS"}], schema, "orders")
    assert unknown_enum.column("status").to_pylist() == ["SOME_FUTURE_STATUS"]  # kept as text
