"""Centra's timestamps, as the specs read them (entities/spec.py `to_utc`): every one lands in UTC, one without an
offset is the store's, and a local time the clock repeats or skips is read by one rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from centra_assets.entities.spec import to_utc

STORE_TZ = ZoneInfo("Europe/Stockholm")


def test_centra_timestamps_land_in_utc():
    assert to_utc("2026-11-01T03:34:55+01:00") == dt.datetime(2026, 11, 1, 2, 34, 55, tzinfo=dt.UTC)
    assert to_utc("2026-11-13T08:19:37+0100") == dt.datetime(2026, 11, 13, 7, 19, 37, tzinfo=dt.UTC)  # `O` style


def test_a_local_time_the_clock_repeats_or_skips_is_read_by_one_rule():
    # 2026-10-25 the clock goes 03:00 CEST -> 02:00 CET: 02:30 happens twice; the first (summer time) is taken
    assert to_utc("2026-10-25 02:30:00", STORE_TZ) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    # 2026-03-29 the clock goes 02:00 CET -> 03:00 CEST: 02:30 never happens; read with the offset before it
    assert to_utc("2026-03-29 02:30:00", STORE_TZ) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    assert to_utc("2026-03-29T02:30:00+01:00", STORE_TZ) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    assert to_utc("2026-11-17 10:00:00") == dt.datetime(2026, 11, 17, 10, tzinfo=dt.UTC)  # no timezone given
