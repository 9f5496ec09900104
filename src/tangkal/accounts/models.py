"""Organisations, users and API tokens.

Secrets are never stored: passwords and API tokens are kept as argon2 hashes. A platform's
webhook secret is the exception by necessity (we must sign with it), and is only ever shown
to that platform's own admins.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tangkal.db.base import Base, enum_column, new_id, utcnow


class OrgKind(enum.StrEnum):
    REGULATOR = "regulator"
    PLATFORM = "platform"
    ISP = "isp"


class Role(enum.StrEnum):
    ANALYST = "analyst"  # regulator: files orders and proposes blocks
    OFFICIAL = "official"  # regulator: approves sanctions, blocks, restorations
    MODERATOR = "moderator"  # platform: receives orders, acts, answers
    ISP = "isp"  # ISP: subscribes to the RPZ, reports probes
    AUDITOR = "auditor"  # any: reads the record and verifies the chain
    ADMIN = "admin"  # manages its own organisation's people, tokens and settings


ROLES_BY_KIND: dict[OrgKind, frozenset[Role]] = {
    OrgKind.REGULATOR: frozenset({Role.ANALYST, Role.OFFICIAL, Role.AUDITOR, Role.ADMIN}),
    OrgKind.PLATFORM: frozenset({Role.MODERATOR, Role.AUDITOR, Role.ADMIN}),
    OrgKind.ISP: frozenset({Role.ISP, Role.AUDITOR, Role.ADMIN}),
}


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    # narahubung: the contact point that answers for the organisation
    contact_name: Mapped[str | None] = mapped_column(String(200), default=None)
    contact_email: Mapped[str | None] = mapped_column(String(320), default=None)
    contact_phone: Mapped[str | None] = mapped_column(String(64), default=None)
    # delivery channel for orders: "webhook" (pushed, signed) or "inbox" (pulled)
    delivery_channel: Mapped[str] = mapped_column(String(16), default="inbox")
    webhook_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(String(128), default=None)
    # how pushes are signed: "tangkal" (Tangkal-Signature) or "standard" (Standard Webhooks)
    webhook_signature: Mapped[str] = mapped_column(
        String(16), default="tangkal", server_default="tangkal"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    domains: Mapped[list[PlatformDomain]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", order_by="PlatformDomain.name"
    )

    def public_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "display_name": self.display_name,
            "country": self.country,
            "domains": [d.name for d in self.domains],
            "contact": {
                "name": self.contact_name,
                "email": self.contact_email,
                "phone": self.contact_phone,
            },
            "delivery_channel": self.delivery_channel,
            "webhook_url": self.webhook_url,
            "webhook_signature": self.webhook_signature,
        }


class PlatformDomain(Base):
    """A registered domain of a platform: blocking it is a whole-service block."""

    __tablename__ = "platform_domains"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(253), unique=True)

    organization: Mapped[Organization] = relationship(back_populates="domains")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "username"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the IANA zone the console shows this person times in (one of the profile's
    #: ``timezones``: WITA, WIT beside WIB); None: the profile's own zone
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)

    organization: Mapped[Organization] = relationship()


class ApiToken(Base):
    """An API token; only its argon2 hash and a short public prefix are stored.

    The prefix lets us find the one row to verify without scanning every hash.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    role: Mapped[Role] = mapped_column(enum_column(Role))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(200))
    label: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    organization: Mapped[Organization] = relationship()


class WebSessionRecord(Base):
    """A console sign-in, so that signing out really ends it on the server.

    The browser's cookie carries a random session id; only its SHA-256 is stored (like API
    tokens, a copy of this table does not let anyone sign in). A record that is missing,
    ended or past ``expires_at`` is treated as signed out, so a replayed copy of the cookie
    stops working as soon as its owner signs out, is deactivated or changes password.
    """

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class UserTotp(Base):
    """A person's TOTP second factor (RFC 6238, as authenticator apps show it).

    The shared secret must be read back to check a code, so it cannot be hashed like a
    password: it is stored as is (base32), and the database is as sensitive as the secret
    (docs/security.md). ``last_step`` is the 30-second step of the last code accepted, so a
    code seen over someone's shoulder cannot be used a second time.
    """

    __tablename__ = "user_totp"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_step: Mapped[int | None] = mapped_column(default=None)


class RecoveryCode(Base):
    """A single-use code for a person who lost their authenticator; only its argon2 hash is
    kept, and ``used_at`` is set the one time it is accepted."""

    __tablename__ = "user_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
