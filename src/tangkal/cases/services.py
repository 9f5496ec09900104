"""The case file of a platform, read from the audit record.

Every order, warning, fine, objection, sanction, block, normalisation and restoration of the
platform is an audit event already (hash-chained, in commit order); the case file is those
events of the platform's objects, in time order, with a kind a person can filter by. Reading
from the chain rather than from the current rows is the point: an annulled fine still shows
as levied and then annulled, a lifted sanction as approved and then lifted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, OrgKind, PlatformDomain, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.models import AuditEvent
from tangkal.audit.services import flush_pending
from tangkal.blocklist.models import BlockEntry
from tangkal.blocklist.rails import beneath_range
from tangkal.errors import Forbidden, InvalidInput, Msg, NotFound
from tangkal.normalisation.models import Normalisation
from tangkal.objections.models import Objection
from tangkal.orders.models import Order
from tangkal.sanctions.models import Sanction

KINDS = (
    "order",
    "warning",
    "fine",
    "report",
    "objection",
    "sanction",
    "block",
    "normalisation",
    "restoration",
    "compliance",
)

#: audit action -> the kind of case event; anything else of an object is its object's kind
_BY_ACTION = {
    "order.warning_issued": "warning",
    "order.fine_imposed": "fine",
    "order.noncompliance_reported": "report",
    "order.sanction_proposed": "sanction",
    "order.sanction_not_proposed": "sanction",
    "order.warning_annulled": "objection",
    "order.fine_annulled": "objection",
    "block.restored": "restoration",
    "sanction.lifted": "restoration",
    # an ISP still not following a block or a restoration after the SOP's grace
    "compliance.escalated": "compliance",
}
_BY_OBJECT = {
    "order": "order",
    "sanction": "sanction",
    "block_entry": "block",
    "objection": "objection",
    "normalisation": "normalisation",
}
#: data keys shown on every event where present (the rest stays in the audit record)
_SHOWN = (
    "reference",
    "code",
    "fine",
    "currency",
    "due_at",
    "domain",
    "domains",
    "status",
    "from",
    "to",
    "outcome",
    "reason",
    "subject",
    "decide_by",
    "sanction_id",
    "order_id",
    "serial",
    "stage",
    "approval",
    "of",
    "source",
    "via",
    "deadline_at",
    "basis",
    "late",
    "label_en",
    "label_id",
    "objection_id",
    "step_id",
    "isp",
    "resolver",
    "stage",
    "expected",
    "observed",
    "since",
    "grace_seconds",
)
CHUNK = 500
MAX_EVENTS = 20000


def _platform(session: Session, principal: Principal, ref: str) -> Organization:
    if principal.org_kind is OrgKind.ISP:
        raise Forbidden(Msg("An ISP has no case files; it sees the blocks it must apply."))
    if principal.org_kind is OrgKind.REGULATOR:
        principal.require(Role.ANALYST, Role.OFFICIAL, Role.AUDITOR, Role.ADMIN)
    org = session.scalar(
        select(Organization).where((Organization.name == ref) | (Organization.id == ref))
    )
    if (
        org is None
        or org.kind is not OrgKind.PLATFORM
        or (principal.org_kind is OrgKind.PLATFORM and org.id != principal.org_id)
    ):
        raise NotFound(
            Msg("No platform %(name)r among those whose case your organisation can see.", name=ref)
        )
    return org


def _objects(session: Session, principal: Principal, org: Organization) -> dict[str, list[str]]:
    regulator = principal.org_id if principal.org_kind is OrgKind.REGULATOR else None
    orders = select(Order.id).where(Order.platform_org_id == org.id)
    sanctions = select(Sanction.id).where(Sanction.platform_org_id == org.id)
    objections = select(Objection.id).where(Objection.platform_org_id == org.id)
    norms = select(Normalisation.id).where(Normalisation.platform_org_id == org.id)
    if regulator is not None:
        orders = orders.where(Order.regulator_org_id == regulator)
        sanctions = sanctions.where(Sanction.regulator_org_id == regulator)
        objections = objections.where(
            (Objection.regulator_org_id == regulator) | Objection.regulator_org_id.is_(None)
        )
        norms = norms.where(
            (Normalisation.regulator_org_id == regulator) | Normalisation.regulator_org_id.is_(None)
        )
    sanction_ids = list(session.scalars(sanctions))
    names = list(
        session.scalars(select(PlatformDomain.name).where(PlatformDomain.org_id == org.id))
    )
    conds: list[Any] = [BlockEntry.sanction_id.in_(sanction_ids)] if sanction_ids else []
    for n in names:
        low, high = beneath_range(n)
        conds += [BlockEntry.domain == n, (BlockEntry.rname > low) & (BlockEntry.rname < high)]
    blocks = list(session.scalars(select(BlockEntry.id).where(or_(*conds)))) if conds else []
    return {
        "order": list(session.scalars(orders)),
        "sanction": sanction_ids,
        "block_entry": blocks,
        "objection": list(session.scalars(objections)),
        "normalisation": list(session.scalars(norms)),
    }


def _events(session: Session, objects: dict[str, list[str]]) -> Iterable[AuditEvent]:
    flush_pending(session)
    for object_type, ids in objects.items():
        for i in range(0, len(ids), CHUNK):
            yield from session.scalars(
                select(AuditEvent).where(
                    AuditEvent.object_type == object_type,
                    AuditEvent.object_id.in_(ids[i : i + CHUNK]),
                )
            )


def _shape(e: AuditEvent, *, actors: bool) -> list[dict[str, Any]]:
    kind = _BY_ACTION.get(e.action) or _BY_OBJECT.get(e.object_type, e.object_type)
    data = e.data or {}
    base: dict[str, Any] = {
        "at": e.at.isoformat(),
        "seq": e.seq,
        "kind": kind,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
    }
    base["actor"] = e.actor if actors else e.actor.split("/", 1)[0]
    base.update({k: data[k] for k in _SHOWN if k in data and data[k] not in (None, "", [])})
    if "kind" in data and isinstance(data["kind"], str):
        base["step_kind"] = data["kind"]
    if "action" in data and isinstance(data["action"], str):
        # the block's or the answer's action; ``action`` is the event's own
        base["decided_action"] = data["action"]
    out = [base]
    if e.action == "order.warning_issued" and data.get("fine"):
        out.append({**base, "kind": "fine"})  # a letter with a fine is also a fine
    return out


def case_file(
    session: Session,
    principal: Principal,
    platform: str,
    *,
    kinds: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    org = _platform(session, principal, platform)
    wanted = set(kinds or ())
    bad = sorted(wanted - set(KINDS))
    if bad:
        raise InvalidInput(
            Msg(
                "Unknown kind %(kinds)s; use any of: %(known)s.",
                kinds=", ".join(bad),
                known=", ".join(KINDS),
            ),
            field="kind",
        )
    actors = principal.org_kind is OrgKind.REGULATOR
    events: list[dict[str, Any]] = []
    for e in _events(session, _objects(session, principal, org)):
        if (since is not None and e.at < since) or (until is not None and e.at > until):
            continue
        events.extend(x for x in _shape(e, actors=actors) if not wanted or x["kind"] in wanted)
    events.sort(key=lambda x: (x["at"], x["seq"]))
    truncated = len(events) > MAX_EVENTS
    return {
        "platform": org.name,
        "platform_id": org.id,
        "events": events[:MAX_EVENTS],
        "truncated": truncated,
        "kinds": list(KINDS),
    }


CSV_FIELDS = (
    "at",
    "kind",
    "action",
    "object_type",
    "object_id",
    "reference",
    "code",
    "fine",
    "currency",
    "domain",
    "status",
    "outcome",
    "reason",
    "actor",
    "seq",
    "isp",
    "resolver",
    "at_local",  # last, so that columns read by position before it stay where they were
)


def to_csv(case: dict[str, Any], zone: tzinfo | None = None) -> str:
    """The case file as CSV: ``at`` in UTC as the API gives it, and ``at_local``, the same
    moment in ``zone`` (the reader's, the SOP profile's by default) with its UTC offset, so
    a spreadsheet shows the times an Indonesian official reads on the console."""
    if zone is None:
        from tangkal.sop.profile import active_profile

        zone = active_profile().zone
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
    w.writeheader()
    for e in case["events"]:
        row = {k: e.get(k, "") for k in CSV_FIELDS}
        if e.get("at"):
            row["at_local"] = datetime.fromisoformat(e["at"]).astimezone(zone).isoformat()
        w.writerow(row)
    return buf.getvalue()
