"""Feedback on matches, and how it reaches the bank a signal came from.

A platform that matched a banked content says ``confirmed`` or ``false_positive``. The verdict
is stored on the content it matched; a content that is a copy of another bank's (imported
from that bank's CSV export: :class:`~tangkal.hashing.models.ContentSource`) passes it on to
the original, so the organisation that first shared a signal learns how it fares on every
platform that uses it, through whichever bank.

Who sees what (the rule the API and the console follow):

* Everyone who can see a content sees its totals: how many verdicts of each kind, and from
  how many organisations (the match answers carry them).
* The owner of the content's bank also sees, per organisation, its name and counts, and the
  notes: feedback on a shared bank is addressed to its owner, who has to act on it.
* Any other organisation sees its own notes only, never another platform's (a note may name
  that platform's users or moderation practice).

A content that several organisations reject (:data:`REVIEW_ORGS`) is flagged
``needs_review`` and sorted first in the bank's feedback view; nothing is removed or
suppressed automatically, since the owner may know better (a rejection can be a platform's
own threshold mistake). Audit events stay the giver's: ``bank.match_feedback`` is recorded
under the organisation that gave it, and the owner learns of it through these tallies, not
through another tenant's audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.errors import Forbidden, InvalidInput, Msg, NotFound
from tangkal.hashing.banks import READ_ROLES, get_bank
from tangkal.hashing.models import Bank, BankContent, ContentSource, MatchFeedback

VERDICTS = ("confirmed", "false_positive")
REVIEW_ORGS = 2
"""A content rejected by at least this many organisations is flagged for its owner's review."""
SORTS = ("rejected", "confirmed", "content")


# ---------------------------------------------------------------- counting


def org_counts(session: Session, ids: Sequence[int]) -> dict[int, dict[str, dict[str, int]]]:
    """``{content id: {org id: {verdict: count}}}``, copies' verdicts included."""
    out: dict[int, dict[str, dict[str, int]]] = {}
    cols = (MatchFeedback.org_id, MatchFeedback.verdict, func.count())
    if not ids:
        return out
    direct = (
        select(MatchFeedback.content_id, *cols)
        .where(MatchFeedback.content_id.in_(ids))
        .group_by(MatchFeedback.content_id, MatchFeedback.org_id, MatchFeedback.verdict)
    )
    via_copies = (
        select(ContentSource.origin_content_id, *cols)
        .join(MatchFeedback, MatchFeedback.content_id == ContentSource.content_id)
        .where(ContentSource.origin_content_id.in_(ids))
        .group_by(ContentSource.origin_content_id, MatchFeedback.org_id, MatchFeedback.verdict)
    )
    for stmt in (direct, via_copies):
        for cid, org, verdict, n in session.execute(stmt):
            per = out.setdefault(cid or 0, {}).setdefault(org, {})
            per[verdict] = per.get(verdict, 0) + n
    return out


def feedback_counts(session: Session, ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """``{content id: {verdict: count}}`` so far, copies' verdicts included (what a match
    answer shows everyone who can see the content)."""
    out: dict[int, dict[str, int]] = {}
    for cid, orgs in org_counts(session, ids).items():
        for verdicts in orgs.values():
            totals = out.setdefault(cid, {})
            for verdict, n in verdicts.items():
                totals[verdict] = totals.get(verdict, 0) + n
    return out


# ---------------------------------------------------------------- giving


def give_feedback(
    session: Session,
    principal: Principal,
    content_id: int,
    verdict: str,
    *,
    query_signal: str | None = None,
    note: str | None = None,
) -> MatchFeedback:
    principal.require(*READ_ROLES)
    if verdict not in VERDICTS:
        raise InvalidInput(Msg("verdict is 'confirmed' or 'false_positive'."), field="verdict")
    _, bank = _visible_content(session, principal, content_id)
    fb = MatchFeedback(
        content_id=content_id,
        org_id=principal.org_id,
        verdict=verdict,
        query_signal=query_signal,
        note=note,
        given_by=principal.actor,
    )
    session.add(fb)
    session.flush()
    record(
        session,
        principal,
        "bank.match_feedback",
        "bank",
        bank.id,
        {"content_id": content_id, "verdict": verdict, "note": note},
    )
    return fb


def _visible_content(
    session: Session, principal: Principal, content_id: int
) -> tuple[BankContent, Bank]:
    row = session.execute(
        select(BankContent, Bank).join(Bank).where(BankContent.id == content_id)
    ).first()
    if row is None or (not row[1].shared and row[1].owner_org_id != principal.org_id):
        raise NotFound(Msg("No bank content %(id)s that your organisation can see.", id=content_id))
    return row[0], row[1]


# ---------------------------------------------------------------- tallies


@dataclass(frozen=True, slots=True)
class OrgVerdicts:
    org_id: str
    org_name: str
    confirmed: int
    false_positive: int


@dataclass(frozen=True, slots=True)
class Tally:
    """The verdicts on one content (and its copies), as its bank's owner sees them."""

    content_id: int
    signal_type: str
    signal: str
    label: str | None
    confirmed: int
    false_positive: int
    orgs_confirmed: int
    orgs_rejected: int
    by_org: list[OrgVerdicts]
    source: dict[str, Any]

    @property
    def needs_review(self) -> bool:
        return self.orgs_rejected >= REVIEW_ORGS

    def as_dict(self) -> dict[str, Any]:
        return {
            "content_id": self.content_id,
            "signal_type": self.signal_type,
            "signal": self.signal,
            "label": self.label,
            "confirmed": self.confirmed,
            "false_positive": self.false_positive,
            "orgs_confirmed": self.orgs_confirmed,
            "orgs_rejected": self.orgs_rejected,
            "needs_review": self.needs_review,
            "by_org": [
                {
                    "org_id": o.org_id,
                    "org_name": o.org_name,
                    "confirmed": o.confirmed,
                    "false_positive": o.false_positive,
                }
                for o in self.by_org
            ],
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class BankFeedback:
    bank: str
    confirmed: int
    false_positive: int
    needs_review: int
    contents: list[Tally] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "confirmed": self.confirmed,
            "false_positive": self.false_positive,
            "needs_review": self.needs_review,
            "review_orgs": REVIEW_ORGS,
            "contents": [t.as_dict() for t in self.contents],
        }


def source_dict(src: ContentSource | None) -> dict[str, Any]:
    """A content's provenance as the API shows it (``{}`` for content banked before it was
    recorded and not backfilled)."""
    if src is None:
        return {}
    return {
        "kind": src.kind.value,
        "origin_content_id": src.origin_content_id,
        "origin_bank_id": src.origin_bank_id,
        "origin_org_id": src.origin_org_id,
        "file_format": src.file_format,
        "file_name": src.file_name,
        "file_row": src.file_row,
        "order_id": src.order_id,
        "reported_confirmed": src.reported_confirmed,
        "reported_false_positive": src.reported_false_positive,
    }


def _org_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(
        session.execute(
            select(Organization.id, Organization.display_name).where(Organization.id.in_(ids))
        ).all()
    )


def _tallies(session: Session, contents: Sequence[BankContent]) -> list[Tally]:
    ids = [c.id for c in contents]
    per_org = org_counts(session, ids)
    names = _org_names(session, {o for orgs in per_org.values() for o in orgs})
    sources = {
        s.content_id: s
        for s in session.scalars(select(ContentSource).where(ContentSource.content_id.in_(ids)))
    }
    out = []
    for c in contents:
        orgs = per_org.get(c.id, {})
        by_org = sorted(
            (
                OrgVerdicts(o, names.get(o, o), v.get("confirmed", 0), v.get("false_positive", 0))
                for o, v in orgs.items()
            ),
            key=lambda o: (-o.false_positive, o.org_name),
        )
        out.append(
            Tally(
                c.id,
                c.signal_type,
                c.signal,
                c.label,
                sum(o.confirmed for o in by_org),
                sum(o.false_positive for o in by_org),
                sum(1 for o in by_org if o.confirmed),
                sum(1 for o in by_org if o.false_positive),
                by_org,
                source_dict(sources.get(c.id)),
            )
        )
    return out


def _require_owner(principal: Principal, bank: Bank) -> None:
    if bank.owner_org_id != principal.org_id:
        raise Forbidden(
            Msg(
                "Only the owner of bank %(name)s sees its feedback by organisation; the match "
                "answers carry the totals.",
                name=bank.name,
            )
        )


def bank_feedback(
    session: Session,
    principal: Principal,
    bank_name: str,
    *,
    sort: str = "rejected",
    review_only: bool = False,
    limit: int = 100,
) -> BankFeedback:
    """The verdicts on a bank's contents, for its owner: every content that has any (given
    on it or on a copy of it), most rejected first by default (``sort``: rejected, confirmed,
    content), or only the ones flagged for review."""
    if sort not in SORTS:
        raise InvalidInput(Msg("sort is one of: %(sorts)s.", sorts=", ".join(SORTS)), field="sort")
    bank = get_bank(session, principal, bank_name)
    _require_owner(principal, bank)
    copies = (
        select(ContentSource.origin_content_id)
        .join(MatchFeedback, MatchFeedback.content_id == ContentSource.content_id)
        .where(ContentSource.origin_content_id.is_not(None))
    )
    contents = list(
        session.scalars(
            select(BankContent)
            .where(
                BankContent.bank_id == bank.id,
                or_(
                    BankContent.id.in_(select(MatchFeedback.content_id)),
                    BankContent.id.in_(copies),
                ),
            )
            .order_by(BankContent.id)
        )
    )
    tallies = _tallies(session, contents)
    keys = {
        "rejected": lambda t: (-t.orgs_rejected, -t.false_positive, t.content_id),
        "confirmed": lambda t: (-t.orgs_confirmed, -t.confirmed, t.content_id),
        "content": lambda t: (t.content_id,),
    }
    tallies.sort(key=keys[sort])
    shown = [t for t in tallies if t.needs_review] if review_only else tallies
    return BankFeedback(
        bank.name,
        sum(t.confirmed for t in tallies),
        sum(t.false_positive for t in tallies),
        sum(1 for t in tallies if t.needs_review),
        shown[:limit],
    )


def content_feedback(session: Session, principal: Principal, content_id: int) -> dict[str, Any]:
    """One content's verdicts: totals for everyone who can see it; names, counts per
    organisation and every note for its bank's owner; only the caller's own notes otherwise."""
    principal.require(*READ_ROLES)
    content, bank = _visible_content(session, principal, content_id)
    tally = _tallies(session, [content])[0]
    owner = bank.owner_org_id == principal.org_id
    copies = select(ContentSource.content_id).where(ContentSource.origin_content_id == content.id)
    notes_q = (
        select(MatchFeedback)
        .where(
            or_(MatchFeedback.content_id == content.id, MatchFeedback.content_id.in_(copies)),
            MatchFeedback.note.is_not(None),
        )
        .order_by(MatchFeedback.created_at, MatchFeedback.id)
    )
    if not owner:
        notes_q = notes_q.where(MatchFeedback.org_id == principal.org_id)
    notes = list(session.scalars(notes_q))
    names = _org_names(session, {n.org_id for n in notes})
    out = {
        "content_id": content.id,
        "bank": bank.name,
        "confirmed": tally.confirmed,
        "false_positive": tally.false_positive,
        "orgs_confirmed": tally.orgs_confirmed,
        "orgs_rejected": tally.orgs_rejected,
        "needs_review": tally.needs_review,
        "source": tally.source,
        "notes": [
            {
                "org_id": n.org_id,
                "org_name": names.get(n.org_id, n.org_id),
                "verdict": n.verdict,
                "note": n.note,
                "given_at": n.created_at.isoformat(),
            }
            for n in notes
        ],
    }
    if owner:
        out["by_org"] = tally.as_dict()["by_org"]
    return out
