"""Officials are reminded of an appeal's decision deadline, on the record, once, at the
profile's ``[appeals] warn_before`` (2 days of 14 in the Indonesian profile), on SQLite and
PostgreSQL; the clock is injected, never read. The queue's bands come from the same lead."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from tangkal.audit.models import AuditConcern, AuditEvent
from tangkal.audit.services import verify
from tangkal.blocklist import appeals, services
from tangkal.blocklist.models import Appeal
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.sop.profile import load_profile
from tests.unit.blocklist.conftest import People

STATEMENT = "This is my bakery's website, not propaganda."
PROFILE = load_profile("indonesia")


def _appeal(db: Database, people: People, domain: str, now: datetime) -> Appeal:
    req = services.BlockRequest.build(
        domain=domain, action="nxdomain", legal_basis="UU ITE Pasal 40 ayat 2b", reason="propaganda"
    )
    with db.unit_of_work() as s:
        services.create_block(s, people.official(), req)
        return appeals.submit(
            s, domain, "warga@contoh.co.id", STATEMENT, now=now, profile=PROFILE
        ).appeal


def _remind(db: Database, now: datetime) -> int:
    with db.unit_of_work() as s:
        return appeals.remind_due(s, now, profile=PROFILE)


def _reminders(db: Database) -> list[dict[str, Any]]:
    with db.read_only() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.action == appeals.REMINDED).order_by(AuditEvent.seq)
        )
        return [
            {"seq": e.seq, "type": e.object_type, "id": e.object_id, "actor": e.actor, **e.data}
            for e in rows
        ]


def test_an_open_appeal_is_reminded_once_at_the_lead_and_a_decided_one_never(
    db: Database, people: People
) -> None:
    t0 = utcnow()
    lead = appeals.reminder_lead(PROFILE)
    assert lead == timedelta(days=2) and PROFILE.appeals.decide_within == timedelta(days=14)
    waiting = _appeal(db, people, "reminder.example.com", t0)
    decided = _appeal(db, people, "decided.example.com", t0)
    with db.unit_of_work() as s:
        appeals.decide(s, people.official(), decided.id, outcome="rejected", reason="stands")

    assert _remind(db, t0 + timedelta(days=12) - timedelta(seconds=1)) == 0
    assert _reminders(db) == []
    assert _remind(db, t0 + timedelta(days=12)) == 1
    assert _remind(db, t0 + timedelta(days=13)) == 0  # once, not every pass
    assert _remind(db, t0 + timedelta(days=20)) == 0  # nor again when overdue

    (event,) = _reminders(db)
    assert event["type"] == appeals.OBJECT_TYPE and event["id"] == waiting.id
    assert event["actor"] == "tangkal/system(admin)"
    assert event["reference"] == waiting.reference
    assert event["decide_by"] == waiting.decide_by.isoformat()
    assert event["overdue"] is False
    with db.read_only() as s:
        # it concerns the deciding regulator, whose people read it in their record
        orgs = set(s.scalars(select(AuditConcern.org_id).where(AuditConcern.seq == event["seq"])))
        assert people.regulator.id in orgs
        assert verify(s).ok


def test_an_appeal_first_seen_past_its_deadline_is_reminded_as_overdue(
    db: Database, people: People
) -> None:
    t0 = utcnow()
    _appeal(db, people, "late.example.com", t0)
    assert _remind(db, t0 + timedelta(days=15)) == 1
    (event,) = _reminders(db)
    assert event["overdue"] is True


def test_the_bands_follow_the_same_lead(db: Database, people: People) -> None:
    t0 = utcnow()
    a = _appeal(db, people, "band.example.com", t0)
    lead = appeals.reminder_lead(PROFILE)
    assert appeals.band(a, t0, lead) is None
    assert appeals.band(a, a.decide_by - lead, lead) is appeals.Band.DUE_SOON
    assert appeals.band(a, a.decide_by - timedelta(seconds=1), lead) is appeals.Band.DUE_SOON
    assert appeals.band(a, a.decide_by, lead) is appeals.Band.OVERDUE
    with db.unit_of_work() as s:
        decided = appeals.decide(s, people.official(), a.id, outcome="rejected", reason="stands")
        assert appeals.band(decided, a.decide_by + lead, lead) is None


def test_a_profile_without_warn_before_warns_a_quarter_of_the_decision_time_ahead() -> None:
    shortened = PROFILE.model_copy(
        update={"appeals": PROFILE.appeals.model_copy(update={"warn_before": None})}
    )
    assert appeals.reminder_lead(shortened) == timedelta(days=14) / 4
