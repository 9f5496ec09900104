"""Block entries through their life, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tangkal.accounts.models import Role
from tangkal.audit.services import events_for, verify
from tangkal.blocklist import lookup, services
from tangkal.blocklist.models import BlockEntry, BlockStatus
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidLocator, InvalidTransition
from tangkal.orders.schemas import OrderIn
from tangkal.orders.services import file_order
from tests.factories import Factory
from tests.unit.blocklist.conftest import People, ensure_protected, zone


def req(domain: str, **kw: object) -> services.BlockRequest:
    args: dict[str, object] = {
        "action": "nxdomain",
        "legal_basis": "UU ITE Pasal 40 ayat 2b",
        "reason": "terrorist propaganda",
        **kw,
    }
    return services.BlockRequest.build(domain=domain, **args)  # type: ignore[arg-type]


def create(db: Database, who: object, domain: str, **kw: object) -> BlockEntry:
    with db.unit_of_work() as s:
        entry, _ = services.create_block(s, who, req(domain, **kw))  # type: ignore[arg-type]
        return entry


def test_an_officials_block_is_active_at_once_and_in_the_zone(db: Database, people: People) -> None:
    entry = create(db, people.official(), "Contoh-Teror.example.com", action="landing")
    assert entry.status is BlockStatus.ACTIVE
    assert entry.domain == "contoh-teror.example.com"
    assert zone(db) == {"contoh-teror.example.com": "landing"}


def test_an_analysts_block_waits_for_an_official_then_takes_effect(
    db: Database, people: People
) -> None:
    entry = create(db, people.analyst(), "propaganda.example.net")
    assert entry.status is BlockStatus.PENDING_APPROVAL
    assert zone(db) == {}
    with db.unit_of_work() as s, pytest.raises(Forbidden):
        services.approve(s, people.analyst(), entry.id)
    with db.unit_of_work() as s:
        approved = services.approve(s, people.official(), entry.id)
        assert approved.status is BlockStatus.ACTIVE
    assert zone(db) == {"propaganda.example.net": "nxdomain"}


def test_a_second_open_entry_for_a_name_is_a_conflict_naming_the_first(
    db: Database, people: People
) -> None:
    first = create(db, people.official(), "dup.example.com")
    with pytest.raises(Conflict) as exc:
        create(db, people.official(), "DUP.example.com.")
    assert first.id in exc.value.message
    assert exc.value.details["existing_id"] == first.id


@pytest.mark.parametrize("bad", ["co.id", "github.io", "a..b.com", "x" * 64 + ".com", ""])
def test_invalid_names_and_public_suffixes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidLocator):
        req(bad)


def test_missing_legal_basis_or_reason_and_bad_times_are_refused() -> None:
    with pytest.raises(InvalidInput, match="legal basis"):
        req("a.example.com", legal_basis="  ")
    with pytest.raises(InvalidInput, match="reason"):
        req("a.example.com", reason="")
    with pytest.raises(InvalidInput, match="action"):
        req("a.example.com", action="drop")
    with pytest.raises(InvalidInput, match="expires_at"):
        req("a.example.com", expires_at=utcnow() - timedelta(hours=1))


def test_a_whole_service_block_needs_two_different_officials(
    db: Database, factory: Factory, people: People
) -> None:
    factory.platform(domains=["telegram-test.org"])
    requester = people.official()
    entry = create(db, requester, "web.telegram-test.org")
    assert entry.status is BlockStatus.PENDING_APPROVAL
    assert entry.needs_second_approval
    assert "whole-service" in (entry.approval_note or "")
    with db.unit_of_work() as s, pytest.raises(Forbidden, match="different official"):
        services.approve(s, requester, entry.id)
    assert zone(db) == {}
    with db.unit_of_work() as s:
        assert services.approve(s, people.official(), entry.id).status is BlockStatus.ACTIVE
    assert zone(db) == {"web.telegram-test.org": "nxdomain"}


def test_an_analysts_whole_service_request_needs_two_officials_after_it(
    db: Database, factory: Factory, people: People
) -> None:
    factory.platform(domains=["chat-test.id"])
    entry = create(db, people.analyst(), "chat-test.id")
    first = people.official()
    with db.unit_of_work() as s:
        assert services.approve(s, first, entry.id).status is BlockStatus.PENDING_APPROVAL
    with db.unit_of_work() as s, pytest.raises(Forbidden):
        services.approve(s, first, entry.id)
    with db.unit_of_work() as s:
        done = services.approve(s, people.official(), entry.id)
        assert done.status is BlockStatus.ACTIVE
        assert done.first_approved_by != done.second_approved_by


def test_a_name_beneath_a_protected_namespace_needs_a_second_official(
    db: Database, people: People
) -> None:
    with db.unit_of_work() as s:
        ensure_protected(s, "go.id", "government")
    entry = create(db, people.official(), "polri-test.go.id")
    assert entry.status is BlockStatus.PENDING_APPROVAL
    assert "protected name go.id" in (entry.approval_note or "")


def test_restoring_publishes_the_removal_and_a_second_restore_is_a_conflict(
    db: Database, people: People
) -> None:
    entry = create(db, people.official(), "restore-me.example.org")
    with db.unit_of_work() as s, pytest.raises(InvalidInput, match="reason"):
        services.restore(s, people.official(), entry.id, "")
    with db.unit_of_work() as s:
        restored = services.restore(s, people.official(), entry.id, "platform complied")
        assert restored.status is BlockStatus.RESTORED
        assert restored.restore_reason == "platform complied"
    assert zone(db) == {}
    with db.unit_of_work() as s, pytest.raises(Conflict, match="nothing to restore"):
        services.restore(s, people.official(), entry.id, "again")
    with db.unit_of_work() as s, pytest.raises(Conflict, match="not blocked"):
        services.restore_name(s, people.official(), "restore-me.example.org", "again")


def test_blocking_a_name_again_keeps_its_history_and_counts_the_blocks(
    db: Database, people: People
) -> None:
    ids = []
    for _ in range(4):
        e = create(db, people.official(), "again.example.com")
        ids.append(e.id)
        with db.unit_of_work() as s:
            services.restore(s, people.official(), e.id, "complied")
    last = create(db, people.official(), "again.example.com")
    assert last.previous_blocks == 4
    assert services.to_dict(last)["normalisation_may_be_refused"] is True
    with db.unit_of_work() as s:
        h = services.history(s, s.get(BlockEntry, last.id))  # type: ignore[arg-type]
        assert [x["id"] for x in h["name_history"]][:4] == ids
        assert [e["action"] for e in h["events"]] == ["block.created"]
        assert len(events_for(s, "block_entry", ids[0])) == 2
        assert verify(s).ok


def test_rejecting_needs_a_pending_entry_and_a_reason(db: Database, people: People) -> None:
    entry = create(db, people.analyst(), "reject.example.com")
    with db.unit_of_work() as s, pytest.raises(InvalidInput):
        services.reject(s, people.official(), entry.id, None)
    with db.unit_of_work() as s:
        assert (
            services.reject(s, people.official(), entry.id, "not unlawful").status
            is BlockStatus.REJECTED
        )
    with db.unit_of_work() as s, pytest.raises(InvalidTransition):
        services.approve(s, people.official(), entry.id)
    create(db, people.analyst(), "reject.example.com")  # the name is free again


def test_only_the_regulator_may_block(db: Database, factory: Factory, people: People) -> None:
    platform = factory.platform()
    with pytest.raises(Forbidden):
        create(db, people.person(Role.MODERATOR, platform), "x.example.com")
    isp = factory.isp()
    with pytest.raises(Forbidden):
        create(db, people.person(Role.ISP, isp), "x.example.com")


def test_scheduled_blocks_take_effect_and_expire_on_time(db: Database, people: People) -> None:
    now = utcnow()
    later = create(
        db,
        people.official(),
        "later.example.com",
        effective_at=now + timedelta(minutes=5),
        expires_at=now + timedelta(hours=1),
    )
    brief = create(
        db, people.official(), "brief.example.com", expires_at=now + timedelta(minutes=10)
    )
    assert later.status is BlockStatus.SCHEDULED
    assert zone(db) == {"brief.example.com": "nxdomain"}
    with db.unit_of_work() as s:
        r = services.run_due(s, now=now + timedelta(minutes=6))
        assert r.activated == (later.id,) and r.expired == ()
    assert zone(db) == {"brief.example.com": "nxdomain", "later.example.com": "nxdomain"}
    with db.unit_of_work() as s:
        r = services.run_due(s, now=now + timedelta(minutes=11))
        assert r.expired == (brief.id,)
    with db.unit_of_work() as s:
        r = services.run_due(s, now=now + timedelta(hours=2))
        assert r.expired == (later.id,)
        assert services.run_due(s, now=now + timedelta(hours=3)).serial is None
        assert s.get(BlockEntry, later.id).status is BlockStatus.EXPIRED  # type: ignore[union-attr]
    assert zone(db) == {}


def test_who_sees_which_blocks(db: Database, factory: Factory, people: People) -> None:
    platform = factory.platform(domains=["seen-platform.com"])
    other = factory.platform(domains=["other-platform.com"])
    mine = create(db, people.official(), "cdn.seen-platform.com")
    create(db, people.official(), "other-platform.com")
    pending = create(db, people.analyst(), "pending.example.com")
    active = create(db, people.official(), "active.example.com")
    isp = factory.isp()
    with db.unit_of_work() as s:
        as_platform = services.list_blocks(s, people.person(Role.MODERATOR, platform))
        assert [e.id for e in as_platform] == [mine.id]
        with pytest.raises(services.NotFound):
            services.get_block(s, people.person(Role.MODERATOR, other), mine.id)
        as_isp = services.list_blocks(s, people.person(Role.ISP, isp))
        assert [e.id for e in as_isp] == [active.id]  # platform blocks here await approval
        assert pending.id in {e.id for e in services.list_blocks(s, people.analyst())}
        assert len(services.list_blocks(s, people.analyst())) == 4
        assert [
            e.id
            for e in services.list_blocks(
                s, people.analyst(), domain="seen-platform.com", beneath=True
            )
        ] == [mine.id]


def test_public_lookup_answers_for_a_subdomain_and_counts_history(
    db: Database, people: People
) -> None:
    official = people.official()
    platform = people.factory.platform()
    with db.unit_of_work() as s:
        order = file_order(
            s,
            people.analyst(),
            OrderIn(
                platform=platform.name,
                category="terrorism",
                locators=["blocked.example.com"],
                legal_basis="UU ITE",
                reason="propaganda",
            ),
        )
        ref = order.reference
        oid = order.id
    entry = create(db, official, "blocked.example.com", order_id=ref, category="terrorism")
    assert entry.order_id == oid
    with db.read_only() as s:
        a = lookup.lookup(s, "Deep.Sub.BLOCKED.example.com", base_url="http://h")
    assert a["blocked"] is True and a["matched"] == "blocked.example.com"
    assert a["via_parent"] is True and a["case_reference"] == ref
    assert a["appeal"]["url"].startswith("http://h/public/appeal")
    assert a["history"]["times_blocked"] == 0  # history is about the name itself
    with db.read_only() as s:
        own = lookup.lookup(s, "blocked.example.com", base_url="http://h")
        assert own["history"]["times_blocked"] == 1 and own["category"] == "terrorism"
    with db.unit_of_work() as s:
        services.restore(s, people.official(), entry.id, "complied")
    with db.read_only() as s:
        after = lookup.lookup(s, "blocked.example.com", base_url="http://h")
    assert after["blocked"] is False and after["history"]["times_restored"] == 1
    with db.read_only() as s, pytest.raises(InvalidLocator):
        lookup.lookup(s, "co.id", base_url="http://h")


def test_a_passthru_beneath_a_block_is_reported_as_allowed(db: Database, people: People) -> None:
    create(db, people.official(), "mixed.example.com")
    create(db, people.official(), "safe.mixed.example.com", action="passthru")
    with db.read_only() as s:
        a = lookup.lookup(s, "www.safe.mixed.example.com", base_url="http://h")
    assert a["blocked"] is False and a["allow_listed"] is True


def test_protected_list_is_configurable_by_an_official(db: Database, people: People) -> None:
    with db.unit_of_work() as s:
        services.add_protected(s, people.official(), "bank-test.co.id", "national bank")
        with pytest.raises(Conflict):
            services.add_protected(s, people.official(), "BANK-TEST.co.id", "again")
        with pytest.raises(Forbidden):
            services.add_protected(s, people.analyst(), "x.example.com", "no")
    entry = create(db, people.official(), "www.bank-test.co.id")
    assert entry.status is BlockStatus.PENDING_APPROVAL
    with db.unit_of_work() as s:
        services.remove_protected(s, people.official(), "bank-test.co.id")
        names = [p.name for p in services.list_protected(s)]
        assert "bank-test.co.id" not in names
        assert (
            s.scalar(select(BlockEntry.needs_second_approval).where(BlockEntry.id == entry.id))
            is True
        )
