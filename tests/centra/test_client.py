"""The client reads Centra's Retry-After in every format it might use."""

from __future__ import annotations

import email.utils

import pytest

from centra_assets.centra.client import retry_after_seconds

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
