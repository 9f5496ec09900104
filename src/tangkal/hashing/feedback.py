"""Feedback on matches: a platform's verdict (``confirmed`` or ``false_positive``) on a banked
content it matched, and the verdicts so far per content.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.errors import InvalidInput, Msg, NotFound
from tangkal.hashing.banks import READ_ROLES, counts_by
from tangkal.hashing.models import Bank, BankContent, MatchFeedback


def feedback_counts(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    """Verdicts given so far on each matched content row."""
    return counts_by(session, MatchFeedback.content_id, MatchFeedback.verdict, ids)


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
    if verdict not in ("confirmed", "false_positive"):
        raise InvalidInput(Msg("verdict is 'confirmed' or 'false_positive'."), field="verdict")
    row = session.execute(
        select(BankContent, Bank).join(Bank).where(BankContent.id == content_id)
    ).first()
    if row is None or (not row[1].shared and row[1].owner_org_id != principal.org_id):
        raise NotFound(Msg("No bank content %(id)s that your organisation can see.", id=content_id))
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
        row[1].id,
        {"content_id": content_id, "verdict": verdict, "note": note},
    )
    return fb
