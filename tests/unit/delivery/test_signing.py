"""Webhook signatures verify, and refuse tampering, other secrets and replays."""

from __future__ import annotations

import time

import pytest

from tangkal.delivery.services import MAX_BACKOFF, backoff
from tangkal.delivery.signing import sign, signature_headers, standard_secret, verify


def test_signature_round_trips() -> None:
    body = b'{"id":"x"}'
    assert verify("s3cret", sign("s3cret", body), body)


def test_tampered_body_or_wrong_secret_fails() -> None:
    header = sign("s3cret", b"a")
    assert not verify("s3cret", header, b"b")
    assert not verify("other", header, b"a")


def test_old_signature_is_a_replay() -> None:
    header = sign("s", b"a", timestamp=int(time.time()) - 3600)
    assert not verify("s", header, b"a")


def test_garbage_header_fails_cleanly() -> None:
    for h in ["", "t=x,v1=y", "v1=abc", "t=1"]:
        assert not verify("s", h, b"a")


def test_backoff_grows_and_is_capped() -> None:
    assert backoff(1) < 2 and backoff(4) > 5
    assert backoff(50) <= MAX_BACKOFF * 1.2


def test_standard_webhooks_scheme_is_what_its_library_verifies() -> None:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    secret = standard_secret()
    body = b'{"id":"m1","event":"order.issued","data":{}}'
    headers = signature_headers("standard", secret, "m1", body)
    assert Webhook(secret).verify(body, headers) == {
        "id": "m1",
        "event": "order.issued",
        "data": {},
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(standard_secret()).verify(body, headers)
    # the default scheme is unchanged
    assert set(signature_headers("tangkal", "s3cret", "m1", body)) == {"Tangkal-Signature"}
