"""Creating organisations, people and tokens, and authenticating callers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts import totp, web_sessions
from tangkal.accounts.models import (
    ROLES_BY_KIND,
    ApiToken,
    Organization,
    OrgKind,
    PlatformDomain,
    Role,
    User,
)
from tangkal.accounts.passwords import (
    hash_password,
    hash_token,
    new_token,
    token_prefix,
    verify_password,
    verify_token,
)
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.audit.services import record
from tangkal.db.base import utcnow
from tangkal.delivery.signing import SIGNATURE_SCHEMES, standard_secret
from tangkal.delivery.webhook_url import WebhookURL
from tangkal.enums import parse_enum
from tangkal.errors import Conflict, InvalidInput, Msg, NotFound, Unauthenticated


def parse_kind(value: str) -> OrgKind:
    return parse_enum(OrgKind, value, Msg("organisation kind"))


def parse_role(value: str) -> Role:
    return parse_enum(Role, value, Msg("role"))


def get_org_by_name(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFound(
            Msg("No organisation named %(name)r. List them with 'tangkal org list'.", name=name)
        )
    return org


def find_org(session: Session, name_or_id: str) -> Organization | None:
    return session.scalar(
        select(Organization).where(
            (Organization.name == name_or_id) | (Organization.id == name_or_id)
        )
    )


def create_org(
    session: Session,
    actor: Principal,
    *,
    kind: OrgKind,
    name: str,
    display_name: str | None = None,
    domains: list[str] | None = None,
    country: str | None = "ID",
    contact_name: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    webhook_url: WebhookURL | None = None,
) -> Organization:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            Msg("An organisation needs a name of 1 to 200 characters."), field="name"
        )
    if session.scalar(select(Organization.id).where(Organization.name == name)):
        raise Conflict(
            Msg("An organisation named %(name)r already exists.", name=name), field="name"
        )
    parsed = []
    if domains:
        from tangkal.locators import Domain

        parsed = [Domain.parse(d) for d in domains]
    if parsed and kind is not OrgKind.PLATFORM:
        raise InvalidInput(Msg("Only platform organisations register domains."), field="domain")
    org = Organization(
        kind=kind,
        name=name,
        display_name=display_name or name,
        country=country,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )
    if webhook_url:
        org.delivery_channel = "webhook"
        org.webhook_url = webhook_url.url
        org.webhook_secret = secrets.token_urlsafe(32)
    for d in dict.fromkeys(p.name for p in parsed):
        taken = session.scalar(select(PlatformDomain).where(PlatformDomain.name == d))
        if taken is not None:
            raise Conflict(
                Msg("The domain %(domain)s is already registered to another platform.", domain=d)
            )
        org.domains.append(PlatformDomain(name=d))
    session.add(org)
    session.flush()
    record(
        session,
        actor,
        "org.created",
        "organization",
        org.id,
        {"kind": kind.value, "name": name, "domains": [d.name for d in org.domains]},
    )
    return org


def set_webhook(
    session: Session,
    actor: Principal,
    org: Organization,
    url: WebhookURL | None,
    signature: str = "tangkal",
) -> Organization:
    """Switch the delivery channel; a new secret is made each time the URL is set.

    ``signature`` is how the pushes are signed (:mod:`tangkal.delivery.signing`): tangkal's
    own header, or Standard Webhooks, whose libraries a platform may already run. A Standard
    Webhooks secret has that scheme's form (``whsec_`` and base64), so those libraries take
    it as it is shown."""
    if signature not in SIGNATURE_SCHEMES:
        raise InvalidInput(
            f"The signature scheme must be one of {', '.join(SIGNATURE_SCHEMES)}, "
            f"not {signature!r}.",
            field="signature",
        )
    if url:
        org.delivery_channel = "webhook"
        org.webhook_url = url.url  # parsed and checked at the edge (delivery.webhook_url)
        org.webhook_secret = (
            standard_secret() if signature == "standard" else secrets.token_urlsafe(32)
        )
        org.webhook_signature = signature
    else:
        org.delivery_channel = "inbox"
        org.webhook_url = None
        org.webhook_secret = None
    session.flush()
    record(
        session,
        actor,
        "org.delivery_changed",
        "organization",
        org.id,
        {
            "channel": org.delivery_channel,
            "webhook_url": org.webhook_url,
            "signature": org.webhook_signature,
        },
    )
    return org


def check_role_for_kind(org: Organization, role: Role) -> None:
    allowed = ROLES_BY_KIND[org.kind]
    if role not in allowed:
        names = tuple(sorted(allowed, key=lambda r: r.value))
        raise InvalidInput(
            Msg(
                "A %(kind)s organisation cannot hold the role %(role)s; it may hold: %(names)s.",
                kind=org.kind,
                role=role,
                names=names,
            ),
            field="role",
        )


def create_user(
    session: Session,
    actor: Principal,
    org: Organization,
    *,
    username: str,
    role: Role,
    password: str | None,
    display_name: str | None = None,
) -> User:
    """Add a person. ``password=None`` is someone who only uses API tokens: they cannot sign
    in to the console until an admin sets a password (``set_password``)."""
    check_role_for_kind(org, role)
    if password is not None and len(password) < 10:
        raise InvalidInput(Msg("A password needs at least 10 characters."), field="password")
    if session.scalar(select(User.id).where(User.org_id == org.id, User.username == username)):
        raise Conflict(
            Msg("The user %(username)r already exists in %(org)s.", username=username, org=org.name)
        )
    user = User(
        org_id=org.id,
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.created",
        "user",
        user.id,
        {"org": org.name, "username": username, "role": role.value},
    )
    return user


def _check_same_org(actor: Principal, user: User) -> None:
    if actor.org_id != "system" and actor.org_id != user.org_id:
        raise NotFound(Msg("No such user in your organisation."))


def get_user(session: Session, org: Organization, username: str) -> User:
    user = session.scalar(select(User).where(User.org_id == org.id, User.username == username))
    if user is None:
        raise NotFound(
            Msg(
                "No user %(username)r in %(org)s; check the name with the org's admin.",
                username=username,
                org=org.name,
            )
        )
    return user


def deactivate_user(session: Session, actor: Principal, user: User) -> User:
    """Stop a person signing in, and end the console sessions they already have."""
    _check_same_org(actor, user)
    user.active = False
    _end_sessions(session, actor, user, "user.deactivated")
    return user


def set_password(session: Session, actor: Principal, user: User, password: str) -> User:
    """A new password ends every console session signed in with the old one: whoever
    learned the old password must not stay signed in."""
    _check_same_org(actor, user)
    if len(password) < 10:
        raise InvalidInput(Msg("A password needs at least 10 characters."), field="password")
    user.password_hash = hash_password(password)
    _end_sessions(session, actor, user, "user.password_changed")
    return user


def set_timezone(session: Session, actor: Principal, user: User, zone: str | None) -> User:
    """The zone the console shows ``user`` times in: one of the SOP profile's choices (an
    analyst in Makassar reads deadlines in WITA), or None for the profile's own zone. A
    person may set their own; an admin or the command line anyone's of the organisation."""
    from tangkal.sop.profile import active_profile

    if actor.user_id != user.id:
        _check_same_org(actor, user)
        if actor.org_id != "system":
            actor.require(Role.ADMIN)
    choices = active_profile().zone_choices
    if zone is not None and zone not in choices:
        raise InvalidInput(
            Msg(
                "%(zone)s is not one of the time zones of this profile; "
                "choose one of: %(choices)s.",
                zone=zone,
                choices=", ".join(choices),
            ),
            field="timezone",
        )
    user.timezone = None if zone == choices[0] else zone
    record(session, actor, "user.timezone_set", "user", user.id, {"timezone": user.timezone})
    return user


def _end_sessions(session: Session, actor: Principal, user: User, action: str) -> None:
    """End the person's console sessions and record why, with how many were open."""
    session.flush()
    ended = web_sessions.end_all(session, user.id)
    data = {"username": user.username, "sessions_ended": ended}
    record(session, actor, action, "user", user.id, data)


def create_token(
    session: Session,
    actor: Principal,
    org: Organization,
    role: Role,
    *,
    user: User | None = None,
    label: str | None = None,
) -> str:
    """Make a token and return it in clear, the only time it is ever visible."""
    check_role_for_kind(org, role)
    token, prefix = new_token()
    row = ApiToken(
        org_id=org.id,
        user_id=user.id if user else None,
        role=role,
        prefix=prefix,
        token_hash=hash_token(token),
        label=label,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "token.created",
        "api_token",
        row.id,
        {"org": org.name, "role": role.value, "prefix": prefix},
    )
    return token


def revoke_token(session: Session, actor: Principal, token_id: str) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or (actor.org_id != "system" and row.org_id != actor.org_id):
        raise NotFound(Msg("No such token in your organisation."))
    row.revoked_at = utcnow()
    session.flush()
    _cache.clear()
    record(session, actor, "token.revoked", "api_token", row.id, {"prefix": row.prefix})


@dataclass(slots=True)
class _Cached:
    principal: Principal
    until: float


class _TokenCache:
    """Verified tokens, keyed by a keyed digest of the token, for a short time.

    argon2 is deliberately slow; verifying it on every request would cap intake at a few
    dozen requests a second. Revocation is still checked against the database on every
    request: a primary-key read on the request path, or, for group-committed order intake,
    one query per batch inside the writing transaction (:func:`live_token_ids`); either
    way a revoked token stops working at once.
    """

    def __init__(self, ttl: float = 300.0, size: int = 10_000) -> None:
        self._key = secrets.token_bytes(32)
        self._ttl = ttl
        self._size = size
        self._items: dict[bytes, _Cached] = {}
        self._lock = threading.Lock()

    def digest(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode(), hashlib.sha256).digest()

    def get(self, token: str) -> Principal | None:
        with self._lock:
            item = self._items.get(self.digest(token))
            if item is None or item.until < time.monotonic():
                return None
            return item.principal

    def put(self, token: str, principal: Principal) -> None:
        with self._lock:
            if len(self._items) >= self._size:
                self._items.clear()
            self._items[self.digest(token)] = _Cached(principal, time.monotonic() + self._ttl)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _TokenCache()

BAD_TOKEN = Msg("The API token is not valid. Ask your organisation's admin for a new one.")


def cached_principal(token: str) -> Principal | None:
    """The caller of a token verified recently, without touching the database.

    Only for a writer that checks the token's liveness itself inside the transaction that
    acts on it (:func:`live_token_ids`), as group-committed order intake does: the check
    then happens at commit time, so a revoked token still cannot write anything.
    """
    if token_prefix(token) is None:
        return None
    return _cache.get(token)


def live_token_ids(session: Session, token_ids: Iterable[str]) -> set[str]:
    """Which of these tokens still exist and are not revoked, in one query."""
    ids = list(set(token_ids))
    if not ids:
        return set()
    rows = session.scalars(
        select(ApiToken.id).where(ApiToken.id.in_(ids), ApiToken.revoked_at.is_(None))
    )
    return set(rows)


def authenticate_token(session: Session, token: str) -> Principal:
    prefix = token_prefix(token)
    if prefix is None:
        raise Unauthenticated(BAD_TOKEN)
    cached = _cache.get(token)
    if cached is not None:
        # One primary-key read: the token must still exist and not be revoked.
        live = session.execute(
            select(ApiToken.revoked_at).where(ApiToken.id == cached.token_id)
        ).first()
        if live is not None and live.revoked_at is None:
            return cached
        raise Unauthenticated(BAD_TOKEN)
    row = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if row is None or row.revoked_at is not None or not verify_token(row.token_hash, token):
        raise Unauthenticated(BAD_TOKEN)
    org = row.organization
    user = session.get(User, row.user_id) if row.user_id else None
    principal = Principal(
        org_id=org.id,
        org_name=org.name,
        org_kind=org.kind,
        role=row.role,
        user_id=row.user_id,
        token_id=row.id,
        username=user.username if user else None,
    )
    _cache.put(token, principal)
    return principal


BAD_PASSWORD = Msg("Wrong organisation, user name or password.")


def _check_password(
    session: Session, org_name: str, username: str, password: str
) -> tuple[Organization | None, User | None, bool]:
    """The organisation and person named (either may be None) and whether the password is
    theirs; argon2 runs once either way, so the answer's timing does not tell them apart."""
    org = session.scalar(select(Organization).where(Organization.name == org_name))
    user = (
        session.scalar(select(User).where(User.org_id == org.id, User.username == username))
        if org
        else None
    )
    if org is None or user is None or not user.active or not user.password_hash:
        verify_password(hash_password("x" * 12), password)  # same cost either way
        return org, user, False
    return org, user, verify_password(user.password_hash, password)


def _principal(org: Organization, user: User) -> Principal:
    return Principal(
        org_id=org.id,
        org_name=org.name,
        org_kind=org.kind,
        role=user.role,
        user_id=user.id,
        username=user.username,
    )


def authenticate_password(
    session: Session, org_name: str, username: str, password: str
) -> Principal:
    org, user, ok = _check_password(session, org_name, username, password)
    if not ok or org is None or user is None:
        raise Unauthenticated(BAD_PASSWORD)
    return _principal(org, user)


# ------------------------------------------------------------------ console sign-in
#
# Sign-ins, sign-outs and refused sign-ins are on the audit record as ``session.*`` events
# about the person ("user", user id), next to ``user.deactivated`` and
# ``user.password_changed``. A refused attempt is recorded only when the organisation and
# the person it names exist: the names come from whoever types into the form, and an
# attacker cycling through random names must not be able to grow the log (nor learn from
# it which names exist, since the answer is the same). Attempts on a real account are
# bounded by the sign-in rate limiter (per address and account), and its refusals are
# recorded at most once per window (the caller decides when, see ``tangkal.web.routes``),
# so the log grows with the addresses trying real accounts, never with the names tried.
# Nobody is authenticated when an attempt fails, so those events name the system as the
# actor; the password is never recorded.


def sign_in(
    session: Session,
    org_name: str,
    username: str,
    password: str,
    *,
    lifetime: timedelta,
    address: str,
    code: str = "",
    require_totp: bool = False,
) -> tuple[Principal, str]:
    """Check the password and, for a person enrolled in TOTP (or an official or admin when
    ``require_totp``), the code or a recovery code (``tangkal.accounts.totp``); start a
    server-side sign-in record and put both on the audit record; returns the person and the
    record's id in clear (for the cookie only).

    A wrong password (or a deactivated person) for a person who exists is recorded as
    ``session.sign_in_failed`` before :class:`Unauthenticated` is raised, in the same unit
    of work (the console answers the refusal as a page, so the unit commits).
    """
    org, user, ok = _check_password(session, org_name, username, password)
    if not ok or org is None or user is None:
        if org is not None and user is not None:
            reason = "inactive" if not user.active or not user.password_hash else "password"
            record(
                session,
                SYSTEM,
                "session.sign_in_failed",
                "user",
                user.id,
                {"org": org.name, "username": user.username, "reason": reason, "address": address},
            )
        raise Unauthenticated(BAD_PASSWORD)
    second = _second_factor(session, org, user, code, require_totp=require_totp, address=address)
    principal = _principal(org, user)
    sid = web_sessions.start(session, user.id, org.id, lifetime=lifetime)
    details: dict[str, Any] = {"username": user.username, "address": address}
    if second:
        details["second_factor"] = second
    record(session, principal, "session.signed_in", "user", user.id, details)
    return principal, sid


NO_SECOND_FACTOR = Msg(
    "Your role signs in with a second factor and none is enrolled for you: ask an "
    "administrator to run 'tangkal user totp enrol' for your account."
)
BAD_CODE = Msg(
    "The authentication code is wrong, used already or missing: type the 6 digits your "
    "authenticator app shows now, or one of your unused recovery codes."
)


def _second_factor(
    session: Session,
    org: Organization,
    user: User,
    code: str,
    *,
    require_totp: bool,
    address: str,
) -> str | None:
    """After the right password: the second factor the person owes, checked (None when
    they owe none). A refusal is recorded like a wrong password, with its reason."""
    if not totp.is_required(session, user, require_for_roles=require_totp):
        return None
    reason, msg = "second_factor_not_enrolled", NO_SECOND_FACTOR
    if totp.is_enrolled(session, user):
        used = totp.check(session, user, code)
        if used is not None:
            return used
        reason, msg = "second_factor", BAD_CODE
    record(
        session,
        SYSTEM,
        "session.sign_in_failed",
        "user",
        user.id,
        {"org": org.name, "username": user.username, "reason": reason, "address": address},
    )
    raise Unauthenticated(msg)


def sign_in_rate_limited(session: Session, org_name: str, username: str, address: str) -> None:
    """Record that the rate limiter refused a sign-in, when it named a real person (the
    caller calls this at most once per limiter window and key)."""
    org = session.scalar(select(Organization).where(Organization.name == org_name))
    user = (
        session.scalar(select(User).where(User.org_id == org.id, User.username == username))
        if org
        else None
    )
    if org is None or user is None:
        return
    record(
        session,
        SYSTEM,
        "session.sign_in_rate_limited",
        "user",
        user.id,
        {"org": org.name, "username": user.username, "address": address},
    )


def sign_out(
    session: Session, principal: Principal | None, session_id: str | None, *, address: str
) -> None:
    """End this sign-in; recorded only when an open sign-in of a known person ended (a
    stale cookie signing out again adds nothing)."""
    ended = web_sessions.end(session, session_id)
    if ended and principal is not None and principal.user_id is not None:
        record(
            session,
            principal,
            "session.signed_out",
            "user",
            principal.user_id,
            {"username": principal.username, "address": address},
        )


def sign_out_everywhere(session: Session, principal: Principal, *, address: str) -> int:
    """End every open sign-in of this person and record how many there were."""
    assert principal.user_id is not None
    ended = web_sessions.end_all(session, principal.user_id)
    record(
        session,
        principal,
        "session.signed_out_everywhere",
        "user",
        principal.user_id,
        {"username": principal.username, "sessions_ended": ended, "address": address},
    )
    return ended


def own_org(session: Session, principal: Principal) -> Organization:
    org = session.get(Organization, principal.org_id)
    if org is None:
        raise NotFound(Msg("Your organisation no longer exists."))
    return org


def visible_orgs(session: Session, principal: Principal) -> list[Organization]:
    if principal.org_kind is OrgKind.REGULATOR:
        return list(session.scalars(select(Organization).order_by(Organization.name)))
    return [own_org(session, principal)]
