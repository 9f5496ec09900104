"""The background service that activates and expires blocks on time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace

from tangkal.blocklist import services
from tangkal.blocklist.expiry import create_service
from tangkal.blocklist.models import BlockEntry, BlockStatus
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tests.unit.blocklist.conftest import People, zone


def test_the_service_expires_a_block_in_the_background_and_stops_cleanly(
    db: Database, people: People
) -> None:
    with db.unit_of_work() as s:
        entry, _ = services.create_block(
            s,
            people.official(),
            services.BlockRequest.build(
                domain="short.example.com",
                action="nxdomain",
                legal_basis="UU ITE",
                reason="test",
                expires_at=utcnow() + timedelta(milliseconds=300),
            ),
        )
    assert zone(db) == {"short.example.com": "nxdomain"}
    state = SimpleNamespace(db=db, settings=SimpleNamespace(scheduler_interval=0.05))

    async def run() -> None:
        service = create_service(state)
        await service.start()
        for _ in range(200):  # bounded: at most ~10 s
            await asyncio.sleep(0.05)
            with db.read_only() as s:
                if s.get(BlockEntry, entry.id).status is BlockStatus.EXPIRED:  # type: ignore[union-attr]
                    break
        await service.stop()
        await service.stop()  # idempotent

    asyncio.run(run())
    with db.read_only() as s:
        assert s.get(BlockEntry, entry.id).status is BlockStatus.EXPIRED  # type: ignore[union-attr]
    assert zone(db) == {}


def test_two_workers_never_publish_the_same_activation_twice(db: Database, people: People) -> None:
    now = utcnow()
    with db.unit_of_work() as s:
        for i in range(20):
            services.create_block(
                s,
                people.official(),
                services.BlockRequest.build(
                    domain=f"s{i}.sched.example.com",
                    action="nxdomain",
                    legal_basis="UU ITE",
                    reason="test",
                    effective_at=now + timedelta(minutes=1),
                ),
            )
    later = now + timedelta(minutes=2)

    def worker() -> tuple[str, ...]:
        with db.unit_of_work() as s:
            return services.run_due(s, now=later).activated

    async def both() -> list[tuple[str, ...]]:
        return list(await asyncio.gather(asyncio.to_thread(worker), asyncio.to_thread(worker)))

    a, b = asyncio.run(both())
    assert not set(a) & set(b)
    assert len(a) + len(b) == 20
    assert len(zone(db)) == 20
