"""The SOP runs a case from the first order to the restoration, at the service level.

Times are given to the scheduler explicitly (``run_due(now=...)``): no test waits.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tangkal.audit.services import verify
from tangkal.blocklist.models import BlockStatus
from tangkal.cases.services import case_file
from tangkal.db.session import Database
from tangkal.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from tangkal.normalisation import services as normalisation
from tangkal.objections import services as objections
from tangkal.orders import services as orders
from tangkal.orders.escalation import run_due
from tangkal.orders.models import Order, OrderStatus
from tangkal.orders.schemas import OrderIn, ResponseIn
from tangkal.rpz.models import RpzEntry
from tangkal.sanctions import services as sanctions
from tangkal.sanctions.models import SanctionStatus
from tests.unit.procedure.conftest import TELEGRAM, platform_of

CONDITIONS = {
    "government_channel": "A direct line to the ministry, answered within the hour",
    "trusted_flagger": "Kominfo's reports go to the priority queue",
    "local_representative": "PT Telegram Indonesia, Jakarta",
    "filtering_governance": "Indonesian-speaking moderation team of 12",
}


def _file(db: Database, c: dict[str, object]) -> tuple[str, datetime]:
    """An urgent order, acknowledged at once; its id and the moment its deadline ran out."""
    with db.unit_of_work() as s:
        o = orders.file_order(
            s,
            c["analyst"],
            OrderIn(  # type: ignore[arg-type]
                platform=platform_of(c).name,
                category="terrorism",
                locators=["https://t.me/s/kanal_x/1"],
                legal_basis="UU 5/2018",
                reason="bomb-making instructions",
            ),
        )
        orders.acknowledge(s, c["mod"], o.id)  # type: ignore[arg-type]
        return o.id, o.deadline_at


def _pass(db: Database, now: datetime) -> dict[str, int]:
    with db.unit_of_work() as s:
        return run_due(s, now).as_dict()


def _escalate_to_sanction(db: Database, c: dict[str, object]) -> tuple[str, datetime, str]:
    oid, deadline = _file(db, c)
    interval = timedelta(seconds=4)  # 4 h / 3600
    assert _pass(db, deadline - timedelta(seconds=0.5))["steps"] == 0
    for k in range(4):
        assert _pass(db, deadline + k * interval + timedelta(seconds=0.1))["steps"] == 1
    with db.unit_of_work() as s:
        order = orders.get_order(s, c["analyst"], oid)  # type: ignore[arg-type]
        steps = sorted(order.steps, key=lambda x: x.position)
        sanction_id = steps[-1].sanction_id
        assert sanction_id is not None
    return oid, deadline, sanction_id


def test_an_urgent_orders_letters_come_one_urgent_interval_apart(db: Database, case) -> None:
    oid, deadline, _ = _escalate_to_sanction(db, case)
    with db.unit_of_work() as s:
        order = orders.get_order(s, case["analyst"], oid)
        steps = sorted(order.steps, key=lambda x: x.position)
        assert [x.code for x in steps] == ["ST1", "ST2", "ST3", "BLOCK"]
        assert [(x.due_at - deadline).total_seconds() for x in steps] == [0, 4, 8, 12]
        assert steps[1].fine == 500_000_000 and steps[1].currency == "IDR"  # per item, 1 item
        assert order.status is OrderStatus.OVERDUE and order.next_due_at is None


def test_a_pass_after_downtime_takes_each_missed_step_once_with_its_own_due_moment(
    db: Database, case
) -> None:
    oid, deadline = _file(db, case)
    assert _pass(db, deadline + timedelta(seconds=60))["steps"] == 4
    assert _pass(db, deadline + timedelta(seconds=61))["steps"] == 0
    with db.unit_of_work() as s:
        order = orders.get_order(s, case["analyst"], oid)
        assert [x.due_at - deadline for x in sorted(order.steps, key=lambda x: x.position)] == [
            timedelta(seconds=n) for n in (0, 4, 8, 12)
        ]


def test_sanction_needs_two_people_not_two_tokens(db: Database, case) -> None:
    _, _, sid = _escalate_to_sanction(db, case)
    alice, bob = case["alice"], case["bob"]
    with db.unit_of_work() as s:
        sn = sanctions.approve(s, alice, sid)
        assert sn.status is SanctionStatus.PENDING_APPROVAL
    alice_2nd_token = dataclasses.replace(alice, token_id="another-token")
    with db.unit_of_work() as s, pytest.raises(Forbidden, match="already approved"):
        sanctions.approve(s, alice_2nd_token, sid)
    nameless = dataclasses.replace(alice, user_id=None, username=None, token_id="t")
    with db.unit_of_work() as s, pytest.raises(Forbidden, match="named official"):
        sanctions.approve(s, nameless, sid)
    with db.unit_of_work() as s:
        sn = sanctions.approve(s, bob, sid)
        assert sn.status is SanctionStatus.ACTIVE
        body = sanctions.to_dict(s, sn)
        assert sorted(b["domain"] for b in body["blocks"]) == sorted(TELEGRAM)
        assert {b["status"] for b in body["blocks"]} == {"active"}
        zone = set(s.scalars(select(RpzEntry.name)))
        assert set(TELEGRAM) <= zone
    with db.unit_of_work() as s, pytest.raises(InvalidTransition):
        sanctions.approve(s, bob, sid)


def test_an_upheld_objection_annuls_the_fine_and_keeps_it_on_the_record(db: Database, case) -> None:
    oid, _, _ = _escalate_to_sanction(db, case)
    with db.unit_of_work() as s:
        st2 = next(x for x in orders.get_order(s, case["mod"], oid).steps if x.code == "ST2")
        obj = objections.file(
            s,
            case["mod"],
            kind="fine",
            subject_id=st2.id,
            reason="The content was removed before ST2 was sent.",
        )
        assert obj.decide_by - obj.filed_at == timedelta(seconds=48)
        with pytest.raises(Conflict, match="still pending"):
            objections.file(s, case["mod"], kind="fine", subject_id=st2.id, reason="again")
    with db.unit_of_work() as s:
        objections.decide(s, case["alice"], obj.id, outcome="upheld", reason="Logs confirm it.")
    with db.unit_of_work() as s, pytest.raises(InvalidTransition, match="decided already"):
        objections.decide(s, case["bob"], obj.id, outcome="rejected", reason="no")
    with db.unit_of_work() as s:
        st2 = next(x for x in orders.get_order(s, case["mod"], oid).steps if x.code == "ST2")
        assert st2.fine == 500_000_000 and st2.fine_annulled_at is not None
        assert st2.fine_due == 0 and st2.annulled_at is None
        kinds = [e["action"] for e in case_file(s, case["mod"], platform_of(case).name)["events"]]
        assert "order.fine_annulled" in kinds


def test_a_rejected_objection_resumes_the_escalation_where_it_stood(db: Database, case) -> None:
    oid, deadline = _file(db, case)
    assert _pass(db, deadline + timedelta(seconds=0.1))["steps"] == 1  # ST1
    with db.unit_of_work() as s:
        st1 = orders.get_order(s, case["mod"], oid).steps[0]
        obj = objections.file(
            s, case["mod"], kind="warning", subject_id=st1.id, reason="We never received the order."
        )
    # while it is pending nothing more happens, however long it takes
    assert _pass(db, deadline + timedelta(seconds=30))["steps"] == 0
    with db.unit_of_work() as s:
        objections.decide(
            s,
            case["alice"],
            obj.id,
            outcome="rejected",
            reason="Delivery receipts show it arrived.",
            now=deadline + timedelta(seconds=30),
        )
        order = s.get(Order, oid)
        assert order is not None and order.held_by is None and order.next_due_at is not None
        resumed_at = order.next_due_at
    # ST2 is due at once (it fell due meanwhile), ST3 one interval after it, not all at once
    with db.unit_of_work() as s:
        assert run_due(s, resumed_at + timedelta(seconds=0.1)).steps == 1
    with db.unit_of_work() as s:
        assert run_due(s, resumed_at + timedelta(seconds=3.9)).steps == 0
    with db.unit_of_work() as s:
        assert run_due(s, resumed_at + timedelta(seconds=4.1)).steps == 1


def test_not_done_is_an_objection_and_rejection_resumes_escalation(db: Database, case) -> None:
    oid, deadline = _file(db, case)
    with db.unit_of_work() as s:
        order = orders.respond(
            s,
            case["mod"],
            oid,
            ResponseIn(
                action="not_done",
                statement="Lawful reporting, not propaganda.",
                reason="This is news reporting.",
            ),
        )
        assert order.status is OrderStatus.DISPUTED and order.held_by is not None
        held = order.held_by
    assert _pass(db, deadline + timedelta(seconds=30))["steps"] == 0
    with db.unit_of_work() as s:
        objections.decide(
            s,
            case["alice"],
            held,
            outcome="rejected",
            reason="It is propaganda.",
            now=deadline + timedelta(seconds=30),
        )
        assert s.get(Order, oid).status is OrderStatus.OVERDUE  # type: ignore[union-attr]
    assert _pass(db, deadline + timedelta(seconds=31))["steps"] == 1  # ST1 now, ST2 later


def test_normalisation_with_the_four_conditions_restores_all_names(db: Database, case) -> None:
    _, _, sid = _escalate_to_sanction(db, case)
    with db.unit_of_work() as s:
        sanctions.approve(s, case["alice"], sid)
        sanctions.approve(s, case["bob"], sid)
    with db.unit_of_work() as s:
        req = normalisation.request(
            s, case["mod"], reason="All four conditions are met.", conditions=CONDITIONS
        )
        body = normalisation.to_dict(s, req)
        assert [c["met"] for c in body["conditions"]] == [True] * 4
        assert req.decide_by - req.requested_at == timedelta(seconds=48)
        with pytest.raises(InvalidInput, match="Unknown condition"):
            normalisation.request(s, case["mod"], reason="x", conditions={"bribe": "yes"})
    with db.unit_of_work() as s:
        normalisation.decide(
            s, case["alice"], req.id, outcome="approved", reason="Conditions verified."
        )
    with db.unit_of_work() as s:
        sn = sanctions.get(s, case["alice"], sid)
        assert sn.status is SanctionStatus.LIFTED
        assert not set(TELEGRAM) & set(s.scalars(select(RpzEntry.name)))
        assert {b["status"] for b in sanctions.to_dict(s, sn)["blocks"]} == {"restored"}
        events = case_file(s, case["alice"], platform_of(case).name)["events"]
        kinds = {e["kind"] for e in events}
        assert {
            "order",
            "warning",
            "fine",
            "sanction",
            "block",
            "normalisation",
            "restoration",
        } <= kinds
        assert [e["at"] for e in events] == sorted(e["at"] for e in events)
        assert verify(s).ok


def test_bad_requests_name_what_is_wrong(db: Database, case) -> None:
    with db.unit_of_work() as s:
        with pytest.raises(Conflict, match="nothing to restore"):
            normalisation.request(s, case["mod"], reason="please", conditions={})
        with pytest.raises(InvalidInput, match="not a platform"):
            sanctions.propose(
                s,
                case["alice"],
                platform=case["regulator"].name,
                action=None,
                legal_basis="x",
                reason="y",
                orders=[],
            )
        with pytest.raises(InvalidInput, match="No order"):
            sanctions.propose(
                s,
                case["alice"],
                platform=platform_of(case).name,
                action=None,
                legal_basis="x",
                reason="y",
                orders=["ORD-nope"],
            )
        with pytest.raises(InvalidInput, match="no escalation step"):
            case["profile"].step("ST9")


def test_an_objection_after_its_deadline_is_refused(db: Database, case) -> None:
    oid, deadline = _file(db, case)
    _pass(db, deadline + timedelta(seconds=0.1))
    with db.unit_of_work() as s:
        st1 = orders.get_order(s, case["mod"], oid).steps[0]
        late = st1.issued_at + timedelta(seconds=169)  # 7 d / 3600 = 168 s
        with pytest.raises(Conflict, match="has passed"):
            objections.file(
                s, case["mod"], kind="warning", subject_id=st1.id, reason="late", now=late
            )


def test_an_order_whose_profile_is_not_loaded_is_skipped_and_the_others_go_on(
    db: Database, case
) -> None:
    bad, deadline = _file(db, case)
    good, _ = _file(db, case)
    with db.unit_of_work() as s:
        s.get(Order, bad).sop_profile = "gone-profile"  # type: ignore[union-attr]
    result = _pass(db, deadline + timedelta(seconds=1))
    assert result["skipped"] == 1 and result["steps"] == 1
    with db.unit_of_work() as s:
        assert s.get(Order, bad).next_due_at > deadline + timedelta(minutes=4)  # type: ignore[union-attr,operator]
        assert s.get(Order, good).status is OrderStatus.OVERDUE  # type: ignore[union-attr]


def test_blocks_of_a_sanction_are_approved_with_it_not_one_by_one(db: Database, case) -> None:
    _, _, sid = _escalate_to_sanction(db, case)
    with db.unit_of_work() as s:
        from tangkal.blocklist import services as blocks

        entry = blocks.list_blocks(s, case["alice"], domain="t.me")[0]
        assert entry.status is BlockStatus.PENDING_APPROVAL and entry.sanction_id == sid
        with pytest.raises(InvalidTransition, match="approve the sanction"):
            blocks.approve(s, case["alice"], entry.id)


def test_an_official_takes_the_next_step_early_and_only_the_next(db: Database, case) -> None:
    from tangkal.orders.escalation import take_now

    oid, deadline = _file(db, case)
    _pass(db, deadline + timedelta(seconds=0.1))  # ST1
    with db.unit_of_work() as s:
        with pytest.raises(InvalidInput, match="no escalation step 'ST9'"):
            take_now(s, case["alice"], oid, "ST9", "urgent")
        with pytest.raises(InvalidTransition, match=r"next step .* is ST2, not ST3"):
            take_now(s, case["alice"], oid, "ST3", "urgent")
        with pytest.raises(Forbidden):
            take_now(s, case["analyst"], oid, "ST2", "urgent")
        order = take_now(
            s,
            case["alice"],
            oid,
            "ST2",
            "the channel is still live",
            now=deadline + timedelta(seconds=1),
        )
        assert [x.code for x in order.steps] == ["ST1", "ST2"]
        assert order.next_due_at == deadline + timedelta(seconds=5)  # ST3 one interval later


def test_a_platform_with_nothing_to_block_still_gets_its_last_step_recorded(
    db: Database, case, factory
) -> None:
    bare = factory.platform()  # no registered domains
    with db.unit_of_work() as s:
        o = orders.file_order(
            s,
            case["analyst"],
            OrderIn(
                platform=bare.name,
                category="terrorism",
                locators=["https://t.me/s/kanal_y/1"],
                legal_basis="UU 5/2018",
                reason="propaganda",
            ),
        )
        orders.acknowledge(s, factory.principal(bare, "moderator"), o.id)
        oid, deadline = o.id, o.deadline_at
    result = _pass(db, deadline + timedelta(seconds=60))
    assert result["steps"] == 4 and result["skipped"] == 0
    with db.unit_of_work() as s:
        order = s.get(Order, oid)
        assert order is not None and order.next_due_at is None
        last = max(order.steps, key=lambda x: x.position)
        assert last.code == "BLOCK" and last.sanction_id is None
        assert sanctions.list_for(s, case["alice"], platform=bare.name) == []


def test_officials_are_warned_once_before_a_decision_time_runs_out(db: Database, case) -> None:
    from tangkal.audit.services import events_for

    oid, deadline = _file(db, case)
    _pass(db, deadline + timedelta(seconds=0.1))
    with db.unit_of_work() as s:
        st1 = orders.get_order(s, case["mod"], oid).steps[0]
        obj = objections.file(s, case["mod"], kind="warning", subject_id=st1.id, reason="no")
        lead = case["profile"].objections.warning_lead()  # 48 s / 4 in the drill
        assert objections.remind_due(s, obj.decide_by - lead - timedelta(seconds=1)) == 0
        assert objections.remind_due(s, obj.decide_by - lead + timedelta(seconds=1)) == 1
        assert objections.remind_due(s, obj.decide_by + timedelta(seconds=1)) == 0  # once
        actions = [e.action for e in events_for(s, "objection", obj.id)]
        assert actions.count("objection.decision_due") == 1


def test_the_scheduler_commits_right_after_a_sanction_proposal_on_postgresql(
    db: Database, case
) -> None:
    """``run_due(stop_after_lock=True)``, as the scheduler runs it: the proposal takes the
    platform's advisory lock (PostgreSQL), held to commit, so the pass ends after that
    order and the next pass goes on; each later order joins the one open sanction. On
    SQLite there is no such lock (the writer holds the database) and one pass takes all."""
    from tangkal.db import locks

    filed = [_file(db, case) for _ in range(3)]
    at = max(deadline for _, deadline in filed) + timedelta(seconds=60)
    passes = []
    while True:
        with db.unit_of_work() as s:
            result = run_due(s, at, stop_after_lock=True)
            held = locks.held(s)
        passes.append((result.steps, result.stopped_early, held))
        if not result.stopped_early:
            break
    if db.is_sqlite:
        assert passes == [(12, False, 0)]
    else:
        # four steps of one order a pass, the last of them the proposal; then an empty pass
        assert passes == [(4, True, 1)] * 3 + [(0, False, 0)]
    with db.unit_of_work() as s:
        [sanction] = sanctions.list_for(s, case["alice"], platform=platform_of(case).name)
        assert sorted(o.order_id for o in sanction.orders) == sorted(oid for oid, _ in filed)
        assert sanction.status is SanctionStatus.PENDING_APPROVAL


def test_a_pass_run_inside_a_unit_of_work_of_its_own_advances_every_due_order(
    db: Database, case
) -> None:
    """Without ``stop_after_lock`` (the demo, these tests) nothing is left for later."""
    filed = [_file(db, case) for _ in range(2)]
    at = max(deadline for _, deadline in filed) + timedelta(seconds=60)
    assert _pass(db, at)["steps"] == 8


def test_an_orders_sanction_and_objections_are_listed_by_its_id_or_reference(
    db: Database, case
) -> None:
    oid, _, sid = _escalate_to_sanction(db, case)
    other, _ = _file(db, case)  # a second order of the same platform, not escalated
    with db.unit_of_work() as s:
        ref = orders.get_order(s, case["analyst"], oid).reference
        st2 = next(x for x in orders.get_order(s, case["mod"], oid).steps if x.code == "ST2")
        objections.file(s, case["mod"], kind="fine", subject_id=st2.id, reason="Removed in time.")
    with db.unit_of_work() as s:
        for key in (oid, ref):
            assert [x.id for x in sanctions.list_for(s, case["alice"], order=key)] == [sid]
            listed = objections.list_for(s, case["alice"], order=key)
            assert [o.order_id for o in listed] == [oid]
        assert sanctions.list_for(s, case["alice"], order=other) == []
        assert objections.list_for(s, case["mod"], order=other) == []
        assert sanctions.list_for(s, case["alice"], order="no-such-order") == []
