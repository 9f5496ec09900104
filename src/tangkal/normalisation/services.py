"""Normalisation (normalisasi): asking for access to be restored, and deciding it in time.

The platform asks for its sanctioned names (or, for one domain, the domain's owner asks
through the public pages), with evidence for each condition of the profile's checklist —
Indonesia ships the four of July 2017. The profile's clock (2x24 hours) runs from the
request; officials are warned on the record before it runs out. Approval restores the blocks
in one change of the zone; where the profile says so (after more than ``max_blocks`` blocks
of a name) a second, different official must approve too. A refusal needs its reasons.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal import tenancy
from tangkal.accounts.approvals import approver_key
from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.audit.services import record
from tangkal.blocklist.models import BlockEntry, BlockStatus
from tangkal.blocklist.services import effective_block, required_text
from tangkal.db.base import utcnow
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, Msg, NotFound
from tangkal.locators import Domain
from tangkal.normalisation.models import Normalisation, NormalisationStatus
from tangkal.sanctions.models import Sanction, SanctionStatus
from tangkal.sop.profile import SopProfile, active_profile, get_profile

OBJECT_TYPE = "normalisation"
MAX_EVIDENCE = 5000
MAX_DOMAINS = 100
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")


def _reference(now: datetime) -> str:
    return f"NM-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"


def _conditions(profile: SopProfile, given: dict[str, Any] | None) -> dict[str, str]:
    given = dict(given or {})
    known = {c.name for c in profile.normalisation.conditions}
    unknown = sorted(set(given) - known)
    if unknown:
        raise InvalidInput(
            Msg(
                "Unknown condition %(names)s; the %(profile)s profile's conditions are: %(known)s.",
                names=", ".join(unknown),
                profile=profile.name,
                known=", ".join(sorted(known)) or "none",
            ),
            field="conditions",
        )
    out = {}
    for name, value in given.items():
        text = str(value if value is not None else "").strip()
        if len(text) > MAX_EVIDENCE:
            raise InvalidInput(
                Msg(
                    "The evidence for %(name)s is at most %(n)s characters.",
                    name=name,
                    n=MAX_EVIDENCE,
                ),
                field=f"conditions.{name}",
            )
        out[name] = text
    return out


def _needs_second(profile: SopProfile, entries: list[BlockEntry]) -> bool:
    limit = profile.normalisation.max_blocks
    return "restore_after_max_blocks" in profile.approvals.second_official_for and any(
        e.previous_blocks + 1 > limit for e in entries
    )


def request(
    session: Session,
    principal: Principal | None,
    *,
    platform: str | None = None,
    domains: list[str] | None = None,
    reason: str | None,
    conditions: dict[str, Any] | None,
    contact_email: str | None = None,
    now: datetime | None = None,
) -> Normalisation:
    """``principal`` None: a member of the public asking for one domain."""
    now = now or utcnow()
    profile = active_profile()
    text = required_text(reason, "reason", 20000, Msg("reason"))
    if len(domains or []) > MAX_DOMAINS:
        raise InvalidInput(
            Msg("At most %(n)s domains in one request.", n=MAX_DOMAINS), field="domains"
        )
    names = [Domain.parse(d, field="domains").name for d in (domains or [])]
    checked = _conditions(profile, conditions)
    if principal is None:
        email = (contact_email or "").strip()
        if len(email) > 320 or not _EMAIL.match(email):
            raise InvalidInput(
                Msg("Give an e-mail address where we can answer you, e.g. nama@contoh.co.id."),
                field="contact_email",
            )
        if len(names) != 1:
            raise InvalidInput(
                Msg("Name the one domain whose access should be restored."), field="domains"
            )
        entry = effective_block(session, Domain(names[0]))
        if entry is None or entry.status is not BlockStatus.ACTIVE:
            raise Conflict(
                Msg("%(name)s is not blocked, so there is nothing to restore.", name=names[0]),
                field="domains",
            )
        entries, platform_org_id, regulator = [entry], None, entry.requested_by_org_id
        if entry.sanction_id:
            s = session.get(Sanction, entry.sanction_id)
            platform_org_id = s.platform_org_id if s else None
            regulator = s.regulator_org_id if s else regulator
        source, who = "public", f"public:{email}"
    else:
        principal.require(Role.MODERATOR, Role.ADMIN)
        principal.require_kind(OrgKind.PLATFORM)
        if platform and platform not in (principal.org_name, principal.org_id):
            raise Forbidden(Msg("You may ask for normalisation of your own organisation only."))
        from tangkal.sanctions.services import active_blocks

        entries = active_blocks(session, principal.org_id)
        if names:
            entries = [e for e in entries if e.domain in set(names)]
            missing = sorted(set(names) - {e.domain for e in entries})
            if missing:
                raise Conflict(
                    Msg(
                        "%(names)s is not blocked by a sanction on your organisation.",
                        names=", ".join(missing),
                    ),
                    field="domains",
                )
        if not entries:
            raise Conflict(
                Msg(
                    "Nothing of %(name)s is blocked, so there is nothing to restore.",
                    name=principal.org_name,
                ),
                field="platform",
            )
        platform_org_id, email, source, who = principal.org_id, None, "platform", principal.actor
        s = session.get(Sanction, entries[0].sanction_id) if entries[0].sanction_id else None
        regulator = s.regulator_org_id if s else None
    q = select(Normalisation).where(
        Normalisation.status == NormalisationStatus.PENDING, Normalisation.source == source
    )
    q = (
        q.where(Normalisation.platform_org_id == platform_org_id)
        if source == "platform"
        else q.where(Normalisation.contact_email == email)
    )
    wanted = {e.id for e in entries}
    for pending in session.scalars(q):
        if set(pending.block_ids) & wanted:
            raise Conflict(
                Msg(
                    "Request %(ref)s for these names is still pending; its decision "
                    "is due by %(due)s.",
                    ref=pending.reference,
                    due=pending.decide_by,
                ),
                existing_id=pending.id,
            )
    row = Normalisation(
        reference=_reference(now),
        platform_org_id=platform_org_id,
        regulator_org_id=regulator,
        source=source,
        contact_email=email,
        domains=[e.domain for e in entries],
        block_ids=[e.id for e in entries],
        reason=text,
        conditions=checked,
        status=NormalisationStatus.PENDING,
        requested_by=who,
        requested_at=now,
        decide_by=now + profile.normalisation.decide_within,
        sop_profile=profile.name,
        needs_second_official=_needs_second(profile, entries),
    )
    session.add(row)
    session.flush()
    record(
        session,
        principal or SYSTEM,
        "normalisation.requested",
        OBJECT_TYPE,
        row.id,
        {
            "reference": row.reference,
            "platform_org_id": platform_org_id,
            "source": source,
            "domains": row.domains,
            "decide_by": row.decide_by.isoformat(),
            "conditions": {k: bool(v) for k, v in checked.items()},
            "needs_second_official": row.needs_second_official,
        },
    )
    return row


# ------------------------------------------------------------------------ reading


def get(
    session: Session, principal: Principal, nid: str, *, for_update: bool = False
) -> Normalisation:
    missing = Msg("No normalisation request %(id)s among those your organisation can see.", id=nid)
    return tenancy.get_one(session, Normalisation, principal, nid, missing, for_update=for_update)


def by_reference(session: Session, reference: str) -> Normalisation:
    """The request a reference names, for whoever holds the reference (the public follows
    its own request by it; a platform's request is as public as the decision on it)."""
    row = session.scalar(
        select(Normalisation).where(Normalisation.reference == reference.strip().upper())
    )
    if row is None:
        raise NotFound(
            Msg(
                "No normalisation request has the reference %(ref)s; it looks like "
                "NM-20170714-1A2B3C, as the answer to the request gave it.",
                ref=reference,
            ),
            field="reference",
        )
    return row


def public_view(session: Session, row: Normalisation) -> dict[str, Any]:
    """What anyone with the reference may see: the decision and its clock, never who asked,
    their reason, their evidence or their address."""
    body = to_dict(session, row, public=True)
    keep = (
        "reference",
        "status",
        "source",
        "platform",
        "domains",
        "requested_at",
        "decide_by",
        "decided_at",
        "decision_reason",
    )
    return {
        **{k: body[k] for k in keep},
        "conditions_met": [c["name"] for c in body["conditions"] if c["met"]],
        "blocks": [{"domain": b["domain"], "status": b["status"]} for b in body["blocks"]],
    }


def list_for(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    platform_org_id: str | None = None,
    limit: int = 100,
) -> list[Normalisation]:
    where = [Normalisation.platform_org_id == platform_org_id] if platform_org_id else []
    return tenancy.listed(
        session,
        Normalisation,
        principal,
        status=status,
        statuses=NormalisationStatus,
        order_by=Normalisation.decide_by,
        limit=limit,
        where=where,
    )


def to_dict(session: Session, row: Normalisation, *, public: bool = False) -> dict[str, Any]:
    try:
        profile = get_profile(row.sop_profile)
        checklist = profile.normalisation.conditions
        max_blocks = profile.normalisation.max_blocks
    except Exception:
        checklist, max_blocks = (), 3
    entries = (
        list(session.scalars(select(BlockEntry).where(BlockEntry.id.in_(row.block_ids))))
        if row.block_ids
        else []
    )
    platform = session.get(Organization, row.platform_org_id) if row.platform_org_id else None
    body: dict[str, Any] = {
        "id": row.id,
        "reference": row.reference,
        "status": row.status.value,
        "source": row.source,
        "platform": platform.name if platform else None,
        "domains": row.domains,
        "reason": row.reason,
        "requested_at": row.requested_at.isoformat(),
        "decide_by": row.decide_by.isoformat(),
        "conditions": [
            {
                "name": c.name,
                "label_en": c.label_en,
                "label_id": c.label_id,
                "met": bool(row.conditions.get(c.name)),
                **({} if public else {"evidence": row.conditions.get(c.name) or None}),
            }
            for c in checklist
        ],
        "needs_second_official": row.needs_second_official,
        "may_be_refused": any(e.previous_blocks + 1 > max_blocks for e in entries),
        "first_approval": (
            {"by": row.first_approved_by, "at": row.first_approved_at.isoformat()}
            if row.first_approved_at and not public
            else None
        ),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "decision_reason": row.decision_reason,
        "blocks": [{"id": e.id, "domain": e.domain, "status": e.status.value} for e in entries],
    }
    if not public:
        body["requested_by"] = row.requested_by
        body["decided_by"] = row.decided_by
    return body


# ------------------------------------------------------------------------ the decision


def decide(
    session: Session,
    principal: Principal,
    nid: str,
    *,
    outcome: str,
    reason: str | None,
    now: datetime | None = None,
) -> Normalisation:
    principal.require(Role.OFFICIAL)
    if principal.org_kind is not OrgKind.REGULATOR:
        raise Forbidden(Msg("Only the regulator's officials decide normalisation."))
    if outcome not in ("approved", "refused"):
        raise InvalidInput(
            Msg('The outcome is "approved" or "refused", not %(o)r.', o=outcome), field="outcome"
        )
    text = required_text(reason, "reason", 20000, Msg("reason for the decision"))
    now = now or utcnow()
    row = get(session, principal, nid, for_update=True)
    if row.status is not NormalisationStatus.PENDING:
        raise InvalidTransition(
            Msg(
                "Normalisation request %(ref)s was decided already (%(status)s).",
                ref=row.reference,
                status=row.status,
            )
        )
    effect: dict[str, Any] = {}
    if outcome == "approved" and row.needs_second_official:
        key = approver_key(principal)  # two officials counted as people, never as tokens
        if row.first_approver_key is None:
            row.first_approved_by, row.first_approver_key = principal.actor, key
            row.first_approved_at = now
            session.flush()
            record(
                session,
                principal,
                "normalisation.approved",
                OBJECT_TYPE,
                row.id,
                {
                    "reference": row.reference,
                    "platform_org_id": row.platform_org_id,
                    "stage": "first",
                    "reason": text,
                },
            )
            return row
        if row.first_approver_key == key:
            raise Forbidden(
                Msg(
                    "You gave the first approval of %(ref)s; a different official "
                    "must give the second.",
                    ref=row.reference,
                )
            )
    if outcome == "approved":
        effect = _restore(session, principal, row, text, now)
        row.status = NormalisationStatus.APPROVED
    else:
        row.status = NormalisationStatus.REFUSED
    row.decided_by, row.decided_at, row.decision_reason = principal.actor, now, text
    session.flush()
    record(
        session,
        principal,
        f"normalisation.{outcome}",
        OBJECT_TYPE,
        row.id,
        {
            "reference": row.reference,
            "platform_org_id": row.platform_org_id,
            "stage": "final",
            "reason": text,
            **effect,
        },
    )
    if row.platform_org_id:
        platform = session.get(Organization, row.platform_org_id)
        if platform is not None:
            from tangkal.delivery.services import enqueue

            enqueue(
                session,
                platform,
                None,
                f"normalisation.{outcome}",
                {"normalisation": to_dict(session, row)},
            )
    return row


def _restore(
    session: Session, principal: Principal, row: Normalisation, reason: str, now: datetime
) -> dict[str, Any]:
    from tangkal.blocklist import grouped
    from tangkal.sanctions import services as sanctions

    entries = list(
        session.scalars(
            select(BlockEntry).where(BlockEntry.id.in_(row.block_ids)).with_for_update()
        )
    )
    active = [e for e in entries if e.status is BlockStatus.ACTIVE]
    by_sanction: dict[str | None, list[BlockEntry]] = {}
    for e in active:
        by_sanction.setdefault(e.sanction_id, []).append(e)
    serials: list[int] = []
    restored: list[str] = []
    for sid, group in by_sanction.items():
        sanction = session.get(Sanction, sid) if sid else None
        whole = sanction is not None and {e.id for e in group} == {
            e.id for e in grouped.entries_of(session, sid or "") if e.status is BlockStatus.ACTIVE
        }
        if sanction is not None and whole and sanction.status is SanctionStatus.ACTIVE:
            serial = sanctions.end(
                session, principal, sanction, reason, via="normalisation", now=now
            )
        else:
            serial = grouped.end(session, principal, group, reason, now)
        if serial is not None:
            serials.append(serial)
        restored.extend(e.domain for e in group)
    return {"restored": restored, "serial": max(serials) if serials else None}


def remind_due(session: Session, now: datetime) -> int:
    """Officials are warned on the record before a request's decision time runs out."""
    lead = active_profile().normalisation.warning_lead()
    return tenancy.remind_due(
        session,
        Normalisation,
        NormalisationStatus.PENDING,
        lead,
        "normalisation.decision_due",
        OBJECT_TYPE,
        now,
    )
