"""The small pure parts the sync leans on: Retry-After formats, day windows across DST, UTC, schema drift."""

from __future__ import annotations

import datetime as dt
import email.utils
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from centra_assets.calendar import day_window
from centra_assets.centra.client import retry_after_seconds
from centra_assets.entities.spec import to_utc
from centra_assets.warehouse.parquet import SchemaDriftError, to_arrow

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    "header, expected",
    [
        ("5", 5.0),  # delta-seconds (RFC 9110)
        (str(int(NOW) + 7), 7.0),  # a Unix timestamp, as the simulator sends
        (email.utils.formatdate(NOW + 9, usegmt=True), 9.0),  # an HTTP-date
        (str(int(NOW) - 30), 0.0),  # a moment already past: go now
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_is_read_in_every_format_centra_might_use(header, expected):
    assert retry_after_seconds(header, now=NOW) == expected


def test_a_day_window_follows_the_store_timezone_across_dst():
    tz = ZoneInfo("Europe/Stockholm")
    assert day_window(dt.date(2026, 3, 29), tz) == ("2026-03-29T00:00:00+01:00", "2026-03-29T23:59:59+02:00")
    assert day_window(dt.date(2026, 10, 25), tz) == ("2026-10-25T00:00:00+02:00", "2026-10-25T23:59:59+01:00")


def test_centra_timestamps_land_in_utc():
    assert to_utc("2026-11-01T03:34:55+01:00") == dt.datetime(2026, 11, 1, 2, 34, 55, tzinfo=dt.UTC)
    assert to_utc("2026-11-13T08:19:37+0100") == dt.datetime(2026, 11, 13, 7, 19, 37, tzinfo=dt.UTC)  # `O` style


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
