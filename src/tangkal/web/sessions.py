"""Console sessions: a signed, HttpOnly, SameSite=Lax cookie, and CSRF tokens.

The cookie carries only who signed in (user and organisation ids), when, the id of the
server-side session record (``tangkal.accounts.web_sessions``) and a random CSRF token; it is
signed with HMAC-SHA256 so it cannot be forged or altered. The record and the person behind
it are looked up again on every request, so signing out, a deactivated user or a changed
role takes effect at once for every copy of the cookie rather than when it runs out.

The signing key comes from ``TANGKAL_SECRET_KEY`` or, failing that, from
``<data_dir>/secret_key``, created once with mode 0600. There is deliberately no built-in
default: a default key would let anyone who read this source forge a session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tangkal.errors import ConfigurationError, Forbidden, Msg
from tangkal.settings import Settings

COOKIE = "tangkal_session"
LANG_COOKIE = "tangkal_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_AGE = 12 * 3600  # a working day; then sign in again
_KEY_BYTES = 32
_keys: dict[str, bytes] = {}


def secret_key(settings: Settings) -> bytes:
    """The session signing key: the configured one, else one stored beside the data."""
    if settings.secret_key:
        if len(settings.secret_key) < 16:
            raise ConfigurationError(
                "TANGKAL_SECRET_KEY is too short; use at least 16 random characters, "
                "e.g. the output of 'openssl rand -hex 32'."
            )
        return hashlib.sha256(b"tangkal-session\0" + settings.secret_key.encode()).digest()
    path = Path(settings.data_dir) / "secret_key"
    cached = _keys.get(str(path.resolve()))
    if cached is not None:
        return cached
    key = _read_or_create(path)
    _keys[str(path.resolve())] = key
    return key


def _read_or_create(path: Path) -> bytes:
    """Create the key file atomically (O_EXCL), so several workers starting together agree
    on one key: whoever loses the race reads the winner's file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # bounded: the creator writes 64 bytes right after creating
            text = path.read_text().strip()
            if text:
                return bytes.fromhex(text)
            time.sleep(0.02)
        raise ConfigurationError(
            f"The session key file {path} is empty; delete it and restart so a new key is made."
        ) from None
    with os.fdopen(fd, "w") as fh:
        key = secrets.token_bytes(_KEY_BYTES)
        fh.write(key.hex())
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class WebSession:
    """What the cookie says; ``user_id`` is None for a visitor who has not signed in."""

    csrf: str
    issued: int
    user_id: str | None = None
    org_id: str | None = None
    flash: str | None = None
    sid: str | None = None  # the server-side session record's id; None when signed out

    @classmethod
    def anonymous(cls) -> WebSession:
        return cls(csrf=secrets.token_urlsafe(24), issued=int(time.time()))

    def signed_in(self, user_id: str, org_id: str, sid: str | None = None) -> WebSession:
        """A fresh CSRF token on sign-in: one learned before cannot be replayed after."""
        return WebSession(
            csrf=secrets.token_urlsafe(24),
            issued=int(time.time()),
            user_id=user_id,
            org_id=org_id,
            sid=sid,
        )

    def with_flash(self, message: str | None) -> WebSession:
        return replace(self, flash=message)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"c": self.csrf, "i": self.issued}
        if self.user_id:
            d["u"], d["o"] = self.user_id, self.org_id
            if self.sid:
                d["s"] = self.sid
        if self.flash:
            d["f"] = self.flash[:300]
        return d


def encode(session: WebSession, key: bytes) -> str:
    body = _b64(json.dumps(session.to_dict(), separators=(",", ":")).encode())
    mac = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def decode(value: str | None, key: bytes, *, now: float | None = None) -> WebSession | None:
    """The session in a cookie, or None when it is missing, forged, altered or too old."""
    if not value or len(value) > 4096 or "." not in value:
        return None
    body, _, mac = value.rpartition(".")
    want = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(want, mac):
        return None
    try:
        data = json.loads(_unb64(body))
        issued = int(data["i"])
        csrf = str(data["c"])
    except (ValueError, KeyError, TypeError):
        return None
    now = time.time() if now is None else now
    if issued > now + 60 or now - issued > MAX_AGE:
        return None
    return WebSession(
        csrf=csrf,
        issued=issued,
        user_id=data.get("u"),
        org_id=data.get("o"),
        flash=data.get("f"),
        sid=data.get("s"),
    )


def check_csrf(session: WebSession | None, submitted: str | None) -> None:
    """Refuse a form POST whose token is not the one in the caller's own session."""
    if session is None or not submitted or not hmac.compare_digest(session.csrf, submitted):
        raise Forbidden(
            Msg(
                "This form has expired or did not come from this site (CSRF "
                "check failed). Reload the page and submit it again."
            )
        )
