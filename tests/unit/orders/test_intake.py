"""Group-committed order intake: per-order answers from one shared transaction."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Role
from tangkal.audit.services import events_for, verify
from tangkal.db.session import Database
from tangkal.delivery.models import OutboxMessage
from tangkal.errors import Conflict, InvalidInput, Unauthenticated
from tangkal.orders.filing import prepare_order
from tangkal.orders.idempotency import IdemKey
from tangkal.orders.intake import (
    IntakeAnswer,
    IntakeRequest,
    SameKeyTwice,
    create_committer,
    file_batch,
)
from tangkal.orders.models import Order
from tangkal.orders.schemas import OrderIn
from tests.factories import Factory


def _body(platform: str, *locators: str) -> OrderIn:
    return OrderIn(
        platform=platform,
        category="terrorism",
        locators=list(locators) or ["https://t.me/s/kanal_x/1"],
        legal_basis="UU 5/2018",
        reason="bomb-making instructions",
    )


@pytest.fixture
def world(factory: Factory, db: Database) -> dict[str, object]:
    reg = factory.regulator()
    tg = factory.platform(domains=["t.me"])
    token = factory.token(reg, Role.ANALYST)
    with db.read_only() as s:
        analyst = accounts.authenticate_token(s, token)
    return {"analyst": analyst, "token": token, "platform": tg, "regulator": reg}


def _count(db: Database, model: type) -> int:
    with db.read_only() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_batch_writes_every_order_with_its_outbox_message_and_audit_event(
    db: Database, world
) -> None:
    analyst, name = world["analyst"], world["platform"].name
    reqs = [
        IntakeRequest(analyst, prepare_order(analyst, _body(name, f"t.me/chan{i}/5")))
        for i in range(5)
    ]
    with db.unit_of_work() as s:
        answers = file_batch(s, reqs)
    assert [a.status for a in answers if isinstance(a, IntakeAnswer)] == [201] * 5
    assert _count(db, Order) == 5 and _count(db, OutboxMessage) == 5
    with db.read_only() as s:
        for r in reqs:
            assert [e.action for e in events_for(s, "order", r.order.id)] == ["order.issued"]
        assert verify(s).ok


def test_refusals_are_per_order_and_the_rest_of_the_batch_is_written(db: Database, world) -> None:
    analyst, name = world["analyst"], world["platform"].name
    good = IntakeRequest(analyst, prepare_order(analyst, _body(name)))
    nowhere = IntakeRequest(analyst, prepare_order(analyst, _body("no-such-platform")))
    with db.unit_of_work() as s:
        answers = file_batch(s, [good, nowhere])
    assert isinstance(answers[0], IntakeAnswer)
    assert isinstance(answers[1], InvalidInput) and "no-such-platform" in answers[1].message
    assert _count(db, Order) == 1


def test_a_token_revoked_after_the_request_was_checked_writes_nothing(db: Database, world) -> None:
    analyst = world["analyst"]
    req = IntakeRequest(analyst, prepare_order(analyst, _body(world["platform"].name)))
    with db.unit_of_work() as s:
        from tangkal.accounts.models import ApiToken

        row = s.get(ApiToken, analyst.token_id)
        assert row is not None
        accounts.revoke_token(s, analyst, row.id)
    with db.unit_of_work() as s:
        (answer,) = file_batch(s, [req])
    assert isinstance(answer, Unauthenticated)
    assert _count(db, Order) == 0


def test_orders_in_one_batch_about_the_same_item_see_each_other(db: Database, world) -> None:
    analyst, name = world["analyst"], world["platform"].name
    with db.unit_of_work() as s:
        (first,) = file_batch(
            s, [IntakeRequest(analyst, prepare_order(analyst, _body(name, "t.me/s/same/1")))]
        )
    pair = [
        IntakeRequest(analyst, prepare_order(analyst, _body(name, "https://t.me/same/1"))),
        IntakeRequest(analyst, prepare_order(analyst, _body(name, "t.me/same/2"))),
    ]
    with db.unit_of_work() as s:
        a, b = file_batch(s, pair)
    assert isinstance(first, IntakeAnswer) and isinstance(a, IntakeAnswer)
    assert isinstance(b, IntakeAnswer)
    related_a = {r["id"]: r["same_item"] for r in a.body["related_orders"]}
    assert related_a == {first.body["id"]: True, b.body["id"]: False}  # b: same channel
    assert {r["id"] for r in b.body["related_orders"]} == {first.body["id"], a.body["id"]}


def test_an_idempotency_key_replays_the_first_answer(db: Database, world) -> None:
    analyst, name = world["analyst"], world["platform"].name
    body = _body(name)
    key = IdemKey.of(analyst, "k-1", "orders.create", body.model_dump(mode="json"))
    with db.unit_of_work() as s:
        (first,) = file_batch(s, [IntakeRequest(analyst, prepare_order(analyst, body), key)])
    with db.unit_of_work() as s:
        (again,) = file_batch(s, [IntakeRequest(analyst, prepare_order(analyst, body), key)])
    assert isinstance(first, IntakeAnswer) and isinstance(again, IntakeAnswer)
    assert again.replayed and again.body["id"] == first.body["id"]
    other = IdemKey.of(
        analyst, "k-1", "orders.create", _body(name, "t.me/x/2").model_dump(mode="json")
    )
    with db.unit_of_work() as s:
        (clash,) = file_batch(s, [IntakeRequest(analyst, prepare_order(analyst, body), other)])
    assert isinstance(clash, Conflict)
    assert _count(db, Order) == 1


def test_the_same_key_twice_in_one_batch_is_written_once(db: Database, world) -> None:
    analyst, name = world["analyst"], world["platform"].name
    body = _body(name)
    key = IdemKey.of(analyst, "twice", "orders.create", body.model_dump(mode="json"))
    reqs = [IntakeRequest(analyst, prepare_order(analyst, body), key) for _ in range(2)]
    with db.unit_of_work() as s, pytest.raises(SameKeyTwice):
        file_batch(s, reqs)
    committer = create_committer(db)

    async def both() -> list[IntakeAnswer]:
        return await asyncio.gather(*(committer.submit(r) for r in reqs))

    try:
        answers = asyncio.run(both())
    finally:
        committer.close()
    assert answers[0].body["id"] == answers[1].body["id"]
    assert sorted(a.replayed for a in answers) == [False, True]
    assert _count(db, Order) == 1
