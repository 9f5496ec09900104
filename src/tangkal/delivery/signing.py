"""Webhook signatures: HMAC-SHA256 over the timestamp and the exact body.

Header ``Tangkal-Signature: t=<unix seconds>,v1=<hex>``. A receiver recomputes the HMAC
with its secret, compares in constant time, and refuses timestamps outside the replay window
so a captured request cannot be replayed later. ``Tangkal-Delivery`` carries the message id,
which stays the same across retries: the receiver's key for doing the work once.

An organisation may choose the Standard Webhooks scheme instead (https://www.standardwebhooks.com):
``webhook-id`` (the message id), ``webhook-timestamp`` (unix seconds) and ``webhook-signature:
v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>``, the key being the base64 part of a
``whsec_`` secret. Platforms that already verify webhooks with one of that scheme's libraries
use it unchanged. Written here from the specification; the library verifies it in a test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Tangkal-Signature"
DELIVERY_HEADER = "Tangkal-Delivery"
EVENT_HEADER = "Tangkal-Event"
REPLAY_WINDOW = 300

#: How an organisation's pushes may be signed; "tangkal" is the default.
SIGNATURE_SCHEMES = ("tangkal", "standard")
STANDARD_PREFIX = "whsec_"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def verify(
    secret: str, header: str, body: bytes, *, now: float | None = None, window: int = REPLAY_WINDOW
) -> bool:
    """True when ``header`` is a valid signature of ``body`` made within the window."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - ts) > window:
        return False
    want = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, given)


def standard_secret() -> str:
    """A new Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return STANDARD_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign_standard(
    secret: str, message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    ts = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix(STANDARD_PREFIX))
    mac = hmac.new(key, f"{message_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def signature_headers(scheme: str, secret: str, message_id: str, body: bytes) -> dict[str, str]:
    """The signature headers of the organisation's scheme."""
    if scheme == "standard":
        return sign_standard(secret, message_id, body)
    return {SIGNATURE_HEADER: sign(secret, body)}
