"""Resolvers to probe, probe rounds, and what they found.

A round: read what every name should be (the blocklist's decision, the nearest active entry
as the RPZ applies it) and which resolvers are registered; ask every ISP resolver and every
control resolver about every name (``probe``) and the ISP resolvers for the policy zone's
SOA; judge each answer (``compare``); then in one unit of work upsert the current state per
(resolver, name), append a history row for every change of state, note each resolver's
serial lag and each control found filtering, and record the round. The DNS part runs on the
event loop, the reads and the write in worker threads; writes of concurrent rounds are
serialised (an advisory lock on PostgreSQL, the writer lock on SQLite).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import case, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.accounts.services import find_org
from tangkal.audit.services import record
from tangkal.blocklist.models import BlockEntry, BlockStatus
from tangkal.compliance.compare import (
    OPEN,
    Expectation,
    Observation,
    Verdict,
    absolute,
    expectation_for,
    filtering_controls,
    filtering_message,
    isp_state,
    judge,
)
from tangkal.compliance.models import (
    ProbeCursor,
    ProbeHistory,
    ProbeResult,
    ProbeRound,
    ProbeState,
    Resolver,
)
from tangkal.compliance.probe import Prober, Target
from tangkal.db.base import utcnow
from tangkal.db.bulk import one_of_chunks
from tangkal.db.session import Database
from tangkal.errors import Conflict, Forbidden, InvalidInput, Msg, NotFound
from tangkal.livegauges import forget_all
from tangkal.locators import Domain
from tangkal.rpz.journal import changesets_after, latest_seq
from tangkal.rpz.models import RpzEntry
from tangkal.rpz.values import serial_distance, serial_lt
from tangkal.settings import Settings

MAX_NAME = 100
MAX_ROUND_NAMES = 500  # names of one round (a bigger change is sampled)
MAX_MANUAL_NAMES = 200  # names of a round asked for through the API
FOLLOW_ENDED = timedelta(days=2)  # restored names of a lifted sanction stay watched this long
KEEP_ROUNDS = timedelta(days=30)  # the rounds' summaries (results and history stay)
_LOCK_KEY = 0x636F6D70  # "comp"

NAMES = Gauge(
    "tangkal_compliance_names",
    "Names per ISP by compliance state (an ISP's state for a name: not compliant if "
    "any of its resolvers is, compliant if all that answered are)",
    ["isp", "state"],
    multiprocess_mode="livemostrecent",  # the latest round's, whichever live worker ran it
)
SERIAL_LAG = Gauge(
    "tangkal_compliance_serial_lag",
    "Serials a resolver's copy of the policy zone is behind the primary "
    "(resolvers that answer the zone's SOA)",
    ["isp", "resolver"],
    multiprocess_mode="livemostrecent",
)
ROUNDS = Counter("tangkal_compliance_rounds_total", "Probe rounds by trigger", ["trigger"])
ROUND_SECONDS = Histogram(
    "tangkal_compliance_round_seconds",
    "Duration of a probe round",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)

# ------------------------------------------------------------------ addresses and access


def parse_address(text_in: str | None) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[IPv6]`` or ``[IPv6]:PORT`` (port 53 when left out)."""
    raw = (text_in or "").strip()
    if not raw:
        raise InvalidInput(
            Msg(
                "Give the resolver's address: IP or IP:PORT, e.g. 192.0.2.53 or [2001:db8::53]:53."
            ),
            field="address",
        )
    host, port_text = raw, None
    bracketed = re.fullmatch(r"\[([^\]]*)\](?::(.*))?", raw)
    if bracketed:
        host, port_text = bracketed.group(1), bracketed.group(2)
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise InvalidInput(
            Msg(
                "%(host)r is not an IP address: a resolver is registered by its "
                "IPv4 or IPv6 address (e.g. 192.0.2.53 or [2001:db8::53]:53), "
                "not by a host name.",
                host=host,
            ),
            field="address",
        ) from None
    if ip.is_unspecified or ip.is_multicast or str(ip) == "255.255.255.255":
        raise InvalidInput(
            Msg(
                "%(ip)s cannot be a resolver's address (unspecified, multicast or "
                "broadcast); give the address it answers queries on.",
                ip=str(ip),
            ),
            field="address",
        )
    port = 53
    if port_text is not None:
        if not port_text.isdigit():
            raise InvalidInput(
                Msg(
                    "The port %(port)r is not a number; give IP:PORT with a port from 1 to 65535.",
                    port=port_text,
                ),
                field="address",
            )
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise InvalidInput(
                Msg("The port %(port)s is out of range: it must be from 1 to 65535.", port=port),
                field="address",
            )
    return str(ip), port


def show_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _regulator(principal: Principal) -> bool:
    return principal.org_kind is OrgKind.REGULATOR or principal.org_id == "system"


def _may_manage(principal: Principal) -> None:
    if _regulator(principal):
        principal.require(Role.OFFICIAL, Role.ADMIN)
    elif principal.org_kind is OrgKind.ISP:
        principal.require(Role.ISP, Role.ADMIN)
    else:
        raise Forbidden(
            Msg(
                "Resolvers are registered by the regulator or by the ISP that runs "
                "them; a platform cannot."
            )
        )


def _may_read(principal: Principal) -> None:
    if principal.org_kind is OrgKind.PLATFORM:
        raise Forbidden(
            Msg(
                "Compliance results are for the regulator, auditors and the ISPs "
                "themselves; a platform cannot read them."
            )
        )


def _isp_org(session: Session, org: str) -> Organization:
    found = find_org(session, org.strip())
    if found is None:
        raise NotFound(
            Msg("No organisation named %(org)r. List them with 'tangkal org list'.", org=org)
        )
    if found.kind is not OrgKind.ISP:
        raise InvalidInput(
            Msg(
                "%(name)r is a %(kind)s; resolvers to probe belong "
                "to ISP organisations (or are control resolvers: --control).",
                name=found.name,
                kind=found.kind,
            ),
            field="org",
        )
    return found


# ------------------------------------------------------------------ resolvers


@dataclass(frozen=True, slots=True)
class ResolverView:
    id: str
    isp: str | None
    control: bool
    name: str
    address: str
    serial: int | None
    serial_lag: int | None
    soa_checked_at: datetime | None
    filtering: str | None
    created_at: datetime
    # the same, apart, for pages that say "since" in their own language
    filtering_since: datetime | None = None
    filtering_note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "isp": self.isp,
            "control": self.control,
            "name": self.name,
            "address": self.address,
            "serial": self.serial,
            "serial_lag": self.serial_lag,
            "soa_checked_at": _iso(self.soa_checked_at),
            "filtering": self.filtering,
            "created_at": _iso(self.created_at),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _view(r: Resolver, isp: str | None) -> ResolverView:
    filtering = None
    if r.filtering_since is not None:
        filtering = f"since {r.filtering_since.isoformat()}: {r.filtering_note}"
    return ResolverView(
        r.id,
        isp,
        r.control,
        r.name,
        show_address(r.host, r.port),
        r.soa_serial,
        r.serial_lag,
        r.soa_checked_at,
        filtering,
        r.created_at,
        r.filtering_since,
        r.filtering_note,
    )


def add_resolver(
    session: Session,
    principal: Principal,
    *,
    address: str,
    org: str | None = None,
    control: bool = False,
    name: str | None = None,
) -> ResolverView:
    """Register a resolver of an ISP (its own, for an ISP's caller) or a control resolver
    (the regulator's); only registered addresses are ever probed."""
    _may_manage(principal)
    host, port = parse_address(address)
    owner: Organization | None = None
    if control:
        if not _regulator(principal):
            raise Forbidden(
                Msg(
                    "Control resolvers are the regulator's: an ISP registers only its own "
                    "resolvers."
                )
            )
        if org:
            raise InvalidInput(
                Msg(
                    "A control resolver is unfiltered and belongs to no ISP; leave "
                    "out the organisation."
                ),
                field="org",
            )
    elif _regulator(principal):
        if not org or not org.strip():
            raise InvalidInput(
                Msg("Name the ISP whose resolver this is (org), or register a control resolver."),
                field="org",
            )
        owner = _isp_org(session, org)
    else:
        owner = session.get(Organization, principal.org_id)
        if owner is None:  # pragma: no cover - a token of a deleted organisation
            raise NotFound(Msg("Your organisation no longer exists."))
        if org and org.strip() not in (owner.name, owner.id):
            raise Forbidden(
                Msg(
                    "An ISP registers only its own resolvers; leave out the "
                    "organisation or give your own."
                )
            )
    label = (name or "").strip() or show_address(host, port)
    if len(label) > MAX_NAME or not label.isprintable():
        raise InvalidInput(
            Msg(
                "The resolver's name must be printable and at most %(max)s characters.",
                max=MAX_NAME,
            ),
            field="name",
        )
    clash = session.execute(
        select(Resolver, Organization.name)
        .outerjoin(Organization, Organization.id == Resolver.org_id)
        .where(Resolver.host == host, Resolver.port == port)
    ).first()
    if clash is not None:
        raise _duplicate(principal, clash[0], clash[1])
    same_name = select(Resolver.id).where(Resolver.name == label)
    same_name = (
        same_name.where(Resolver.org_id == owner.id)
        if owner is not None
        else same_name.where(Resolver.control.is_(True))
    )
    if session.scalar(same_name) is not None:
        raise Conflict(
            Msg(
                "There is already a resolver named %(name)r for %(isp)s; choose another name.",
                name=label,
                isp=owner.name,
            )
            if owner
            else Msg(
                "There is already a resolver named %(name)r among the control resolvers; "
                "choose another name.",
                name=label,
            ),
            field="name",
        )
    row = Resolver(
        org_id=owner.id if owner else None,
        control=control,
        name=label,
        host=host,
        port=port,
        created_by=principal.actor,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # registered by a concurrent request a moment ago
        raise Conflict(
            Msg(
                "%(address)s is already registered as a resolver.",
                address=show_address(host, port),
            ),
            field="address",
        ) from None
    record(
        session,
        principal,
        "compliance.resolver.add",
        "compliance_resolver",
        row.id,
        {
            "isp": owner.name if owner else None,
            "control": control,
            "name": label,
            "address": show_address(host, port),
        },
    )
    return _view(row, owner.name if owner else None)


def _duplicate(principal: Principal, existing: Resolver, isp: str | None) -> Conflict:
    where = show_address(existing.host, existing.port)
    if _regulator(principal) or existing.org_id == principal.org_id:
        msg = (
            Msg(
                "%(address)s is already registered as a control resolver (%(id)s); an "
                "address is registered once.",
                address=where,
                id=existing.id,
            )
            if existing.control
            else Msg(
                "%(address)s is already registered as a resolver of %(isp)s (%(id)s); an "
                "address is registered once.",
                address=where,
                isp=isp,
                id=existing.id,
            )
        )
        return Conflict(msg, field="address", existing_id=existing.id)
    return Conflict(
        Msg(
            "%(address)s is already registered as a resolver; an address is registered "
            "once. Ask the regulator if it is yours.",
            address=where,
        ),
        field="address",
    )


def list_resolvers(session: Session, principal: Principal) -> list[ResolverView]:
    """The regulator sees every resolver; an ISP sees its own."""
    _may_read(principal)
    q = (
        select(Resolver, Organization.name)
        .outerjoin(Organization, Organization.id == Resolver.org_id)
        .order_by(Resolver.control, Organization.name, Resolver.name)
    )
    if not _regulator(principal):
        q = q.where(Resolver.org_id == principal.org_id)
    return [_view(r, isp) for r, isp in session.execute(q)]


def remove_resolver(session: Session, principal: Principal, resolver_id: str) -> ResolverView:
    """Stop probing a resolver; its current results go, its history stays."""
    _may_manage(principal)
    found = session.execute(
        select(Resolver, Organization.name)
        .outerjoin(Organization, Organization.id == Resolver.org_id)
        .where(Resolver.id == resolver_id)
    ).first()
    if found is None or (not _regulator(principal) and found[0].org_id != principal.org_id):
        raise NotFound(
            Msg(
                "No resolver %(id)r. List them with GET /api/v1/resolvers.",
                id=resolver_id,
            )
        )
    row, isp = found
    view = _view(row, isp)
    session.execute(delete(ProbeResult).where(ProbeResult.resolver_id == row.id))
    session.delete(row)
    session.flush()
    record(
        session,
        principal,
        "compliance.resolver.remove",
        "compliance_resolver",
        row.id,
        {"isp": isp, "control": row.control, "name": row.name, "address": view.address},
    )
    return view


# ------------------------------------------------------------------ what is expected


def _enclosing(name: str) -> list[str]:
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def decided_actions(session: Session, names: Sequence[str]) -> dict[str, str | None]:
    """Each name's action as the decision says (its own active entry, else its nearest
    listed parent's, as the RPZ applies ``*.parent``); None where it is open."""
    wanted = sorted({c for n in names for c in _enclosing(n)})
    active: dict[str, str] = {}
    for _chunk, cond in one_of_chunks(session, BlockEntry.domain, wanted):
        for domain, action in session.execute(
            select(BlockEntry.domain, BlockEntry.action).where(
                cond, BlockEntry.status == BlockStatus.ACTIVE
            )
        ):
            active[domain] = action.value
    out: dict[str, str | None] = {}
    for n in names:
        out[n] = next((active[c] for c in _enclosing(n) if c in active), None)
    return out


# ------------------------------------------------------------------ rounds


@dataclass
class Plan:
    resolvers: list[Target]
    controls: list[Target]
    flagged: set[str]  # controls found filtering by an earlier round
    actions: dict[str, str | None]
    org_of: dict[str, str | None]
    primary_serial: int


@dataclass
class RoundSummary:
    id: str | None
    trigger: str
    started_at: datetime
    finished_at: datetime
    names: int = 0
    resolvers: int = 0
    controls: int = 0
    probes: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    warnings: list[str] = field(default_factory=list)
    primary_serial: int | None = None
    escalated: int = 0  # results newly escalated after the round (past their grace)

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "trigger": self.trigger,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "seconds": round(self.seconds, 3),
            "names": self.names,
            "resolvers": self.resolvers,
            "controls": self.controls,
            "probes": self.probes,
            "counts": {s.value: self.counts.get(s.value, 0) for s in ProbeState},
            "changed": self.changed,
            "warnings": self.warnings,
            "primary_serial": self.primary_serial,
            "escalated": self.escalated,
        }


def load_plan(db: Database, names: Sequence[str]) -> Plan:
    with db.read_only() as s:
        rows = s.execute(
            select(Resolver, Organization.name)
            .outerjoin(Organization, Organization.id == Resolver.org_id)
            .order_by(Resolver.id)
        ).all()
        resolvers = [Target(r.id, r.host, r.port, isp or "?") for r, isp in rows if not r.control]
        controls = [Target(r.id, r.host, r.port, "control") for r, _isp in rows if r.control]
        flagged = {r.id for r, _isp in rows if r.control and r.filtering_since is not None}
        actions = decided_actions(s, names) if resolvers else {}
        _seq, serial = latest_seq(s)
        return Plan(
            resolvers, controls, flagged, actions, {r.id: r.org_id for r, _isp in rows}, serial
        )


async def run_round(
    db: Database,
    settings: Settings,
    names: Iterable[str],
    trigger: str,
    *,
    prober: Prober | None = None,
) -> RoundSummary:
    """Probe ``names`` at every registered resolver now; store and return what was found."""
    started = utcnow()
    t0 = time.monotonic()
    wanted = list(dict.fromkeys(names))[:MAX_ROUND_NAMES]
    plan = await asyncio.to_thread(load_plan, db, wanted)
    summary = RoundSummary(
        None,
        trigger,
        started,
        started,
        names=len(wanted),
        resolvers=len(plan.resolvers),
        controls=len(plan.controls),
        primary_serial=plan.primary_serial,
    )
    if not plan.resolvers or not wanted:
        summary.warnings.append(
            "No ISP resolver is registered: nothing was probed."
            if not plan.resolvers
            else "No names to probe."
        )
        summary.finished_at = utcnow()
        return summary
    prober = prober or Prober(rate=settings.compliance_rate)
    from tangkal.rpz.services import zone_config  # the zone's landing (TANGKAL_RPZ_LANDING)

    default = zone_config(settings).default_landing
    # A landing given as addresses is answered as those addresses, with no CNAME.
    landing = absolute(default.cname) if default.cname else ""
    configured = frozenset((*default.a, *default.aaaa))
    targets = plan.resolvers + plan.controls

    async def landing_addresses() -> frozenset[str]:
        if not any(a == "landing" for a in plan.actions.values()):
            return frozenset()
        if configured:
            return configured
        for c in plan.controls:
            obs = await prober.observe(c, landing)
            if obs.usable and obs.addresses:
                return obs.addresses
        return frozenset()

    zone = settings.rpz_zone
    observed, serials, landing_ips = await asyncio.gather(
        prober.observe_all(targets, wanted),
        asyncio.gather(*(prober.soa_serial(t, zone) for t in plan.resolvers)),
        landing_addresses(),
    )
    expected = {n: expectation_for(plan.actions.get(n), landing, landing_ips) for n in wanted}
    verdicts, flagged, cleared, warnings = evaluate(plan, expected, observed)
    summary.warnings.extend(warnings)
    summary.probes = len(targets) * len(wanted)
    lags = {
        t.id: _lag(serial, plan.primary_serial)
        for t, serial in zip(plan.resolvers, serials, strict=True)
    }
    soa = {t.id: serial for t, serial in zip(plan.resolvers, serials, strict=True)}
    stored = await asyncio.to_thread(
        store_round, db, summary, plan, expected, verdicts, soa, lags, flagged, cleared
    )
    summary.id, summary.changed = stored
    summary.counts = dict(_count(verdicts))
    summary.finished_at = utcnow()
    ROUNDS.labels(trigger).inc()
    ROUND_SECONDS.observe(time.monotonic() - t0)
    await asyncio.to_thread(refresh_metrics, db)
    summary.escalated = len(await asyncio.to_thread(escalate, db, settings))
    return summary


def escalate(db: Database, settings: Settings, now: datetime | None = None) -> list[Any]:
    """Escalate what is overdue under the server's SOP profile (``compliance.escalation``)."""
    from tangkal.compliance.escalation import escalate_due
    from tangkal.sop.profile import load_profile

    return escalate_due(db, load_profile(settings.sop_profile).compliance, now)


def _count(verdicts: dict[tuple[str, str], Verdict]) -> Iterable[tuple[str, int]]:
    counts: dict[str, int] = defaultdict(int)
    for v in verdicts.values():
        counts[v.state.value] += 1
    return counts.items()


def _lag(serial: int | None, primary: int) -> int | None:
    if serial is None:
        return None
    return serial_distance(serial, primary) if serial_lt(serial, primary) else 0


def evaluate(
    plan: Plan, expected: dict[str, Expectation], observed: dict[str, dict[str, Observation]]
) -> tuple[dict[tuple[str, str], Verdict], dict[str, str], set[str], list[str]]:
    """Verdicts per (resolver, name); controls found filtering now (with why), controls
    cleared (they answered the blocked names unfiltered), and the round's warnings."""
    blocked = {n: e for n, e in expected.items() if e.blocked}
    by_name = {n: [observed[r.id][n] for r in plan.resolvers] for n in expected}
    flagged = filtering_controls(blocked, {c.id: observed[c.id] for c in plan.controls}, by_name)
    cleared = {
        c.id
        for c in plan.controls
        if c.id in plan.flagged
        and c.id not in flagged
        and blocked
        and any(observed[c.id][n].usable for n in blocked)
    }
    usable = [
        c
        for c in plan.controls
        if c.id not in flagged and (c.id not in plan.flagged or c.id in cleared)
    ]
    warnings = []
    for c in plan.controls:
        if c.id in flagged:
            warnings.append(
                f"Control resolver {show_address(c.host, c.port)} {flagged[c.id]}: "
                "it filters, so it is not used as a control."
            )
        elif c.id in plan.flagged and c.id not in cleared:
            warnings.append(
                f"Control resolver {show_address(c.host, c.port)} was found "
                "filtering earlier and is not used as a control until a round "
                "sees it answer blocked names unfiltered."
            )
    opens = [n for n, e in expected.items() if e.kind == OPEN]
    if opens and not usable:
        warnings.append(
            "No usable control resolver: open names were judged without a "
            "reference (NXDOMAIN or no address counts as blocked)."
        )
    verdicts = {}
    for r in plan.resolvers:
        for n, exp in expected.items():
            refs = [observed[c.id][n] for c in usable]
            verdicts[(r.id, n)] = judge(exp, observed[r.id][n], refs)
    return verdicts, flagged, cleared, warnings


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def store_round(
    db: Database,
    summary: RoundSummary,
    plan: Plan,
    expected: dict[str, Expectation],
    verdicts: dict[tuple[str, str], Verdict],
    soa: dict[str, int | None],
    lags: dict[str, int | None],
    flagged: dict[str, str],
    cleared: set[str],
) -> tuple[str, int]:
    """Upsert the round's results, append the changes of state; returns (round id,
    number of changes)."""
    now = utcnow()
    with db.unit_of_work() as s:
        _lock(s)
        alive = set(s.scalars(select(Resolver.id)))
        names = list(expected)
        current: dict[tuple[str, str], tuple[int, ProbeState, str]] = {}
        for _chunk, cond in one_of_chunks(s, ProbeResult.domain, names):
            for rid, domain, pk, state, was in s.execute(
                select(
                    ProbeResult.resolver_id,
                    ProbeResult.domain,
                    ProbeResult.id,
                    ProbeResult.state,
                    ProbeResult.expected,
                ).where(cond)
            ):
                current[(rid, domain)] = (pk, state, was)
        inserts, updates, history = [], [], []
        for (rid, domain), verdict in verdicts.items():
            if rid not in alive:
                continue  # removed while the round ran
            values = {
                "expected": expected[domain].kind,
                "observed": verdict.observed,
                "state": verdict.state,
                "checked_at": now,
                "serial_lag": lags.get(rid),
            }
            before = current.get((rid, domain))
            if before is None:
                inserts.append({"resolver_id": rid, "domain": domain, "since": now, **values})
            else:
                changed: dict[str, Any] = {}
                if before[1] is not verdict.state:
                    changed = {"since": now, "escalated_at": None}
                elif (before[2] == OPEN) != (expected[domain].kind == OPEN):
                    changed = {"escalated_at": None}  # another decision: another episode
                updates.append({"id": before[0], **values, **changed})
            if before is None or before[1] is not verdict.state:
                history.append(
                    {
                        "resolver_id": rid,
                        "org_id": plan.org_of.get(rid),
                        "domain": domain,
                        "from_state": before[1].value if before else None,
                        "to_state": verdict.state,
                        "expected": expected[domain].kind,
                        "observed": verdict.observed,
                        "at": now,
                    }
                )
        if inserts:
            s.execute(insert(ProbeResult), inserts)
        if updates:
            s.execute(update(ProbeResult), updates)
        if history:
            s.execute(insert(ProbeHistory), history)
        for rid in soa:
            if rid in alive:
                s.execute(
                    update(Resolver)
                    .where(Resolver.id == rid)
                    .values(soa_serial=soa[rid], serial_lag=lags[rid], soa_checked_at=now)
                )
        for cid, why in flagged.items():
            if cid in alive:
                s.execute(
                    update(Resolver)
                    .where(Resolver.id == cid, Resolver.filtering_since.is_(None))
                    .values(filtering_since=now)
                )
                s.execute(
                    update(Resolver).where(Resolver.id == cid).values(filtering_note=why[:500])
                )
        if cleared:
            s.execute(
                update(Resolver)
                .where(Resolver.id.in_(cleared))
                .values(filtering_since=None, filtering_note=None)
            )
        s.execute(delete(ProbeRound).where(ProbeRound.started_at < now - KEEP_ROUNDS))
        row = ProbeRound(
            trigger=summary.trigger,
            started_at=summary.started_at,
            finished_at=now,
            names=summary.names,
            resolvers=summary.resolvers,
            counts=dict(_count(verdicts)),
            warnings=list(summary.warnings),
        )
        s.add(row)
        s.flush()
        return row.id, len(history)


_SEVERITY = {ProbeState.UNREACHABLE: 0, ProbeState.COMPLIANT: 1, ProbeState.NOT_COMPLIANT: 2}


def refresh_metrics(db: Database) -> None:
    """Set the per-ISP compliance and the per-resolver serial lag gauges from the tables."""
    severity = case(
        (ProbeResult.state == ProbeState.NOT_COMPLIANT, 2),
        (ProbeResult.state == ProbeState.COMPLIANT, 1),
        else_=0,
    )
    per_name = (
        select(
            Resolver.org_id.label("org_id"), ProbeResult.domain, func.max(severity).label("worst")
        )
        .join(Resolver, Resolver.id == ProbeResult.resolver_id)
        .where(Resolver.control.is_(False))
        .group_by(Resolver.org_id, ProbeResult.domain)
        .subquery()
    )
    states = {v: k for k, v in _SEVERITY.items()}
    with db.read_only() as s:
        names = dict(
            s.execute(
                select(Organization.id, Organization.name).where(Organization.kind == OrgKind.ISP)
            ).all()
        )
        counts = s.execute(
            select(per_name.c.org_id, per_name.c.worst, func.count()).group_by(
                per_name.c.org_id, per_name.c.worst
            )
        ).all()
        lags = s.execute(
            select(Resolver.org_id, Resolver.name, Resolver.serial_lag).where(
                Resolver.control.is_(False), Resolver.serial_lag.is_not(None)
            )
        ).all()
    forget_all(NAMES)  # an ISP no round probes any more leaves /metrics, also per worker
    zeroed: set[str] = set()
    for org_id, worst, n in counts:
        isp = names.get(org_id, org_id or "?")
        if isp not in zeroed:  # every state a series, 0 included, set once per ISP
            zeroed.add(isp)
            for state in ProbeState:
                NAMES.labels(isp, state.value).set(0)
        NAMES.labels(isp, states[int(worst)].value).set(n)
    forget_all(SERIAL_LAG)  # so does a resolver taken out of the probes
    for org_id, name, lag in lags:
        SERIAL_LAG.labels(names.get(org_id or "", "?"), name).set(int(lag or 0))


# ------------------------------------------------------------------ what rounds probe


def names_in_procedure(session: Session, now: datetime | None = None) -> list[str]:
    """Names under an open sanction or normalisation, and those of one that ended in the
    last two days (restored names are watched until every ISP has followed)."""
    from tangkal.normalisation.models import Normalisation, NormalisationStatus
    from tangkal.sanctions.models import Sanction, SanctionStatus

    since = (now or utcnow()) - FOLLOW_ENDED
    open_sanction = (Sanction.status == SanctionStatus.ACTIVE) | (
        (Sanction.status == SanctionStatus.LIFTED) & (Sanction.ended_at >= since)
    )
    names = set(
        session.scalars(
            select(BlockEntry.domain)
            .join(Sanction, Sanction.id == BlockEntry.sanction_id)
            .where(open_sanction, BlockEntry.activated_at.is_not(None))
        )
    )
    for domains in session.scalars(
        select(Normalisation.domains).where(
            (Normalisation.status == NormalisationStatus.PENDING)
            | (
                (Normalisation.status == NormalisationStatus.APPROVED)
                & (Normalisation.decided_at >= since)
            )
        )
    ):
        names.update(str(d) for d in (domains or []))
    return sorted(names)


def sample_of_list(session: Session, after: str, size: int) -> tuple[list[str], str]:
    """The next ``size`` names of the published list after ``after`` (wrapping round), and
    where the next sample starts."""
    if size <= 0:
        return [], after
    names = list(
        session.scalars(
            select(RpzEntry.name).where(RpzEntry.name > after).order_by(RpzEntry.name).limit(size)
        )
    )
    if len(names) < size:
        names += [
            n
            for n in session.scalars(
                select(RpzEntry.name)
                .where(RpzEntry.name <= after)
                .order_by(RpzEntry.name)
                .limit(size - len(names))
            )
            if n not in names
        ]
    return names, (names[-1] if names else "")


def cursor(session: Session) -> ProbeCursor:
    row = session.get(ProbeCursor, 1)
    if row is None:
        seq, _serial = latest_seq(session)
        row = ProbeCursor(id=1, journal_seq=seq, sample_after="", periodic_at=utcnow())
        session.add(row)
        session.flush()
    return row


def has_resolvers(session: Session) -> bool:
    return (
        session.scalar(select(Resolver.id).where(Resolver.control.is_(False)).limit(1)) is not None
    )


@dataclass(frozen=True, slots=True)
class Job:
    trigger: str
    names: list[str]
    journal_seq: int | None = None  # the change sets probed, up to
    sample_after: str | None = None  # the sample's next start
    more: bool = False  # more is waiting: go again at once


def next_job(db: Database, settings: Settings, now: datetime | None = None) -> Job | None:
    """What the worker probes next: names of new change sets (settled), then results that
    are not compliant and due for another look, then the periodic round. Reads in a
    read-only session; writes (the cursor) only when something changes, so an idle server
    never takes SQLite's write lock for it."""
    now = now or utcnow()
    with db.read_only() as s:
        row = s.get(ProbeCursor, 1)
        latest, _serial = latest_seq(s)
        if row is None or not has_resolvers(s):
            if row is None or latest != row.journal_seq:
                _move_cursor(db, latest)  # nobody to probe: no backlog to catch up on
            return None
        seq_done = int(row.journal_seq)
        settled = now - timedelta(seconds=settings.compliance_settle)
        sets = changesets_after(s, seq_done, limit=100) if latest != seq_done else []
        ready = [c for c in sets if c.committed_at <= settled]
        if ready:
            names: list[str] = []
            upto = seq_done
            for c in ready:
                if names and len(names) + len(c.changes) > MAX_ROUND_NAMES:
                    break
                names.extend(ch.name for ch in c.changes)
                upto = c.seq
            names = list(dict.fromkeys(names))
            if len(names) > MAX_ROUND_NAMES:  # one huge change set: a spread-out sample
                step = len(names) / MAX_ROUND_NAMES
                names = [names[int(i * step)] for i in range(MAX_ROUND_NAMES)]
            return Job(
                "change", names, journal_seq=upto, more=upto != ready[-1].seq or len(sets) == 100
            )
        due = now - timedelta(seconds=settings.compliance_recheck)
        recheck = list(
            s.scalars(
                select(ProbeResult.domain)
                .where(ProbeResult.state != ProbeState.COMPLIANT, ProbeResult.checked_at <= due)
                .group_by(ProbeResult.domain)
                .order_by(func.min(ProbeResult.checked_at))
                .limit(MAX_ROUND_NAMES)
            )
        )
        if recheck:
            return Job("recheck", recheck)
        if row.periodic_at is not None and now - row.periodic_at < timedelta(
            seconds=settings.compliance_interval
        ):
            return None
        names, after = periodic_names(s, settings, row.sample_after)
    with db.unit_of_work() as w:
        cursor(w).periodic_at = now
    return Job("periodic", names, sample_after=after)


def _move_cursor(db: Database, seq: int) -> None:
    with db.unit_of_work() as s:
        cursor(s).journal_seq = seq


def periodic_names(
    session: Session, settings: Settings, sample_after: str
) -> tuple[list[str], str]:
    watched = names_in_procedure(session)
    sample, after = sample_of_list(session, sample_after, settings.compliance_sample)
    names = list(dict.fromkeys(watched + sample))[:MAX_ROUND_NAMES]
    return names, after


def finish_job(db: Database, job: Job) -> None:
    with db.unit_of_work() as s:
        row = cursor(s)
        if job.journal_seq is not None and job.journal_seq > row.journal_seq:
            row.journal_seq = job.journal_seq
        if job.sample_after is not None:
            row.sample_after = job.sample_after


async def manual_round(db: Database, settings: Settings, domains: Sequence[str]) -> RoundSummary:
    """A round asked for now: the names given, else the periodic round's names."""
    names = list(dict.fromkeys(domains))
    if not names:

        def pick() -> list[str]:
            with db.read_only() as s:
                row = s.get(ProbeCursor, 1)
                return periodic_names(s, settings, row.sample_after if row else "")[0]

        names = await asyncio.to_thread(pick)
    return await run_round(db, settings, names[:MAX_MANUAL_NAMES], "manual")


# ------------------------------------------------------------------ reading


def _scope(principal: Principal, isp: str | None, session: Session) -> Any:
    """The condition on Resolver.org_id for the caller (None: no restriction)."""
    _may_read(principal)
    cond = None
    if not _regulator(principal):
        cond = Resolver.org_id == principal.org_id
    if isp:
        org = find_org(session, isp.strip())
        wanted = Resolver.org_id == (org.id if org is not None else "-")
        cond = wanted if cond is None else cond & wanted
    return cond


def compliance_items(
    session: Session,
    principal: Principal,
    *,
    domain: str | None = None,
    isp: str | None = None,
    state: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Current results per ISP, resolver and name, as the caller may see them."""
    cond = _scope(principal, isp, session)
    q = (
        select(ProbeResult, Resolver.name, Organization.name)
        .join(Resolver, Resolver.id == ProbeResult.resolver_id)
        .join(Organization, Organization.id == Resolver.org_id)
        .where(Resolver.control.is_(False))
    )
    if cond is not None:
        q = q.where(cond)
    if domain:
        q = q.where(ProbeResult.domain == Domain.parse(domain).name)
    if state:
        try:
            q = q.where(ProbeResult.state == ProbeState(state))
        except ValueError:
            raise InvalidInput(
                Msg(
                    "Unknown state %(state)r; use one of %(known)s.",
                    state=state,
                    known=", ".join(s.value for s in ProbeState),
                ),
                field="state",
            ) from None
    q = q.order_by(Organization.name, Resolver.name, ProbeResult.domain).limit(limit).offset(offset)
    return [
        {
            "isp": isp_name,
            "resolver": resolver,
            "resolver_id": r.resolver_id,
            "domain": r.domain,
            "expected": r.expected,
            "observed": r.observed,
            "compliant": r.state is ProbeState.COMPLIANT,
            "state": r.state.value,
            "since": _iso(r.since),
            "checked_at": _iso(r.checked_at),
            "serial_lag": r.serial_lag,
            "escalated_at": _iso(r.escalated_at),
        }
        for r, resolver, isp_name in session.execute(q)
    ]


def compliance_history(
    session: Session,
    principal: Principal,
    *,
    domain: str | None = None,
    isp: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Changes of state, newest first, as the caller may see them."""
    _may_read(principal)
    q = (
        select(ProbeHistory, Organization.name, Resolver.name)
        .outerjoin(Organization, Organization.id == ProbeHistory.org_id)
        .outerjoin(Resolver, Resolver.id == ProbeHistory.resolver_id)
        .where(ProbeHistory.org_id.is_not(None))
    )
    if not _regulator(principal):
        q = q.where(ProbeHistory.org_id == principal.org_id)
    if isp:
        org = find_org(session, isp.strip())
        q = q.where(ProbeHistory.org_id == (org.id if org is not None else "-"))
    if domain:
        q = q.where(ProbeHistory.domain == Domain.parse(domain).name)
    q = q.order_by(ProbeHistory.at.desc(), ProbeHistory.id.desc()).limit(limit)
    return [
        {
            "isp": isp_name,
            "resolver": resolver,
            "resolver_id": h.resolver_id,
            "domain": h.domain,
            "from_state": h.from_state,
            "to_state": h.to_state.value,
            "expected": h.expected,
            "observed": h.observed,
            "at": _iso(h.at),
        }
        for h, isp_name, resolver in session.execute(q)
    ]


def control_warnings(session: Session, principal: Principal) -> list[Msg]:
    """Control resolvers found filtering (the regulator's business only). What the control
    answered (``filtering_note``) is data and stays as the round wrote it."""
    if not _regulator(principal):
        return []
    return [
        Msg(
            "Control resolver %(name)s (%(address)s) %(note)s (since %(since)s): not used "
            "as a control.",
            name=r.name,
            address=show_address(r.host, r.port),
            note=filtering_message(r.filtering_note),
            since=r.filtering_since.isoformat(),
        )
        for r in session.scalars(
            select(Resolver).where(
                Resolver.control.is_(True), Resolver.filtering_since.is_not(None)
            )
        )
        if r.filtering_since is not None
    ]


def verification(session: Session, name: str) -> dict[str, Any]:
    """For the public lookup: at how many ISPs the name was checked and found as decided,
    and when; no resolver addresses, no ISP names. A name never probed itself is shown with
    the probes of its nearest probed parent (the block that decides it)."""
    rows: Sequence[Any] = []
    candidate = name
    for candidate in _enclosing(name):
        rows = session.execute(
            select(Resolver.org_id, ProbeResult.state, ProbeResult.checked_at)
            .join(Resolver, Resolver.id == ProbeResult.resolver_id)
            .where(ProbeResult.domain == candidate, Resolver.control.is_(False))
        ).all()
        if rows:
            break
    by_isp: dict[str, list[ProbeState]] = defaultdict(list)
    for org_id, state, _at in rows:
        by_isp[org_id].append(state)
    states = [isp_state(v) for v in by_isp.values()]
    checked = max((at for _o, _s, at in rows), default=None)
    return {
        "isps_checked": len(states),
        "isps_compliant": sum(1 for s in states if s is ProbeState.COMPLIANT),
        "isps_not_compliant": sum(1 for s in states if s is ProbeState.NOT_COMPLIANT),
        "isps_unreachable": sum(1 for s in states if s is ProbeState.UNREACHABLE),
        "checked_at": _iso(checked),
        "domain": candidate if rows else name,
    }


# ------------------------------------------------------------------ the console's board

BOARD_FILTERS = ("", "not_compliant", "overdue")


@dataclass
class BoardCell:
    """One ISP's state for one name, from its resolvers' results (``isp_state``)."""

    state: ProbeState
    expected: str
    resolvers: int = 0
    since: datetime | None = None  # since when the worst resolver is in this state
    checked_at: datetime | None = None
    overdue: bool = False  # not compliant past the profile's grace at some resolver
    escalated: bool = False  # on the case file and sent to the ISP


@dataclass
class BoardIsp:
    id: str
    name: str
    counts: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in ProbeState})
    overdue: int = 0
    escalated: int = 0
    checked_at: datetime | None = None


@dataclass
class Board:
    isps: list[BoardIsp]
    names: list[str]  # this page's names
    cells: dict[tuple[str, str], BoardCell]  # (isp id, name), for this page's names
    total_names: int  # names matching the filters, on every page


def overdue_condition(grace: Any, now: datetime) -> Any:
    """SQL for "not compliant past the grace of its stage" (``escalation.overdue``)."""
    return (ProbeResult.state == ProbeState.NOT_COMPLIANT) & (
        ((ProbeResult.expected != OPEN) & (ProbeResult.since <= now - grace.grace_after_block))
        | ((ProbeResult.expected == OPEN) & (ProbeResult.since <= now - grace.grace_after_restore))
    )


def board(
    session: Session,
    principal: Principal,
    grace: Any,
    *,
    only: str = "",
    domain: str | None = None,
    isp: str | None = None,
    offset: int = 0,
    limit: int = 100,
    now: datetime | None = None,
) -> Board:
    """ISPs by names for the console: per ISP and name the state of its worst resolver,
    since when, whether that is past the profile's grace (``grace``: the profile's
    ``compliance`` table) and whether it was escalated. ``only``: ``not_compliant`` (now) or
    ``overdue`` (not compliant for longer than the grace). Scoped as the API is: an ISP sees
    its own rows, a platform nothing.

    Sized for a national list: the per-ISP summary is one aggregate in the database, the
    names are paged there (filters applied in SQL), and only the results of one page of
    names are read."""
    from tangkal.compliance.escalation import overdue

    if only not in BOARD_FILTERS:
        raise InvalidInput(
            Msg(
                "Unknown filter %(only)r; use not_compliant or overdue, or none.",
                only=only,
            ),
            field="only",
        )
    now = now or utcnow()
    cond = _scope(principal, isp, session)
    where: list[Any] = [Resolver.control.is_(False), Resolver.org_id.is_not(None)]
    if cond is not None:
        where.append(cond)
    if domain and domain.strip():
        name = Domain.parse(domain).name
        where.append((ProbeResult.domain == name) | ProbeResult.domain.endswith("." + name))
    late = overdue_condition(grace, now)

    # the summary: per ISP, its names by worst state, past the grace, escalated
    worst = func.max(
        case(
            (ProbeResult.state == ProbeState.NOT_COMPLIANT, 2),
            (ProbeResult.state == ProbeState.COMPLIANT, 1),
            else_=0,
        )
    )
    per_name = (
        select(
            Resolver.org_id.label("org_id"),
            ProbeResult.domain.label("domain"),
            worst.label("worst"),
            func.max(case((late, 1), else_=0)).label("late"),
            func.max(
                case(
                    (
                        ProbeResult.escalated_at.is_not(None)
                        & (ProbeResult.state == ProbeState.NOT_COMPLIANT),
                        1,
                    ),
                    else_=0,
                )
            ).label("escalated"),
            func.max(ProbeResult.checked_at).label("checked_at"),
        )
        .join(Resolver, Resolver.id == ProbeResult.resolver_id)
        .where(*where)
        .group_by(Resolver.org_id, ProbeResult.domain)
        .subquery()
    )
    summary = session.execute(
        select(
            per_name.c.org_id,
            Organization.name,
            func.sum(case((per_name.c.worst == 1, 1), else_=0)),
            func.sum(case((per_name.c.worst == 2, 1), else_=0)),
            func.sum(case((per_name.c.worst == 0, 1), else_=0)),
            func.sum(per_name.c.late),
            func.sum(per_name.c.escalated),
            func.max(per_name.c.checked_at),
        )
        .join(Organization, Organization.id == per_name.c.org_id)
        .group_by(per_name.c.org_id, Organization.name)
    ).all()
    isps: dict[str, BoardIsp] = {}
    for org_id, org_name, ok_, bad, unreachable, n_late, n_esc, checked in summary:
        row = BoardIsp(org_id, org_name, overdue=int(n_late or 0), escalated=int(n_esc or 0))
        row.counts = {
            ProbeState.COMPLIANT.value: int(ok_ or 0),
            ProbeState.NOT_COMPLIANT.value: int(bad or 0),
            ProbeState.UNREACHABLE.value: int(unreachable or 0),
        }
        row.checked_at = checked
        isps[org_id] = row
    if not domain:
        # every ISP the caller may see is a row, also one without results yet
        for org_id, org_name in session.execute(
            select(Organization.id, Organization.name)
            .join(Resolver, Resolver.org_id == Organization.id)
            .where(Resolver.control.is_(False), *(() if cond is None else (cond,)))
            .distinct()
        ):
            isps.setdefault(org_id, BoardIsp(org_id, org_name))

    # the matrix: one page of the names that match, then their results
    match = list(where)
    if only == "not_compliant":
        match.append(ProbeResult.state == ProbeState.NOT_COMPLIANT)
    elif only == "overdue":
        match.append(late)
    names_q = (
        select(ProbeResult.domain)
        .join(Resolver, Resolver.id == ProbeResult.resolver_id)
        .where(*match)
        .distinct()
    )
    total = int(session.scalar(select(func.count()).select_from(names_q.subquery())) or 0)
    names = list(session.scalars(names_q.order_by(ProbeResult.domain).offset(offset).limit(limit)))
    per: dict[tuple[str, str], list[ProbeResult]] = defaultdict(list)
    if names:
        for r, org_id in session.execute(
            select(ProbeResult, Resolver.org_id)
            .join(Resolver, Resolver.id == ProbeResult.resolver_id)
            .where(*where, ProbeResult.domain.in_(names))
        ):
            per[(org_id or "", r.domain)].append(r)
    cells: dict[tuple[str, str], BoardCell] = {}
    for key, results in per.items():
        state = isp_state([r.state for r in results]) or ProbeState.UNREACHABLE
        at_worst = [r for r in results if r.state is state]
        cell = BoardCell(
            state=state,
            expected=at_worst[0].expected,
            resolvers=len(results),
            since=min(r.since for r in at_worst),
            checked_at=max(r.checked_at for r in results),
            overdue=any(overdue(r.state, r.since, r.expected, grace, now) for r in results),
            escalated=any(
                r.escalated_at is not None and r.state is ProbeState.NOT_COMPLIANT for r in results
            ),
        )
        if only and not (cell.overdue if only == "overdue" else state is ProbeState.NOT_COMPLIANT):
            continue  # another ISP's cell of a name that matches at some ISP
        cells[key] = cell
        isps.setdefault(key[0], BoardIsp(key[0], key[0]))
    return Board(
        isps=sorted(isps.values(), key=lambda i: i.name),
        names=names,
        cells=cells,
        total_names=total,
    )
