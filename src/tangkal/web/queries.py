"""Reads the pages need that the domain services do not offer (yet).

Kept here so routes stay free of queries; each function is small and scoped the same way
the services scope theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, OrgKind, User
from tangkal.accounts.principal import Principal


def signed_in_person(session: Session, user_id: str,
                     org_id: str | None) -> tuple[Principal, str, str] | None:
    """The person behind a console session, read afresh: (principal, name, organisation)."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.org_id != org_id:
        return None
    org = session.get(Organization, user.org_id)
    if org is None:
        return None
    principal = Principal(org_id=org.id, org_name=org.name, org_kind=org.kind, role=user.role,
                          user_id=user.id, username=user.username)
    return principal, user.display_name, org.display_name


@dataclass(frozen=True, slots=True)
class OrgName:
    id: str
    name: str
    display_name: str


def platforms(session: Session) -> list[OrgName]:
    """Platforms an order can be addressed to, for the new-order form."""
    rows = session.execute(
        select(Organization.id, Organization.name, Organization.display_name)
        .where(Organization.kind == OrgKind.PLATFORM).order_by(Organization.display_name)
    ).all()
    return [OrgName(*r) for r in rows]


def org_names(session: Session, ids: set[str]) -> dict[str, str]:
    """Display names of organisations by id (for tables that show the platform)."""
    if not ids:
        return {}
    rows = session.execute(select(Organization.id, Organization.display_name)
                           .where(Organization.id.in_(list(ids)))).all()
    return {i: n for i, n in rows}


@dataclass(frozen=True, slots=True)
class SubscriberStatus:
    id: str
    notify: str
    allow_ips: tuple[str, ...]
    last_serial: int | None
    behind: int | None  # change sets behind the current serial (None: never transferred)
    last_transfer_at: datetime | None
    last_transfer_kind: str | None
    last_notify_ack_serial: int | None


@dataclass(frozen=True, slots=True)
class RpzStatus:
    zone: str
    serial: int | None
    names: int
    last_change_at: datetime | None
    subscribers: tuple[SubscriberStatus, ...]


def rpz_status(session: Session, principal: Principal, zone: str) -> RpzStatus:
    """The zone as it stands and, for an ISP, its own resolvers' lag; nobody else's."""
    from tangkal.rpz.journal import current_serial
    from tangkal.rpz.models import RpzChangeSet, RpzEntry, Subscriber
    from tangkal.rpz.values import serial_distance

    serial = current_serial(session)
    names = int(session.scalar(select(func.count()).select_from(RpzEntry)) or 0)
    last_change = session.scalar(select(func.max(RpzChangeSet.committed_at)))
    subs: list[SubscriberStatus] = []
    q = select(Subscriber).order_by(Subscriber.created_at)
    if principal.org_kind is not OrgKind.REGULATOR:
        q = q.where(Subscriber.org_id == principal.org_id)
    for s in session.scalars(q):
        behind = None
        if s.last_serial is not None:
            try:
                behind = serial_distance(s.last_serial, serial)
            except Exception:
                behind = None
        subs.append(SubscriberStatus(
            id=s.id, notify=f"{s.notify_host}:{s.notify_port}",
            allow_ips=tuple(str(a) for a in (s.allow_ips or [])), last_serial=s.last_serial,
            behind=behind, last_transfer_at=s.last_transfer_at,
            last_transfer_kind=s.last_transfer_kind,
            last_notify_ack_serial=s.last_notify_ack_serial))
    return RpzStatus(zone=zone, serial=serial, names=names, last_change_at=last_change,
                     subscribers=tuple(subs))
