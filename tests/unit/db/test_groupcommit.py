"""Group commit: many submissions share transactions; each is answered after its commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tangkal.db.groupcommit import GroupCommitter
from tangkal.db.session import Database
from tangkal.orders.models import IdempotencyRecord


def _insert_keys(session: Session, keys: Sequence[str]) -> list[str | BaseException]:
    """Writes one row per key; a key starting with 'no-' is refused without writing."""
    out: list[str | BaseException] = []
    rows = []
    for k in keys:
        if k.startswith("no-"):
            out.append(ValueError(f"refused {k}"))
            continue
        rows.append({"org_id": "o", "key": k, "request_hash": "h", "status_code": 201, "body": {}})
        out.append(k)
    if rows:
        session.execute(insert(IdempotencyRecord), rows)
    return out


def _stored(db: Database) -> list[str]:
    with db.read_only() as s:
        return sorted(s.scalars(select(IdempotencyRecord.key)))


async def _submit_all(c: GroupCommitter[str, str], keys: list[str]) -> list[object]:
    return await asyncio.gather(*(c.submit(k) for k in keys), return_exceptions=True)


def test_concurrent_submissions_are_committed_in_fewer_transactions(db: Database) -> None:
    c: GroupCommitter[str, str] = GroupCommitter(db, _insert_keys, name="t")
    keys = [f"k{i:03d}" for i in range(200)]
    try:
        results = asyncio.run(_submit_all(c, keys))
    finally:
        c.close()
    assert results == keys
    assert _stored(db) == keys
    assert c.items == 200 and 1 <= c.batches < 200


def test_a_refused_item_gets_its_error_and_the_rest_are_written(db: Database) -> None:
    c: GroupCommitter[str, str] = GroupCommitter(db, _insert_keys, name="t")
    try:
        results = asyncio.run(_submit_all(c, ["a", "no-b", "c"]))
    finally:
        c.close()
    assert results[0] == "a" and results[2] == "c"
    assert isinstance(results[1], ValueError)
    assert _stored(db) == ["a", "c"]


def test_a_batch_that_fails_in_the_database_is_retried_one_by_one(db: Database) -> None:
    # The duplicate violates the unique (org_id, key) constraint: the batch rolls back as a
    # whole, then each item is written alone, so only the second "dup" fails.
    c: GroupCommitter[str, str] = GroupCommitter(db, _insert_keys, name="t")
    try:
        results = asyncio.run(_submit_all(c, ["x", "dup", "dup", "y"]))
    finally:
        c.close()
    assert [r for r in results if isinstance(r, str)] == ["x", "dup", "y"]
    assert sum(isinstance(r, Exception) for r in results) == 1
    assert _stored(db) == ["dup", "x", "y"]


def test_nothing_is_answered_before_it_is_committed(db: Database) -> None:
    seen: list[int] = []
    c: GroupCommitter[str, str] = GroupCommitter(db, _insert_keys, name="t")

    async def one(k: str) -> None:
        await c.submit(k)
        with db.read_only() as s:  # another connection must already see it
            seen.append(
                s.scalar(
                    select(func.count())
                    .select_from(IdempotencyRecord)
                    .where(IdempotencyRecord.key == k)
                )
                or 0
            )

    async def many() -> None:
        await asyncio.gather(*(one(f"c{i}") for i in range(30)))

    try:
        asyncio.run(many())
    finally:
        c.close()
    assert seen == [1] * 30


def test_a_closed_committer_refuses_new_work(db: Database) -> None:
    c: GroupCommitter[str, str] = GroupCommitter(db, _insert_keys, name="t")
    c.close()
    with pytest.raises(RuntimeError):
        asyncio.run(c.submit("late"))
