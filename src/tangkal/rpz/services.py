"""TSIG keys, subscribers, status and exports of the RPZ.

Keys and subscribers are what the DNS server consults to admit a transfer; they change
rarely, are created by the regulator's administrators for an ISP, and every creation is
audited. Exports stream from the database so that 7 million names never become one string.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.errors import InvalidInput, NotFound
from tangkal.rpz.formats import FORMATS, get_format
from tangkal.rpz.journal import latest_seq, seq_for_serial
from tangkal.rpz.models import RpzChangeSet, RpzEntry, Subscriber, TsigKey
from tangkal.rpz.reader import read_snapshot
from tangkal.rpz.values import Landing, serial_distance, serial_lt, stored_landing
from tangkal.rpz.zone import ZoneConfig
from tangkal.settings import Settings

EXPORT_FORMATS = tuple(FORMATS)


def zone_config(settings: Settings) -> ZoneConfig:
    """The zone's configuration from the settings: ``TANGKAL_RPZ_LANDING`` when set (a name
    or addresses), else a CNAME to ``TANGKAL_LANDING_HOST``."""
    origin = settings.rpz_zone if settings.rpz_zone.endswith(".") else settings.rpz_zone + "."
    landing_host = (
        settings.landing_host
        if settings.landing_host.endswith(".")
        else settings.landing_host + "."
    ).lower()
    landing = (
        Landing.parse(settings.rpz_landing, field="rpz_landing")
        if (settings.rpz_landing)
        else Landing(cname=landing_host)
    )
    return ZoneConfig(origin=origin.lower(), landing_host=landing_host, landing=landing)


def _isp(session: Session, org_name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == org_name))
    if org is None:
        raise NotFound(f"No organisation named {org_name!r}. List them with 'tangkal org list'.")
    if org.kind != OrgKind.ISP:
        raise InvalidInput(
            f"{org_name!r} is a {org.kind.value}; RPZ keys and subscriptions "
            "belong to ISP organisations.",
            field="org",
        )
    return org


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40].strip("-")
    return slug or "isp"


def create_tsig_key(session: Session, actor: Principal, org_name: str) -> tuple[TsigKey, str]:
    """A new hmac-sha256 key for an ISP; returns the row and the base64 secret (show once)."""
    org = _isp(session, org_name)
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    key = TsigKey(
        org_id=org.id,
        name=f"tangkal-{_slug(org.name)}-{secrets.token_hex(3)}",
        algorithm="hmac-sha256",
        secret=secret,
    )
    session.add(key)
    session.flush()
    record(
        session,
        actor,
        "rpz.tsig.create",
        "tsig_key",
        key.id,
        {"org": org.name, "name": key.name, "algorithm": key.algorithm},
    )
    return key, secret


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[v6]:PORT``; HOST must be an IP address (NOTIFY goes there)."""
    text = text.strip()
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)", text) or re.fullmatch(r"([^:]+):(\d+)", text)
    if not m:
        raise InvalidInput(f"{text!r} is not HOST:PORT (use [v6]:PORT for IPv6).", field="notify")
    host, port = m.group(1), int(m.group(2))
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InvalidInput(f"NOTIFY host {host!r} must be an IP address.", field="notify") from None
    if not 0 < port < 65536:
        raise InvalidInput(f"Port {port} is out of range.", field="notify")
    return host, port


def parse_cidrs(values: list[str]) -> list[str]:
    out = []
    for v in values:
        try:
            out.append(str(ipaddress.ip_network(v.strip(), strict=False)))
        except ValueError:
            raise InvalidInput(
                f"{v!r} is not an IP address or CIDR block.", field="allow_ip"
            ) from None
    return out


def parse_transfer_source(text: str) -> tuple[str, int | None]:
    """``IP``, ``IP:PORT`` or ``[v6]:PORT``: where a subscriber's transfers come from."""
    text = text.strip()
    try:
        return str(ipaddress.ip_address(text)), None
    except ValueError:
        pass
    try:
        host, port = parse_hostport(text)
    except InvalidInput:
        raise InvalidInput(
            f"{text!r} is not IP or IP:PORT (use [v6]:PORT for IPv6).", field="transfer_from"
        ) from None
    return str(ipaddress.ip_address(host)), port


def add_subscriber(
    session: Session,
    actor: Principal,
    org_name: str,
    notify: str,
    allow_ips: list[str] | None = None,
    *,
    key_name: str | None = None,
    transfer_from: str | None = None,
) -> Subscriber:
    """Register a subscriber. ``key_name`` (one of the ISP's keys) and ``transfer_from``
    (the address, and port, it transfers from) are optional; they are what lets the server
    tell its transfers from those of the ISP's other subscribers (docs/rpz-subscribers.md)."""
    org = _isp(session, org_name)
    host, port = parse_hostport(notify)
    nets = parse_cidrs(allow_ips or [])
    if key_name is not None:
        key = session.scalar(
            select(TsigKey).where(TsigKey.name == key_name.strip(), TsigKey.revoked_at.is_(None))
        )
        if key is None or key.org_id != org.id:
            raise InvalidInput(
                f"{org_name!r} has no TSIG key named {key_name!r}; make one "
                "with 'tangkal tsig create'.",
                field="key",
            )
        key_name = key.name
    src_host, src_port = parse_transfer_source(transfer_from) if transfer_from else (None, None)
    sub = Subscriber(
        org_id=org.id,
        notify_host=host,
        notify_port=port,
        allow_ips=nets,
        tsig_key_name=key_name,
        transfer_host=src_host,
        transfer_port=src_port,
    )
    session.add(sub)
    session.flush()
    record(
        session,
        actor,
        "rpz.subscriber.add",
        "rpz_subscriber",
        sub.id,
        {
            "org": org.name,
            "notify": f"{host}:{port}",
            "allow_ips": nets,
            "key": key_name,
            "transfer_from": _source_text(src_host, src_port),
        },
    )
    return sub


def _source_text(host: str | None, port: int | None) -> str | None:
    if host is None:
        return None
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class GroupCredit:
    """Subscribers the server could not tell apart at their last transfer, credited
    together: ``serials`` is what the group's transfers showed (one per member, in no
    member's order: which member holds which is exactly what is not known)."""

    members: list[str]
    serials: list[int | None]
    holding_current: int
    identified_by: str | None

    @property
    def size(self) -> int:
        return len(self.members)

    def as_dict(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "size": len(self.members),
            "serials": self.serials,
            "holding_current": self.holding_current,
            "identified_by": self.identified_by,
            "why": "their transfers carried nothing that tells them apart (same key or "
            "allow-listed address, no source port of their own)",
        }


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
    tsig_key: str | None = None
    transfer_from: str | None = None
    credit: str | None = None  # "own", "group", or None (never transferred)
    identified_by: str | None = None
    group: GroupCredit | None = None
    last_notify_ack_serial: int | None = None
    last_notify_ack_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org": self.org,
            "notify": self.notify,
            "allow_ips": self.allow_ips,
            "last_serial": self.last_serial,
            "last_transfer_at": self.last_transfer_at.isoformat()
            if self.last_transfer_at
            else None,
            "last_transfer_kind": self.last_transfer_kind,
            "changesets_behind": self.changesets_behind,
            "behind_since": self.behind_since.isoformat() if self.behind_since else None,
            "tsig_key": self.tsig_key,
            "transfer_from": self.transfer_from,
            "credit": self.credit,
            "identified_by": self.identified_by,
            "group": self.group.as_dict() if self.group else None,
            "last_notify_ack_serial": self.last_notify_ack_serial,
            "last_notify_ack_at": self.last_notify_ack_at.isoformat()
            if self.last_notify_ack_at
            else None,
        }


_NEVER = datetime.min.replace(tzinfo=UTC)  # sorts before any transfer


def _newest(serials: list[int]) -> int:
    best = serials[0]
    for x in serials[1:]:
        if serial_lt(best, x):
            best = x
    return best


def subscriber_status(
    session: Session, principal: Principal | None = None
) -> list[SubscriberStatus]:
    """Every subscriber's serial and lag; an ISP caller sees only its own.

    A subscriber credited as part of a group shows the group's newest serial and transfer
    (the group was credited, not one member at random) and, in ``group``, every serial the
    group's transfers showed and how many of them hold the current one.
    """
    query = (
        select(Subscriber, Organization.name)
        .join(Organization, Organization.id == Subscriber.org_id)
        .order_by(Organization.name, Subscriber.created_at)
    )
    if principal is not None and principal.org_kind == OrgKind.ISP:
        query = query.where(Subscriber.org_id == principal.org_id)
    _seq, serial = latest_seq(session)
    rows = list(session.execute(query))
    known = {sub.id: sub for sub, _org in rows}
    wanted = {i for sub, _org in rows for i in (sub.credit_shared_with or [])} - set(known)
    if wanted:  # group members the caller does not see (another ISP's): their credit only
        for other in session.scalars(select(Subscriber).where(Subscriber.id.in_(wanted))):
            known[other.id] = other
    since_cache: dict[int, datetime | None] = {}
    out = []
    for sub, org_name in rows:
        last_serial, last_at, last_kind = (
            sub.last_serial,
            sub.last_transfer_at,
            sub.last_transfer_kind,
        )
        group: GroupCredit | None = None
        shared = [i for i in (sub.credit_shared_with or []) if i in known]
        if shared:
            members = [known[i] for i in sorted([sub.id, *shared])]
            serials = [None if m.last_serial is None else int(m.last_serial) for m in members]
            held = [x for x in serials if x is not None]
            if held:
                last_serial = _newest(held)
                newest = max(members, key=lambda m: m.last_transfer_at or _NEVER)
                last_at, last_kind = newest.last_transfer_at, newest.last_transfer_kind
            group = GroupCredit(
                [m.id for m in members],
                serials,
                sum(1 for x in serials if x == serial),
                sub.last_identified_by,
            )
        behind: int | None = None
        since: datetime | None = None
        if last_serial is not None:
            behind = serial_distance(int(last_serial), serial)
            if behind:
                key = int(last_serial)
                if key not in since_cache:
                    seq = seq_for_serial(session, key)
                    since_cache[key] = (
                        session.scalar(
                            select(RpzChangeSet.committed_at).where(RpzChangeSet.seq == seq + 1)
                        )
                        if seq is not None
                        else None
                    )
                since = since_cache[key]
        credit = None if last_serial is None else ("group" if group else "own")
        out.append(
            SubscriberStatus(
                sub.id,
                org_name,
                f"{sub.notify_host}:{sub.notify_port}",
                list(sub.allow_ips or []),
                last_serial,
                last_at,
                last_kind,
                behind,
                since,
                tsig_key=sub.tsig_key_name,
                transfer_from=_source_text(sub.transfer_host, sub.transfer_port),
                credit=credit,
                identified_by=sub.last_identified_by,
                group=group,
                last_notify_ack_serial=sub.last_notify_ack_serial,
                last_notify_ack_at=sub.last_notify_ack_at,
            )
        )
    return out


def zone_status(session: Session, settings: Settings) -> dict[str, Any]:
    seq, serial = latest_seq(session)
    oldest = session.execute(
        select(func.min(RpzChangeSet.committed_at), func.count(RpzChangeSet.seq))
    ).first()
    return {
        "zone": zone_config(settings).origin,
        "serial": serial,
        "changesets": seq,
        "names": session.scalar(select(func.count()).select_from(RpzEntry)) or 0,
        "journal_from": oldest[0].isoformat() if oldest and oldest[0] else None,
        "journal_changesets": int(oldest[1]) if oldest else 0,
    }


@dataclass(frozen=True, slots=True)
class Credit:
    """One subscriber's share of a transfer, as the DNS server books it (batched).

    ``serial`` is None for a group member whose own slot did not move: only the group it
    was credited with (``shared_with``) is recorded for it.
    """

    subscriber_id: str
    serial: int | None
    kind: str
    at: datetime
    identified_by: str
    shared_with: tuple[str, ...] = ()


def record_transfers(session: Session, credits: list[Credit]) -> None:
    """What each subscriber last transferred, and how it was told apart (from the server).

    Only each subscriber's last credit of the batch is written, with one prepared statement
    executed for all rows (``executemany``): after a NOTIFY round the server hands over
    thousands at once, and one ORM update per row held the interpreter lock long enough to
    delay the transfers themselves (bench.fanout showed half the server's time there).
    """
    last: dict[str, Credit] = {}
    moved: dict[str, Credit] = {}
    for c in credits:
        last[c.subscriber_id] = c
        if c.serial is not None:
            moved[c.subscriber_id] = c
    table = cast(Table, Subscriber.__table__)
    if moved:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                last_serial=bindparam("b_serial"),
                last_transfer_kind=bindparam("b_kind"),
                last_transfer_at=bindparam("b_at"),
            ),
            [
                {"b_id": c.subscriber_id, "b_serial": c.serial, "b_kind": c.kind, "b_at": c.at}
                for c in moved.values()
            ],
        )
    if last:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(last_identified_by=bindparam("b_by"), credit_shared_with=bindparam("b_shared")),
            [
                {
                    "b_id": c.subscriber_id,
                    "b_by": c.identified_by,
                    "b_shared": list(c.shared_with) or None,
                }
                for c in last.values()
            ],
        )


def record_notify_acks(session: Session, acks: list[tuple[str, int, datetime]]) -> None:
    """NOTIFY acknowledgements (subscriber, serial, when), batched by the server: the last
    of each subscriber, in one executemany."""
    last = {sub_id: (serial, at) for sub_id, serial, at in acks}
    if not last:
        return
    table = cast(Table, Subscriber.__table__)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(last_notify_ack_serial=bindparam("b_serial"), last_notify_ack_at=bindparam("b_at")),
        [{"b_id": i, "b_serial": serial, "b_at": at} for i, (serial, at) in last.items()],
    )


def record_notify_ack(session: Session, sub_id: str, serial: int) -> None:
    record_notify_acks(session, [(sub_id, serial, utcnow())])


# -- exports ----------------------------------------------------------------------------------


def check_format(fmt: str) -> str:
    """The canonical name of an export format (the table is ``tangkal.rpz.formats``)."""
    return get_format(fmt).name


def export_etag(session: Session, fmt: str, settings: Settings | None = None) -> str:
    """Changes with the serial and, for a changed landing, with the landing too."""
    _seq, serial = latest_seq(session)
    tag = f"rpz-{serial}-{get_format(fmt).name}"
    if settings is not None:
        landing = zone_config(settings).default_landing.text()
        tag += "-" + hashlib.sha256(landing.encode()).hexdigest()[:8]
    return f'"{tag}"'


def export_stream(
    db: Database, settings: Settings, fmt: str, *, batch: int = 20_000
) -> Iterator[bytes]:
    """The current list in ``fmt``, in pieces of about ``batch`` names, from one consistent
    read; opens its own session so an HTTP response can outlive the request's unit."""
    form = get_format(fmt)
    config = zone_config(settings)
    with read_snapshot(db) as session:
        _seq, serial = latest_seq(session)
        rows = session.execute(
            select(RpzEntry.name, RpzEntry.action, RpzEntry.landing)
            .order_by(RpzEntry.name)
            .execution_options(yield_per=batch)
        )
        buf: list[str] = [form.header(config, serial)]
        line = form.line
        default = config.default_landing
        for name, action, own in rows:
            buf.append(line(name, action, stored_landing(own) or default, config))
            if len(buf) >= batch:
                yield "".join(buf).encode()
                buf = []
        if buf:
            yield "".join(buf).encode()


def can_export(principal: Principal) -> None:
    principal.require(Role.ISP, Role.OFFICIAL, Role.AUDITOR)


def now() -> datetime:
    return utcnow()
