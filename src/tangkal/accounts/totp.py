"""The console's second factor: TOTP codes (RFC 6238) and single-use recovery codes.

A password alone is one secret that can be phished, reused or read over a shoulder; an
official's sign-in decides blocks and sanctions, so officials and admins can be made to give a
code from an authenticator app too (``TANGKAL_REQUIRE_TOTP``). Anyone enrolled is asked for
the code whatever the setting says: enrolment is a person's promise that a password alone is
not them.

Enrolment (``tangkal user totp enrol``) makes a new secret and ten recovery codes and shows
them once; enrolling again replaces both, so a lost phone is handled by enrolling anew. A code
is accepted in the step it belongs to or the one either side (clock drift), and never twice:
the last accepted step is kept. A recovery code is stored as an argon2 hash, like a token
(it has 60 random bits, so the light cost is enough), and is used up when it is accepted.
"""

from __future__ import annotations

import secrets
import time

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, RecoveryCode, Role, User, UserTotp
from tangkal.accounts.passwords import hash_token, verify_token
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.db.base import utcnow

ISSUER = "tangkal"
RECOVERY_CODES = 10
#: The roles a setting can oblige to a second factor: those whose sign-in decides.
GUARDED_ROLES = frozenset({Role.OFFICIAL, Role.ADMIN})
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper and typed


def _recovery_code() -> str:
    """12 characters of a 31-letter alphabet (about 59 bits), shown as xxxx-xxxx-xxxx."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _normal(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def enrol(
    session: Session, actor: Principal, org: Organization, user: User
) -> tuple[str, list[str]]:
    """A new secret and new recovery codes for ``user`` (the old ones stop working); returns
    the ``otpauth://`` URI for the authenticator app and the codes, both in clear, once."""
    secret = pyotp.random_base32()
    existing = session.get(UserTotp, user.id)
    if existing is None:
        session.add(UserTotp(user_id=user.id, secret=secret, enrolled_at=utcnow()))
    else:
        existing.secret, existing.enrolled_at, existing.last_step = secret, utcnow(), None
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_token(_normal(c))) for c in codes)
    session.flush()
    record(
        session,
        actor,
        "user.totp_enrolled",
        "user",
        user.id,
        {"org": org.name, "username": user.username, "recovery_codes": len(codes)},
    )
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=f"{org.name}/{user.username}", issuer_name=ISSUER
    )
    return uri, codes


def is_enrolled(session: Session, user: User) -> bool:
    return session.get(UserTotp, user.id) is not None


def is_required(session: Session, user: User, *, require_for_roles: bool) -> bool:
    """Whether this person's sign-in needs a code: they enrolled, or the setting asks it of
    their role."""
    return is_enrolled(session, user) or (require_for_roles and user.role in GUARDED_ROLES)


def check(session: Session, user: User, code: str, *, now: float | None = None) -> str | None:
    """Accept a current TOTP code or an unused recovery code, once; returns which it was
    (``"totp"`` or ``"recovery"``) or None."""
    enrolled = session.get(UserTotp, user.id, with_for_update=True)
    text = _normal(code)
    if enrolled is None or not text:
        return None
    if text.isdigit() and len(text) == 6:
        totp = pyotp.TOTP(enrolled.secret)
        at = time.time() if now is None else now
        step = int(at) // totp.interval
        for candidate in (step, step - 1, step + 1):
            if candidate <= (enrolled.last_step or -1):
                continue  # that code, or an earlier one, was used already
            if secrets.compare_digest(totp.at(candidate * totp.interval), text):
                enrolled.last_step = candidate
                session.flush()
                return "totp"
        return None
    unused = session.scalars(
        select(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .with_for_update()
    )
    for row in unused:
        if verify_token(row.code_hash, text):
            row.used_at = utcnow()
            session.flush()
            return "recovery"
    return None


def recovery_codes_left(session: Session, user: User) -> int:
    return len(
        list(
            session.scalars(
                select(RecoveryCode.id).where(
                    RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
                )
            )
        )
    )
