"""Centra's webhook signature (webhooks/signature.py): `t=<unix>,v1=<hex>`, an HMAC-SHA256 of `<t>.<body>` with the
endpoint's secret; a request is accepted only with a matching digest and a fresh timestamp."""

from __future__ import annotations

import pytest

from centra_assets.webhooks.signature import SignatureError, sign, verify

SECRET, BODY, NOW = "whsec-test", b"payload=%7B%22events%22%3A%5B%5D%7D", 1_800_000_000


def test_a_signature_made_with_the_secret_verifies_and_says_when_it_was_made():
    header = sign(SECRET, BODY, timestamp=NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert verify(SECRET, header, BODY, now=NOW + 10).timestamp == NOW


def test_one_of_several_digests_may_match_as_when_centra_rotates_the_secret():
    good = sign(SECRET, BODY, timestamp=NOW).split("v1=")[1]
    assert verify(SECRET, f"t={NOW},v1={'0' * 64},v1={good.upper()}", BODY, now=NOW).v1 == good


@pytest.mark.parametrize(
    "header, body, secret, reason",
    [
        (None, BODY, SECRET, "no X-Centra-Signature header"),
        ("v1=abc", BODY, SECRET, "malformed"),
        (f"t={NOW}", BODY, SECRET, "malformed"),
        ("sign", BODY + b"x", SECRET, "does not match"),  # the body was changed on the way
        ("sign", BODY, "another-secret", "does not match"),
    ],
)
def test_a_missing_malformed_or_forged_signature_is_refused_saying_why(header, body, secret, reason):
    header = sign(SECRET, BODY, timestamp=NOW) if header == "sign" else header
    with pytest.raises(SignatureError, match=reason):
        verify(secret, header, body, now=NOW)


@pytest.mark.parametrize("age", [-301, 301])
def test_a_signature_older_or_newer_than_the_tolerance_is_refused(age):
    with pytest.raises(SignatureError, match="outside ±300 s"):
        verify(SECRET, sign(SECRET, BODY, timestamp=NOW), BODY, now=NOW + age)
