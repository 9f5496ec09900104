"""Order services: filing, scoping, the clock, the states and the escalation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tangkal.accounts.models import Role
from tangkal.audit.services import events_for, verify
from tangkal.db.session import Database
from tangkal.delivery.models import DeliveryStatus, OutboxMessage
from tangkal.delivery.services import fetch_inbox, lease_due, record_attempt
from tangkal.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from tangkal.orders import services
from tangkal.orders.escalation import run_due
from tangkal.orders.models import OrderStatus
from tangkal.orders.schemas import OrderIn, ResponseIn
from tangkal.sop.profile import load_profile
from tests.factories import Factory


@pytest.fixture
def world(factory: Factory) -> dict[str, object]:
    reg = factory.regulator()
    tg = factory.platform(domains=["t.me"])
    other = factory.platform()
    return {
        "analyst": factory.principal(reg, Role.ANALYST),
        "official": factory.principal(reg, Role.OFFICIAL),
        "mod": factory.principal(tg, Role.MODERATOR),
        "other_mod": factory.principal(other, Role.MODERATOR),
        "platform": tg,
    }


def _order(
    platform: str, locators: list[str] | None = None, category: str = "terrorism"
) -> OrderIn:
    return OrderIn(
        platform=platform,
        category=category,
        locators=locators or ["https://t.me/s/kanal_x/1"],
        legal_basis="UU 5/2018",
        reason="bomb-making instructions",
    )


def test_filing_sets_deadline_from_the_profile_and_queues_delivery(db: Database, world) -> None:
    with db.unit_of_work() as s:
        o = services.file_order(s, world["analyst"], _order(world["platform"].name))
        assert o.status is OrderStatus.ISSUED and o.deadline_seconds == 4 * 3600
        assert o.received_at is None
        msgs = s.query(OutboxMessage).filter_by(order_id=o.id).all()
        assert [m.status for m in msgs] == [DeliveryStatus.INBOX]
    with db.unit_of_work() as s:
        gambling = services.file_order(
            s, world["analyst"], _order(world["platform"].name, ["judi.example.com"], "gambling")
        )
        assert gambling.deadline_seconds == 24 * 3600


def test_same_item_reported_twice_is_linked(db: Database, world) -> None:
    with db.unit_of_work() as s:
        first = services.file_order(
            s, world["analyst"], _order(world["platform"].name, ["t.me/s/Kanal_X/1"])
        )
    with db.unit_of_work() as s:
        second = services.file_order(
            s,
            world["analyst"],
            _order(
                world["platform"].name, ["tg://resolve?domain=kanal_x&post=1", "t.me/kanal_x/2"]
            ),
        )
        related = services.related_orders(s, world["analyst"], second)
        assert [r.id for r in related] == [first.id] and related[0].same_item
        # the platform sees the link too, since both orders are its own
        assert [r.id for r in services.related_orders(s, world["mod"], second)] == [first.id]


def test_duplicate_locators_in_one_order_collapse(db: Database, world) -> None:
    with db.unit_of_work() as s:
        o = services.file_order(
            s,
            world["analyst"],
            _order(world["platform"].name, ["t.me/kanal_x/1", "https://T.ME/s/kanal_x/1?single"]),
        )
        assert len(o.locators) == 1


def test_platform_cannot_see_another_platforms_order(db: Database, world) -> None:
    with db.unit_of_work() as s:
        o = services.file_order(s, world["analyst"], _order(world["platform"].name))
    with db.unit_of_work() as s:
        with pytest.raises(NotFound):
            services.get_order(s, world["other_mod"], o.id)
        assert services.list_orders(s, world["other_mod"]) == []
        with pytest.raises(NotFound):
            services.acknowledge(s, world["other_mod"], o.id)


def test_only_the_regulator_files_orders(db: Database, world) -> None:
    with db.unit_of_work() as s, pytest.raises(Forbidden):
        services.file_order(s, world["mod"], _order(world["platform"].name))


def test_bad_locators_are_all_reported_and_nothing_is_written(db: Database, world) -> None:
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as exc:
        services.file_order(
            s,
            world["analyst"],
            _order(world["platform"].name, ["t.me..", "ok.example.com", "co.id"]),
        )
    assert "locators[0]" in exc.value.message and "locators[2]" in exc.value.message
    with db.read_only() as s:
        assert services.list_orders(s, world["analyst"]) == []


def test_clock_starts_at_receipt_and_pauses_for_clarification(db: Database, world) -> None:
    with db.unit_of_work() as s:
        o = services.file_order(s, world["analyst"], _order(world["platform"].name))
        issued_deadline = o.deadline_at
    with db.unit_of_work() as s:
        fetch_inbox(s, world["mod"])
    with db.unit_of_work() as s:
        o = services.get_order(s, world["analyst"], o.id)
        assert o.receipt_basis == "inbox" and o.status is OrderStatus.DELIVERED
        assert o.deadline_at >= issued_deadline
        services.request_clarification(s, world["mod"], o.id, "Which post exactly?")
    with db.unit_of_work() as s:
        o = services.get_order(s, world["analyst"], o.id)
        assert o.status is OrderStatus.CLARIFICATION_REQUESTED and o.paused_at is not None
        # pretend the question waited an hour
        o.paused_at = o.paused_at - timedelta(hours=1)
        before = o.deadline_at
    with db.unit_of_work() as s:
        o = services.answer_clarification(s, world["analyst"], o.id, "Post 1 of kanal_x.")
        assert o.status is OrderStatus.ACKNOWLEDGED
        assert o.deadline_at - before >= timedelta(minutes=59)


def test_response_moves_to_complied_and_fills_the_statement(db: Database, world) -> None:
    with db.unit_of_work() as s:
        o = services.file_order(s, world["analyst"], _order(world["platform"].name))
    with db.unit_of_work() as s:
        o = services.respond(
            s, world["mod"], o.id, ResponseIn(action="removed", statement="Removed the channel.")
        )
        st = o.responses[0].statement
        assert o.status is OrderStatus.COMPLIED
        assert st["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
        assert st["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
        # Indonesia is outside the EEA: the DSA database takes no territorial scope for it
        assert "territorial_scope" not in st and st["illegal_content_legal_ground"]
        assert st["category"] and st["content_type"] and st["content_date"] and st["puid"]
    with db.unit_of_work() as s, pytest.raises(InvalidTransition):
        services.respond(
            s, world["mod"], o.id, ResponseIn(action="not_done", statement="x", reason="no")
        )


def test_not_done_needs_a_reason(db: Database, world) -> None:
    with db.unit_of_work() as s:
        o = services.file_order(s, world["analyst"], _order(world["platform"].name))
    with db.unit_of_work() as s, pytest.raises(InvalidInput, match="reason"):
        services.respond(s, world["mod"], o.id, ResponseIn(action="not_done", statement="x"))


def test_webhook_delivery_attempts_are_audited_and_2xx_starts_the_clock(
    db: Database, factory: Factory, world
) -> None:
    hooked = factory.org("platform", webhook_url="http://127.0.0.1:9/hook")
    with db.unit_of_work() as s:
        o = services.file_order(s, world["analyst"], _order(hooked.name))
    with db.unit_of_work() as s:
        leased = lease_due(s)
        assert len(leased) == 1 and leased[0].url.endswith("/hook")
        assert lease_due(s) == []  # leased: hidden from a second worker
    with db.unit_of_work() as s:
        assert not record_attempt(s, leased[0].id, leased[0].url, 500, "boom", 3.0)
    with db.unit_of_work() as s:
        assert record_attempt(s, leased[0].id, leased[0].url, 200, None, 3.0)
        assert not record_attempt(s, leased[0].id, leased[0].url, 200, None, 3.0)
    with db.read_only() as s:
        order = services.get_order(s, world["analyst"], o.id)
        assert order.receipt_basis == "webhook" and order.status is OrderStatus.DELIVERED
        actions = [e.action for e in events_for(s, "order", o.id)]
        assert actions.count("delivery.attempt") == 2 and "order.received" in actions
        assert verify(s).ok


def test_escalation_overdue_then_warning_letters(db: Database, world, tmp_path: Path) -> None:
    f = tmp_path / "fast.toml"
    f.write_text(
        'name = "fast"\ntitle = "t"\njurisdiction = "ID"\ncurrency = "IDR"\n'
        'deemed_receipt_after = "1s"\n[deadlines]\nurgent = "2s"\n'
        + "".join(
            f'[[escalation.steps]]\ncode = "{c}"\nkind = "warning_letter"\nlabel_en = "{c}"\n'
            f'label_id = "{c}"\nwait = "{w}"\n' + ("fine = { amount = 10 }\n" if c == "ST2" else "")
            for c, w in (("ST1", "0s"), ("ST2", "1s"), ("ST3", "1s"))
        )
        + '[categories.terrorism]\nlabel_en = "t"\nlabel_id = "t"\nurgency = "urgent"\n'
        'legal_basis = "test"\n'
    )
    profile = load_profile(str(f))
    with db.unit_of_work() as s:
        o = services.file_order(s, world["analyst"], _order(world["platform"].name), profile)
    t0 = o.issued_at
    with db.unit_of_work() as s:
        assert run_due(s, t0 + timedelta(seconds=1.5)).deemed_received == 1
    with db.unit_of_work() as s:  # missing the deadline brings the first letter at once
        assert run_due(s, t0 + timedelta(seconds=3.1)).as_dict() == {
            "deemed_received": 0,
            "overdue": 1,
            "steps": 1,
            "skipped": 0,
        }
    for step in (1, 2):
        with db.unit_of_work() as s:
            assert run_due(s, t0 + timedelta(seconds=3.1 + 1.0 * step)).steps == 1
    with db.unit_of_work() as s:
        assert run_due(s, t0 + timedelta(seconds=30)).steps == 0
        order = services.get_order(s, world["analyst"], o.id)
        assert [w.code for w in order.steps] == ["ST1", "ST2", "ST3"]
        assert order.steps[1].fine == 10 and order.status is OrderStatus.OVERDUE
    with db.unit_of_work() as s:  # a late answer is still taken, and marked late
        order = services.respond(
            s, world["mod"], o.id, ResponseIn(action="removed", statement="Done late.")
        )
        assert order.responses[0].late and order.status is OrderStatus.COMPLIED
