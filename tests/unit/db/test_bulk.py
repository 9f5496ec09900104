"""Bulk inserts store exactly what a Core insert stores, and belong to the unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, select

from tangkal.audit.models import AuditEvent
from tangkal.db.bulk import insert_rows
from tangkal.db.session import Database
from tangkal.delivery.models import DeliveryStatus, OutboxMessage
from tangkal.orders.models import Evidence, Order, OrderStatus
from tests.factories import Factory

AT = datetime(2026, 11, 29, 3, 4, 5, 678901, tzinfo=UTC)


def _order(i: int, regulator_id: str, platform_id: str) -> dict[str, Any]:
    """An order row leaving out every column a Core insert would fill with its default."""
    return {
        "id": f"00000000-0000-0000-0000-{i:012d}",
        "reference": f"ORD-20261129-{i:012X}",
        "regulator_org_id": regulator_id,
        "platform_org_id": platform_id,
        "category": "terrorism",
        "urgency": "urgent",
        "legal_basis": "UU ITE Pasal 40 ayat (2b); PP 71/2019 Pasal 95",
        "reason": "Quotes 'like this', a tab\there, a newline\nthere, a backslash \\ and ünïcödé",
        "status": OrderStatus.ISSUED,
        "sop_profile": "indonesia",
        "deadline_seconds": 14400,
        "created_by": "analyst@kominfo",
        "issued_at": AT,
        "deadline_at": AT,
        "updated_at": AT,
    }


def _outbox(i: int, order_id: str, platform_id: str) -> dict[str, Any]:
    return {
        "id": f"10000000-0000-0000-0000-{i:012d}",
        "platform_org_id": platform_id,
        "order_id": order_id,
        "event": "order.issued",
        "payload": {"event": "order.issued", "data": {"n": i, "text": "a\tb\\c\n", "x": None}},
        "status": DeliveryStatus.INBOX,
        "next_attempt_at": AT,
        "created_at": AT,
    }


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _stored(db: Database, model: type[Any], ids: list[str]) -> list[dict[str, Any]]:
    table = _table(model)
    key = next(iter(table.primary_key.columns))
    with db.read_only() as session:
        rows = session.execute(select(table).where(key.in_(ids)).order_by(key)).mappings()
        return [{k: v for k, v in row.items() if k != key.key} for row in rows]


def test_bulk_insert_stores_what_a_core_insert_stores(db: Database, factory: Factory) -> None:
    regulator, platform = factory.regulator(), factory.platform()
    bulk = [_order(i, regulator.id, platform.id) for i in range(1, 4)]
    core = [_order(i, regulator.id, platform.id) for i in range(11, 14)]
    with db.unit_of_work() as session:
        insert_rows(session, _table(Order), bulk)
        session.execute(insert(_table(Order)), core)
        insert_rows(
            session,
            _table(OutboxMessage),
            [_outbox(i, bulk[0]["id"], platform.id) for i in range(1, 3)],
        )
        session.execute(
            insert(_table(OutboxMessage)),
            [_outbox(i, core[0]["id"], platform.id) for i in range(11, 13)],
        )
    got_bulk = _stored(db, Order, [r["id"] for r in bulk])
    got_core = _stored(db, Order, [r["id"] for r in core])
    assert len(got_bulk) == 3
    for b, c in zip(got_bulk, got_core, strict=True):
        assert {k: v for k, v in b.items() if k != "reference"} == {
            k: v for k, v in c.items() if k != "reference"
        }
    assert got_bulk[0]["status"] is OrderStatus.ISSUED
    assert got_bulk[0]["paused_seconds"] == 0.0 and got_bulk[0]["received_at"] is None
    assert got_bulk[0]["issued_at"] == AT and got_bulk[0]["reason"] == bulk[0]["reason"]
    out_bulk = _stored(db, OutboxMessage, [f"10000000-0000-0000-0000-{i:012d}" for i in (1, 2)])
    out_core = _stored(db, OutboxMessage, [f"10000000-0000-0000-0000-{i:012d}" for i in (11, 12)])
    for b, c in zip(out_bulk, out_core, strict=True):
        assert b["payload"]["data"]["text"] == "a\tb\\c\n"
        assert {k: v for k, v in b.items() if k not in ("payload", "order_id")} == {
            k: v for k, v in c.items() if k not in ("payload", "order_id")
        }
    assert out_bulk[0]["attempts"] == 0 and out_bulk[0]["status"] is DeliveryStatus.INBOX


def test_bulk_insert_keeps_binary_content_byte_for_byte(db: Database, factory: Factory) -> None:
    regulator, platform = factory.regulator(), factory.platform()
    content = bytes(range(256)) * 3 + b"\\N\t\n\x00"
    evidence = {
        "id": "20000000-0000-0000-0000-000000000001",
        "order_id": _order(1, regulator.id, platform.id)["id"],
        "filename": "e.bin",
        "content_type": "application/octet-stream",
        "size": len(content),
        "sha256": "0" * 64,
        "md5": "0" * 32,
        "content": content,
    }
    with db.unit_of_work() as session:
        insert_rows(session, _table(Order), [_order(1, regulator.id, platform.id)])
        insert_rows(session, _table(Evidence), [evidence])
    stored = _stored(db, Evidence, [evidence["id"]])
    assert stored[0]["content"] == content and stored[0]["created_at"] is not None


def test_bulk_insert_rolls_back_with_its_unit_of_work(db: Database, factory: Factory) -> None:
    regulator, platform = factory.regulator(), factory.platform()
    with pytest.raises(RuntimeError), db.unit_of_work() as session:
        insert_rows(session, _table(Order), [_order(1, regulator.id, platform.id)])
        raise RuntimeError("the unit of work fails after the insert")
    assert _stored(db, Order, [_order(1, regulator.id, platform.id)["id"]]) == []


def test_bulk_insert_refuses_a_column_the_table_does_not_have(db: Database) -> None:
    with db.unit_of_work() as session, pytest.raises(ValueError, match="has no column"):
        insert_rows(session, _table(AuditEvent), [{"nope": 1}])


def test_bulk_insert_of_nothing_writes_nothing(db: Database) -> None:
    with db.unit_of_work() as session:
        insert_rows(session, _table(Order), [])


def test_membership_chunks_cover_every_value_and_find_exactly_the_stored_ones(db: Database) -> None:
    from tangkal.db.bulk import POSTGRES_CHUNK, SQLITE_CHUNK, one_of_chunks
    from tangkal.rpz.journal import ZoneChange, publish
    from tangkal.rpz.models import RpzEntry
    from tangkal.rpz.values import RpzAction

    stored = ["a.example.com", "z.example.org", "xn--bcher-kva.example"]
    with db.unit_of_work() as s:
        publish(s, [ZoneChange(n, RpzAction.NXDOMAIN) for n in stored])
    # more values than two chunks hold on either backend, the stored ones spread among them
    wanted = [f"n{i}.example.net" for i in range(2 * POSTGRES_CHUNK + 7)]
    for at, name in zip((0, POSTGRES_CHUNK, len(wanted)), stored, strict=True):
        wanted.insert(at, name)
    with db.read_only() as s:
        chunks = list(one_of_chunks(s, RpzEntry.name, wanted))
        found = [
            name for _, among in chunks for name in s.scalars(select(RpzEntry.name).where(among))
        ]
    size = POSTGRES_CHUNK if db.url.startswith("postgresql") else SQLITE_CHUNK
    assert [len(c) for c, _ in chunks][:-1] == [size] * (len(chunks) - 1)
    assert [v for c, _ in chunks for v in c] == wanted
    assert sorted(found) == sorted(stored)
