"""Appeals through their life, on SQLite and PostgreSQL: submitted with a reference and a
follow-up code, followed only with both, queued by deadline, reviewed and decided by an
official by the state machine, and an upheld appeal lifting the block through the RPZ."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tangkal.accounts.models import Role
from tangkal.accounts.principal import SYSTEM
from tangkal.audit.services import events_for, verify
from tangkal.blocklist import appeals, services
from tangkal.blocklist.models import Appeal, AppealStatus, BlockEntry, BlockStatus
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from tangkal.sop.profile import load_profile
from tests.unit.blocklist.conftest import People, zone

STATEMENT = "This is my bakery's website, not propaganda."


def _block(db: Database, people: People, domain: str) -> BlockEntry:
    req = services.BlockRequest.build(
        domain=domain, action="nxdomain", legal_basis="UU ITE Pasal 40 ayat 2b", reason="propaganda"
    )
    with db.unit_of_work() as s:
        entry, _ = services.create_block(s, people.official(), req)
        return entry


def _submit(db: Database, target: str, **kw: object) -> appeals.Submitted:
    with db.unit_of_work() as s:
        return appeals.submit(s, target, "warga@contoh.co.id", STATEMENT, **kw)  # type: ignore[arg-type]


def test_an_appeal_gets_a_reference_a_code_shown_once_and_the_profiles_deadline(
    db: Database, people: People
) -> None:
    entry = _block(db, people, "appeal.example.com")
    profile = load_profile("indonesia")
    now = utcnow()
    done = _submit(db, "https://www.appeal.example.com/menu?x=1", now=now, profile=profile)
    a = done.appeal
    assert a.block_id == entry.id and a.domain == "www.appeal.example.com"
    assert a.reference.startswith("AP-") and a.status is AppealStatus.RECEIVED
    assert a.decide_by == now + profile.appeals.decide_within == now + timedelta(days=14)
    assert a.regulator_org_id == people.regulator.id
    # only a hash of the code is kept, never the code
    with db.read_only() as s:
        row = s.scalar(select(Appeal).where(Appeal.id == a.id))
        assert row is not None and row.follow_up_hash is not None
        assert done.follow_up_code not in row.follow_up_hash
        assert appeals.normalise_code(done.follow_up_code) not in (row.follow_up_hash or "")
    assert len(appeals.normalise_code(done.follow_up_code)) == 16


def test_following_needs_the_reference_and_the_code_and_says_nothing_about_which_was_wrong(
    db: Database, people: People
) -> None:
    _block(db, people, "follow.example.com")
    done = _submit(db, "follow.example.com")
    other = _submit(db, "follow.example.com")
    ref, code = done.appeal.reference, done.follow_up_code
    with db.read_only() as s:
        assert appeals.follow(s, ref, code).id == done.appeal.id
        # as a person types it: lower case, without the dashes, the reference too
        typed = appeals.normalise_code(code).lower()
        assert appeals.follow(s, ref.lower(), typed).id == done.appeal.id
        refusals = []
        for r, c in ((ref, other.follow_up_code), ("AP-0000000000", code), (ref, ""), ("", code)):
            with pytest.raises(NotFound) as exc:
                appeals.follow(s, r, c)
            refusals.append(exc.value.message)
        assert len(set(refusals)) == 1  # one answer for every wrong pair


def test_only_a_blocked_name_can_be_appealed_and_bad_input_names_its_field(
    db: Database, people: People
) -> None:
    _block(db, people, "strict.example.com")
    with db.unit_of_work() as s, pytest.raises(Conflict, match="not blocked") as exc:
        appeals.submit(s, "free.example.com", "a@b.co", "please unblock this name")
    assert exc.value.field == "domain"
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as bad:
        appeals.submit(s, "strict.example.com", "nope", "please unblock this name")
    assert bad.value.field == "contact_email"
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as short:
        appeals.submit(s, "strict.example.com", "a@b.co", "no")
    assert short.value.field == "statement"
    # the limit the form states is the limit enforced
    with db.unit_of_work() as s:
        long = "x" * 19_000
        assert appeals.submit(s, "strict.example.com", "a@b.co", long).appeal.statement == long
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as over:
        appeals.submit(s, "strict.example.com", "a@b.co", "x" * (appeals.MAX_STATEMENT + 1))
    assert over.value.field == "statement"
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as ip:
        appeals.submit(s, "http://203.0.113.7/x", "a@b.co", STATEMENT)
    assert ip.value.field == "domain"


def test_the_state_machine_offers_only_what_the_role_and_the_state_allow(
    db: Database, people: People
) -> None:
    _block(db, people, "machine.example.com")
    a = _submit(db, "machine.example.com").appeal
    official, analyst = people.official(), people.analyst()
    assert appeals.allowed(a, official) == (
        appeals.Action.REVIEW,
        appeals.Action.UPHOLD,
        appeals.Action.REJECT,
    )
    assert appeals.allowed(a, analyst) == () and appeals.allowed(a, None) == ()
    with db.unit_of_work() as s, pytest.raises(Forbidden):
        appeals.take_under_review(s, analyst, a.id)
    with db.unit_of_work() as s:
        row = appeals.take_under_review(s, official, a.id)
        assert row.status is AppealStatus.UNDER_REVIEW and row.reviewed_by == official.actor
        assert appeals.allowed(row, official) == (appeals.Action.UPHOLD, appeals.Action.REJECT)
    with db.unit_of_work() as s, pytest.raises(InvalidTransition):
        appeals.take_under_review(s, official, a.id)
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as no_reason:
        appeals.decide(s, official, a.id, outcome="rejected", reason="  ")
    assert no_reason.value.field == "reason"
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as odd:
        appeals.decide(s, official, a.id, outcome="maybe", reason="why")
    assert odd.value.field == "outcome"
    with db.unit_of_work() as s:
        row = appeals.decide(
            s, official, a.id, outcome="rejected", reason="The site hosts bomb manuals."
        )
        assert row.status is AppealStatus.REJECTED and appeals.allowed(row, official) == ()
    with db.unit_of_work() as s, pytest.raises(InvalidTransition):
        appeals.decide(s, official, a.id, outcome="upheld", reason="changed my mind")
    assert zone(db).get("machine.example.com") == "nxdomain"  # rejected: the block stands


def test_an_upheld_appeal_lifts_the_block_through_the_rpz_and_the_appellant_reads_why(
    db: Database, people: People
) -> None:
    entry = _block(db, people, "bakery.example.com")
    assert "bakery.example.com" in zone(db)
    done = _submit(db, "https://bakery.example.com/")
    official = people.official()
    with db.unit_of_work() as s:
        appeals.take_under_review(s, official, done.appeal.id)
    with db.unit_of_work() as s:
        appeals.decide(
            s, official, done.appeal.id, outcome="upheld", reason="A bakery, blocked in error."
        )
    assert "bakery.example.com" not in zone(db)
    with db.read_only() as s:
        block = s.get(BlockEntry, entry.id)
        assert block is not None and block.status is BlockStatus.RESTORED
        assert block.restore_reason is not None and done.appeal.reference in block.restore_reason
        view = appeals.public_view(appeals.follow(s, done.appeal.reference, done.follow_up_code))
        actions = [e.action for e in events_for(s, "block_appeal", done.appeal.id)]
        assert verify(s).ok
    assert view["outcome"] == "upheld" and view["access_restored"] is True
    assert view["decision_reason"] == "A bakery, blocked in error."
    assert [step["status"] for step in view["steps"]] == ["received", "under_review", "decided"]
    assert "contact_email" not in view and "decided_by" not in view
    assert actions == ["appeal.received", "appeal.under_review", "appeal.upheld"]


def test_the_queue_is_by_deadline_for_the_regulators_own_appeals(
    db: Database, people: People
) -> None:
    _block(db, people, "queue.example.com")
    now = utcnow()
    eu, idn = load_profile("eu-tco").derive(10), load_profile("indonesia")
    late = _submit(db, "queue.example.com", now=now, profile=idn).appeal  # 14 days
    soon = _submit(db, "a.queue.example.com", now=now, profile=eu).appeal  # 1.4 days
    official = people.official()
    with db.read_only() as s:
        order = [a.reference for a in appeals.queue(s, official)]
        assert order.index(soon.reference) < order.index(late.reference)
        assert [a.reference for a in appeals.queue(s, official, status="decided")] == []
    with db.unit_of_work() as s:
        appeals.decide(s, official, soon.id, outcome="rejected", reason="stands")
    with db.read_only() as s:
        assert soon.reference not in [a.reference for a in appeals.queue(s, official)]
        everything = [a.reference for a in appeals.queue(s, official, status="all")]
        assert everything.index(late.reference) < everything.index(soon.reference)
        # another regulator's officials neither see nor decide them; a platform reads nothing
        stranger = people.factory.principal(people.factory.regulator(), Role.OFFICIAL)
        assert late.reference not in [a.reference for a in appeals.queue(s, stranger)]
        with pytest.raises(NotFound):
            appeals.get(s, stranger, late.id)
        # the system (the CLI, the scheduler) reads every regulator's appeals
        assert late.reference in [a.reference for a in appeals.queue(s, SYSTEM)]
        moderator = people.person(Role.MODERATOR, people.factory.platform())
        with pytest.raises(Forbidden):
            appeals.queue(s, moderator)
