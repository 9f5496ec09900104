"""TSIG keys, subscribers, status and exports of the RPZ.

Keys and subscribers are what the DNS server consults to admit a transfer; they change
rarely, are created by the regulator's administrators for an ISP, and every creation is
audited. Exports stream from the database so that 7 million names never become one string.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.errors import InvalidInput, NotFound
from tangkal.rpz.journal import latest_seq, seq_for_serial
from tangkal.rpz.models import RpzChangeSet, RpzEntry, Subscriber, TsigKey
from tangkal.rpz.reader import read_snapshot
from tangkal.rpz.values import RpzAction, serial_distance
from tangkal.rpz.zone import ZoneConfig
from tangkal.settings import Settings

EXPORT_FORMATS = ("rpz", "hosts", "domains", "unbound")


def zone_config(settings: Settings) -> ZoneConfig:
    origin = settings.rpz_zone if settings.rpz_zone.endswith(".") else settings.rpz_zone + "."
    landing = settings.landing_host if settings.landing_host.endswith(".") \
        else settings.landing_host + "."
    return ZoneConfig(origin=origin.lower(), landing_host=landing.lower())


def _isp(session: Session, org_name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == org_name))
    if org is None:
        raise NotFound(f"No organisation named {org_name!r}. List them with 'tangkal org list'.")
    if org.kind != OrgKind.ISP:
        raise InvalidInput(f"{org_name!r} is a {org.kind.value}; RPZ keys and subscriptions "
                           "belong to ISP organisations.", field="org")
    return org


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40].strip("-")
    return slug or "isp"


def create_tsig_key(session: Session, actor: Principal, org_name: str) -> tuple[TsigKey, str]:
    """A new hmac-sha256 key for an ISP; returns the row and the base64 secret (show once)."""
    org = _isp(session, org_name)
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    key = TsigKey(org_id=org.id, name=f"tangkal-{_slug(org.name)}-{secrets.token_hex(3)}",
                  algorithm="hmac-sha256", secret=secret)
    session.add(key)
    session.flush()
    record(session, actor, "rpz.tsig.create", "tsig_key", key.id,
           {"org": org.name, "name": key.name, "algorithm": key.algorithm})
    return key, secret


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[v6]:PORT``; HOST must be an IP address (NOTIFY goes there)."""
    text = text.strip()
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)", text) or re.fullmatch(r"([^:]+):(\d+)", text)
    if not m:
        raise InvalidInput(f"{text!r} is not HOST:PORT (use [v6]:PORT for IPv6).",
                           field="notify")
    host, port = m.group(1), int(m.group(2))
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InvalidInput(f"NOTIFY host {host!r} must be an IP address.",
                           field="notify") from None
    if not 0 < port < 65536:
        raise InvalidInput(f"Port {port} is out of range.", field="notify")
    return host, port


def parse_cidrs(values: list[str]) -> list[str]:
    out = []
    for v in values:
        try:
            out.append(str(ipaddress.ip_network(v.strip(), strict=False)))
        except ValueError:
            raise InvalidInput(f"{v!r} is not an IP address or CIDR block.",
                               field="allow_ip") from None
    return out


def add_subscriber(session: Session, actor: Principal, org_name: str, notify: str,
                   allow_ips: list[str] | None = None) -> Subscriber:
    org = _isp(session, org_name)
    host, port = parse_hostport(notify)
    nets = parse_cidrs(allow_ips or [])
    sub = Subscriber(org_id=org.id, notify_host=host, notify_port=port, allow_ips=nets)
    session.add(sub)
    session.flush()
    record(session, actor, "rpz.subscriber.add", "rpz_subscriber", sub.id,
           {"org": org.name, "notify": f"{host}:{port}", "allow_ips": nets})
    return sub


@dataclass(frozen=True, slots=True)
class SubscriberStatus:
    id: str
    org: str
    notify: str
    allow_ips: list[str]
    last_serial: int | None
    last_transfer_at: datetime | None
    last_transfer_kind: str | None
    changesets_behind: int | None
    behind_since: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "org": self.org, "notify": self.notify, "allow_ips": self.allow_ips,
            "last_serial": self.last_serial,
            "last_transfer_at": self.last_transfer_at.isoformat() if self.last_transfer_at
            else None,
            "last_transfer_kind": self.last_transfer_kind,
            "changesets_behind": self.changesets_behind,
            "behind_since": self.behind_since.isoformat() if self.behind_since else None,
        }


def subscriber_status(session: Session, principal: Principal | None = None
                      ) -> list[SubscriberStatus]:
    """Every subscriber's serial and lag; an ISP caller sees only its own."""
    query = (select(Subscriber, Organization.name).join(Organization,
             Organization.id == Subscriber.org_id).order_by(Organization.name,
                                                             Subscriber.created_at))
    if principal is not None and principal.org_kind == OrgKind.ISP:
        query = query.where(Subscriber.org_id == principal.org_id)
    _seq, serial = latest_seq(session)
    out = []
    for sub, org_name in session.execute(query):
        behind: int | None = None
        since: datetime | None = None
        if sub.last_serial is not None:
            behind = serial_distance(int(sub.last_serial), serial)
            if behind:
                seq = seq_for_serial(session, int(sub.last_serial))
                since = session.scalar(select(RpzChangeSet.committed_at).where(
                    RpzChangeSet.seq == (seq or 0) + 1)) if seq is not None else None
        out.append(SubscriberStatus(sub.id, org_name, f"{sub.notify_host}:{sub.notify_port}",
                                    list(sub.allow_ips or []), sub.last_serial,
                                    sub.last_transfer_at, sub.last_transfer_kind, behind, since))
    return out


def zone_status(session: Session, settings: Settings) -> dict[str, Any]:
    seq, serial = latest_seq(session)
    oldest = session.execute(select(func.min(RpzChangeSet.committed_at),
                                    func.count(RpzChangeSet.seq))).first()
    return {
        "zone": zone_config(settings).origin,
        "serial": serial,
        "changesets": seq,
        "names": session.scalar(select(func.count()).select_from(RpzEntry)) or 0,
        "journal_from": oldest[0].isoformat() if oldest and oldest[0] else None,
        "journal_changesets": int(oldest[1]) if oldest else 0,
    }


def record_transfers(session: Session,
                     updates: list[tuple[str | None, str | None, str, int, str, datetime]]
                     ) -> None:
    """What each subscriber last transferred (from the DNS server, batched).

    An update names the subscriber, or (for a signed transfer the server could not yet
    match) the key's organisation and the peer address: then the organisation's subscriber
    at that address, or its only subscriber, is meant.
    """
    for sub_id, org_id, peer, serial, kind, at in updates:
        if sub_id is None and org_id is not None:
            subs = session.scalars(select(Subscriber).where(Subscriber.org_id == org_id)).all()
            match = [s for s in subs if s.notify_host == peer] or subs
            sub_id = match[0].id if match else None
        if sub_id is None:
            continue
        session.execute(update(Subscriber).where(Subscriber.id == sub_id).values(
            last_serial=serial, last_transfer_kind=kind, last_transfer_at=at))


def record_notify_ack(session: Session, sub_id: str, serial: int) -> None:
    session.execute(update(Subscriber).where(Subscriber.id == sub_id).values(
        last_notify_ack_serial=serial))


# -- exports ----------------------------------------------------------------------------------

def check_format(fmt: str) -> str:
    fmt = (fmt or "rpz").strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}; use one of "
                           f"{', '.join(EXPORT_FORMATS)}.", field="format")
    return fmt


def export_etag(session: Session, fmt: str) -> str:
    _seq, serial = latest_seq(session)
    return f'"rpz-{serial}-{check_format(fmt)}"'


_RPZ_TARGET = {RpzAction.NXDOMAIN: ".", RpzAction.NODATA: "*.",
               RpzAction.PASSTHRU: "rpz-passthru."}
_UNBOUND_TYPE = {RpzAction.NXDOMAIN: "always_nxdomain", RpzAction.NODATA: "always_nodata",
                 RpzAction.PASSTHRU: "always_transparent"}


def _format_lines(fmt: str, config: ZoneConfig, serial: int,
                  rows: Iterator[tuple[str, RpzAction]]) -> Iterator[str]:
    if fmt == "rpz":
        c = config
        yield f"$ORIGIN {c.origin}\n$TTL {c.ttl}\n"
        yield (f"@ SOA ns hostmaster {serial} {c.refresh} {c.retry} {c.expire} {c.minimum}\n"
               "@ NS ns\n")
    elif fmt == "hosts":
        yield f"# tangkal blocklist {config.origin} serial {serial}\n"
    elif fmt == "unbound":
        yield f"# tangkal blocklist {config.origin} serial {serial}\nserver:\n"
    for name, action in rows:
        if fmt == "rpz":
            target = _RPZ_TARGET.get(action, config.landing_host)
            yield f"{name} CNAME {target}\n*.{name} CNAME {target}\n"
        elif action == RpzAction.PASSTHRU:
            if fmt == "unbound":
                yield f'local-zone: "{name}." always_transparent\n'
        elif fmt == "domains":
            yield name + "\n"
        elif fmt == "hosts":
            yield f"0.0.0.0 {name}\n"
        elif action == RpzAction.LANDING:
            yield (f'local-zone: "{name}." redirect\n'
                   f'local-data: "{name}. {config.ttl} IN CNAME {config.landing_host}"\n')
        else:
            yield f'local-zone: "{name}." {_UNBOUND_TYPE[action]}\n'


def export_stream(db: Database, settings: Settings, fmt: str, *,
                  batch: int = 20_000) -> Iterator[bytes]:
    """The current list in ``fmt``, in pieces of about ``batch`` names, from one consistent
    read; opens its own session so an HTTP response can outlive the request's unit."""
    fmt = check_format(fmt)
    config = zone_config(settings)
    with read_snapshot(db) as session:
        _seq, serial = latest_seq(session)
        rows = session.execute(select(RpzEntry.name, RpzEntry.action)
                               .order_by(RpzEntry.name).execution_options(yield_per=batch))
        buf: list[str] = []
        for line in _format_lines(fmt, config, serial, ((n, a) for n, a in rows)):
            buf.append(line)
            if len(buf) >= batch:
                yield "".join(buf).encode()
                buf = []
        if buf:
            yield "".join(buf).encode()


def can_export(principal: Principal) -> None:
    principal.require(Role.ISP, Role.OFFICIAL, Role.AUDITOR)


def now() -> datetime:
    return utcnow()
