"""Server-side records of console sign-ins: start, check, end.

The web console's cookie is signed, but a signature alone cannot be taken back: a copied
cookie would keep working after its owner signed out. Each sign-in therefore gets a record,
found by the SHA-256 of a random id the cookie carries, and every console request checks it
with one primary-key read. Ending the record (sign-out, sign-out everywhere, deactivation, a
new password) ends every copy of the cookie at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from tangkal.accounts.models import WebSessionRecord
from tangkal.db.base import utcnow

# last_seen_at is written at most this often per session, so browsing is not a write each
# request; it is only a hint for people reading the table, never used to decide anything.
TOUCH_EVERY = timedelta(minutes=1)

# Ended and expired records are kept this long (who was signed in when, for an inquiry),
# then removed when the same person signs in again, so the table stays bounded per person.
KEEP_ENDED = timedelta(days=90)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(session: Session, user_id: str, org_id: str, *, lifetime: timedelta) -> str:
    """Record a new sign-in and return its id in clear (for the cookie only)."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    cutoff = now - KEEP_ENDED
    session.execute(
        delete(WebSessionRecord).where(
            WebSessionRecord.user_id == user_id,
            or_(WebSessionRecord.ended_at < cutoff, WebSessionRecord.expires_at < cutoff),
        )
    )
    session.add(
        WebSessionRecord(
            id_hash=_digest(session_id),
            user_id=user_id,
            org_id=org_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return session_id


def is_live(
    session: Session,
    session_id: str | None,
    user_id: str,
    org_id: str | None,
    *,
    now: datetime | None = None,
) -> bool:
    """Whether this sign-in still holds; refreshes ``last_seen_at`` at most once a minute."""
    if not session_id or len(session_id) > 200:
        return False
    row = session.get(WebSessionRecord, _digest(session_id))
    now = now or utcnow()
    if (
        row is None
        or row.ended_at is not None
        or row.expires_at <= now
        or row.user_id != user_id
        or row.org_id != org_id
    ):
        return False
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return True


def end(session: Session, session_id: str | None) -> bool:
    """End one sign-in (sign-out); ending an unknown or ended one does nothing. Returns
    whether an open sign-in was ended (only that is worth an audit event)."""
    if not session_id:
        return False
    result = session.execute(
        update(WebSessionRecord)
        .where(WebSessionRecord.id_hash == _digest(session_id), WebSessionRecord.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def end_all(session: Session, user_id: str) -> int:
    """End every open sign-in of a person; returns how many were open."""
    result = session.execute(
        update(WebSessionRecord)
        .where(WebSessionRecord.user_id == user_id, WebSessionRecord.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
