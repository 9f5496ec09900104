"""Webhook signatures: HMAC-SHA256 over the timestamp and the exact body.

Header ``Tangkal-Signature: t=<unix seconds>,v1=<hex>``. A receiver recomputes the HMAC
with its secret, compares in constant time, and refuses timestamps outside the replay window
so a captured request cannot be replayed later. ``Tangkal-Delivery`` carries the message id,
which stays the same across retries: the receiver's key for doing the work once.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Tangkal-Signature"
DELIVERY_HEADER = "Tangkal-Delivery"
EVENT_HEADER = "Tangkal-Event"
REPLAY_WINDOW = 300


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
