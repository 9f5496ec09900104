"""Escalation of non-compliance: a name still not compliant at an ISP's resolver after the
profile's grace goes on the platform's case file (an audit event of the block concerned) and
to the ISP (its pull inbox), once per name, resolver and episode; on SQLite and PostgreSQL.

Rounds are run with scripted answers; time is moved by passing ``now``, never by waiting.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import SYSTEM
from tangkal.audit.models import AuditEvent
from tangkal.audit.services import verify
from tangkal.cases.services import case_file
from tangkal.compliance import escalation, services
from tangkal.compliance.models import ProbeResult
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.delivery.models import DeliveryStatus, OutboxMessage
from tangkal.delivery.services import fetch_inbox, lease_due
from tangkal.sop.profile import Compliance
from tests.unit.compliance.conftest import NX, ScriptedProber, World
from tests.unit.compliance.test_services import SETTINGS

GRACE = Compliance(grace_after_block=timedelta(hours=4), grace_after_restore=timedelta(hours=24))
NAMES = ["t.me", "web.telegram.org"]


def setup(db: Database, world: World) -> dict[str, str]:
    official = world.official()
    with db.unit_of_work() as s:
        return {
            "a": services.add_resolver(
                s, official, address="192.0.2.1", org=world.isp_a.name, name="a1"
            ).id,
            "b": services.add_resolver(
                s, official, address="192.0.2.2", org=world.isp_b.name, name="b1"
            ).id,
            "control": services.add_resolver(s, official, address="192.0.2.100", control=True).id,
        }


def probe(db: Database, answers: dict[tuple[str, str], Any]) -> services.RoundSummary:
    prober = ScriptedProber(answers)
    return asyncio.run(services.run_round(db, SETTINGS, NAMES, "manual", prober=prober))


def blocking_at(host: str) -> dict[tuple[str, str], Any]:
    return {(host, n): NX for n in NAMES}


def inbox(db: Database, world: World, org: Any) -> list[dict[str, Any]]:
    with db.unit_of_work() as s:
        return [m.payload for m in fetch_inbox(s, world.person(org, Role.ISP))]


def escalated_events(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
    with db.read_only() as s:
        return [
            (e.object_type, e.object_id, dict(e.data))
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == escalation.AUDIT_ACTION)
                .order_by(AuditEvent.seq)
            )
        ]


def test_a_block_not_followed_past_its_grace_is_escalated_once_to_the_case_file_and_the_isp(
    db: Database, world: World
) -> None:
    setup(db, world)
    entries = {n: world.block(db, n) for n in NAMES}
    # registered after the blocks (blocking a platform's own name needs a second official)
    platform = world.factory.platform(domains=["t.me", "telegram.org"])
    # A blocks both names, B blocks neither: B is not compliant for both
    probe(db, blocking_at("192.0.2.1"))
    now = utcnow()
    # within the grace nothing is escalated
    assert escalation.escalate_due(db, GRACE, now + timedelta(hours=3)) == []
    done = escalation.escalate_due(db, GRACE, now + timedelta(hours=4, seconds=1))
    assert sorted((e.isp, e.resolver, e.domain, e.stage) for e in done) == [
        (world.isp_b.name, "b1", n, "block") for n in sorted(NAMES)
    ]
    # once per episode: more rounds and more looks escalate nothing again
    probe(db, blocking_at("192.0.2.1"))
    assert escalation.escalate_due(db, GRACE, now + timedelta(days=3)) == []

    events = escalated_events(db)
    assert sorted((kind, oid) for kind, oid, _ in events) == sorted(
        ("block_entry", entries[n].id) for n in NAMES
    )
    assert {data["isp"] for _, _, data in events} == {world.isp_b.name}
    assert {data["expected"] for _, _, data in events} == {"nxdomain"}
    # the platform's case file shows it, as the regulator's and the platform's own reading
    with db.read_only() as s:
        for who in (SYSTEM, world.person(platform, Role.MODERATOR)):
            case = case_file(s, who, platform.name, kinds=["compliance"])
            assert sorted((e["domain"], e["isp"], e["stage"]) for e in case["events"]) == [
                (n, world.isp_b.name, "block") for n in sorted(NAMES)
            ]
            assert {e["kind"] for e in case["events"]} == {"compliance"}
    # one message to B naming both names; nothing to A
    [message] = inbox(db, world, world.isp_b)
    assert message["event"] == escalation.EVENT
    assert message["data"]["names"] == sorted(NAMES)
    assert {i["resolver"] for i in message["data"]["items"]} == {"b1"}
    assert {i["address"] for i in message["data"]["items"]} == {"192.0.2.2:53"}
    assert inbox(db, world, world.isp_a) == []
    assert inbox(db, world, world.isp_b) == []  # fetched once
    with db.read_only() as s:
        assert verify(s).ok


def test_a_restoration_not_followed_gets_the_longer_grace_and_a_new_episode(
    db: Database, world: World
) -> None:
    setup(db, world)
    entries = {n: world.block(db, n) for n in NAMES}
    # both ISPs block: compliant, nothing to escalate however long it lasts
    probe(db, blocking_at("192.0.2.1") | blocking_at("192.0.2.2"))
    assert escalation.escalate_due(db, GRACE, utcnow() + timedelta(days=9)) == []
    for entry in entries.values():
        world.restore(db, entry)
    # restored: A follows, B still blocks (2017: names still blocked the next day)
    probe(db, blocking_at("192.0.2.2"))
    now = utcnow()
    assert escalation.escalate_due(db, GRACE, now + timedelta(hours=5)) == []  # block's grace
    done = escalation.escalate_due(db, GRACE, now + timedelta(hours=24, seconds=1))
    assert sorted((e.isp, e.domain, e.stage) for e in done) == [
        (world.isp_b.name, n, "restore") for n in sorted(NAMES)
    ]
    assert {e.block_id for e in done} == {e.id for e in entries.values()}
    [message] = inbox(db, world, world.isp_b)
    assert {i["stage"] for i in message["data"]["items"]} == {"restore"}
    assert {i["expected"] for i in message["data"]["items"]} == {"open"}

    # B follows, then lapses again: a new episode, escalated again after its own grace
    probe(db, {})
    with db.read_only() as s:
        assert set(s.scalars(select(ProbeResult.escalated_at))) == {None}
    probe(db, blocking_at("192.0.2.2"))
    later = utcnow()
    again = escalation.escalate_due(db, GRACE, later + timedelta(hours=24, seconds=1))
    assert sorted(e.domain for e in again) == sorted(NAMES)
    assert len(escalated_events(db)) == 4


def test_a_name_never_blocked_and_a_control_are_not_escalated(db: Database, world: World) -> None:
    setup(db, world)
    # nothing blocked: B answering NXDOMAIN for open names is not compliant, but no decision
    # was disobeyed; the control is never an ISP
    probe(db, blocking_at("192.0.2.2"))
    with db.read_only() as s:
        bad = services.compliance_items(s, SYSTEM, state="not_compliant")
    assert {i["isp"] for i in bad} == {world.isp_b.name}
    assert escalation.escalate_due(db, GRACE, utcnow() + timedelta(days=9)) == []
    with db.read_only() as s:
        assert (
            s.scalar(select(OutboxMessage.id).where(OutboxMessage.event == escalation.EVENT))
            is None
        )


def test_the_isp_inbox_is_its_own_and_the_default_is_the_pull_channel(
    db: Database, world: World
) -> None:
    setup(db, world)
    world.block(db, "t.me")
    probe(db, blocking_at("192.0.2.1"))
    escalation.escalate_due(db, GRACE, utcnow() + timedelta(hours=5))
    with db.read_only() as s:
        rows = s.execute(
            select(OutboxMessage.platform_org_id, OutboxMessage.status).where(
                OutboxMessage.event == escalation.EVENT
            )
        ).all()
    assert [tuple(r) for r in rows] == [(world.isp_b.id, DeliveryStatus.INBOX)]
    assert world.isp_b.kind is OrgKind.ISP
    # another ISP's operator does not get it
    assert inbox(db, world, world.isp_a) == []
    assert len(inbox(db, world, world.isp_b)) == 1


def test_overdue_is_the_boards_filter(db: Database, world: World) -> None:
    now = utcnow()
    since = now - timedelta(hours=5)
    assert escalation.overdue("not_compliant", since, "nxdomain", GRACE, now)
    assert not escalation.overdue("not_compliant", since, "open", GRACE, now)
    assert not escalation.overdue("compliant", since - timedelta(days=9), "nxdomain", GRACE, now)
    assert not escalation.overdue("unreachable", since - timedelta(days=9), "open", GRACE, now)


def test_names_never_blocked_do_not_crowd_out_the_ones_to_escalate(
    db: Database, world: World, monkeypatch: Any
) -> None:
    monkeypatch.setattr(escalation, "BATCH", 1)
    setup(db, world)
    # first B blocks an open name of its own accord (never on the list): not compliant
    probe(db, {("192.0.2.2", "web.telegram.org"): NX})
    # then t.me is blocked, A follows and B does not
    world.block(db, "t.me")
    probe(db, blocking_at("192.0.2.1") | {("192.0.2.2", "web.telegram.org"): NX})
    done = escalation.escalate_due(db, GRACE, utcnow() + timedelta(days=3))
    assert [(e.isp, e.domain, e.stage) for e in done] == [(world.isp_b.name, "t.me", "block")]


def test_an_isp_with_a_webhook_is_sent_its_notice_by_the_delivery_worker(
    db: Database, world: World
) -> None:
    with db.unit_of_work() as s:
        isp = s.get(type(world.isp_b), world.isp_b.id)
        assert isp is not None
        isp.delivery_channel = "webhook"
        isp.webhook_url = "https://noc.isp-b.example/tangkal"
        isp.webhook_secret = "s" * 32
    setup(db, world)
    world.block(db, "t.me")
    probe(db, blocking_at("192.0.2.1"))
    escalation.escalate_due(db, GRACE, utcnow() + timedelta(hours=5))
    with db.unit_of_work() as s:
        leased = lease_due(s)
    assert [(m.url, m.event) for m in leased] == [
        ("https://noc.isp-b.example/tangkal", escalation.EVENT)
    ]
    assert [i["domain"] for i in leased[0].payload["data"]["items"]] == ["t.me"]
