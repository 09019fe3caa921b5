"""The refresh sensors' cursors (defs/realtime/cursor.py and each sensor's own type) are kept as JSON between ticks:
each loads what it wrote, starts empty without one, and still reads the cursors of a version before several
stores, so an upgrade neither replays nor skips an event."""

from __future__ import annotations

import json

import pytest

from centra_assets.defs.realtime.event_queue import EventQueueCursor
from centra_assets.defs.realtime.sweep import SweepCursor
from centra_assets.defs.realtime.webhooks import WebhookCursor
from centra_assets.settings import Settings, Store

SETTINGS = Settings(
    stores_file_stores=(
        Store("nordic", "Europe/Stockholm", "2026-01-01", "https://n.example/graphql", "T_NORDIC"),
        Store("us", "America/New_York", "2026-01-01", "https://u.example/graphql", "T_US"),
    )
)
PENDING = {"run-1": {"keys": {"orders": [7]}, "store": "us", "days": ["2026-11-17"], "reason": "webhook"}}
PENDING["run-1"] |= {"attempt": 1, "events": []}


def load(cursor_type, text):
    return cursor_type.load(text) if cursor_type is SweepCursor else cursor_type.load(text, SETTINGS)


@pytest.mark.parametrize(
    "cursor",
    [
        WebhookCursor(pending=PENDING, served={"nordic": 5.0}, after={"nordic": 41, "us": 3}),
        EventQueueCursor(pending=PENDING, listening={"us", "nordic"}, unconfirmed={"us": [9, 10]}),
        SweepCursor(pending=PENDING, marks={"us": {"orders": {"since": "2026-11-17T00:00:00+00:00"}}}),
    ],
    ids=lambda c: type(c).__name__,
)
def test_a_cursor_loads_what_it_wrote(cursor):
    text = cursor.to_json(SETTINGS)
    again = load(type(cursor), text)
    assert again == cursor and again.to_json(SETTINGS) == text
    assert json.loads(text)["served"] == {"nordic": cursor.served.get("nordic", 0.0), "us": 0.0}  # every store


@pytest.mark.parametrize("cursor_type", [WebhookCursor, EventQueueCursor, SweepCursor])
def test_without_a_cursor_a_sensor_starts_with_nothing_pending(cursor_type):
    cursor = load(cursor_type, None)
    assert cursor.pending == {} and cursor.served == {}


def test_a_webhook_cursor_from_before_several_stores_is_the_first_stores():
    cursor = WebhookCursor.load(json.dumps({"after": 41, "pending": {}}), SETTINGS)
    assert cursor.after == {"nordic": 41}


def test_an_event_queue_cursor_from_before_several_stores_is_the_first_stores():
    assert EventQueueCursor.load(json.dumps({"listening": True, "pending": {}}), SETTINGS).listening == {"nordic"}
    assert EventQueueCursor.load(json.dumps({"listening": False, "pending": {}}), SETTINGS).listening == set()


def test_a_store_removed_from_the_stores_file_is_forgotten():
    cursor = WebhookCursor(served={"nordic": 5.0, "gone": 9.0})
    assert json.loads(cursor.to_json(SETTINGS))["served"] == {"nordic": 5.0, "us": 0.0}
