"""Background service: blocks take effect and expire on time, even with nobody watching.

Each pass runs :func:`tangkal.blocklist.services.run_due` in its own unit of work. Any number
of processes may run it at once (rows are claimed with SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

import structlog

from tangkal.blocklist.services import DueResult, run_due
from tangkal.db.session import Database
from tangkal.periodic import PeriodicService

log = structlog.get_logger("tangkal.blocklist")


class BlockExpiryService(PeriodicService):
    name = "blocklist-expiry"

    def __init__(self, db: Database, interval: float = 1.0) -> None:
        super().__init__(interval)
        self.db = db

    def tick(self) -> DueResult:
        with self.db.unit_of_work() as session:
            return run_due(session)

    def report(self, result: DueResult) -> None:
        if result.activated or result.expired:
            log.info(
                "blocks_due",
                activated=len(result.activated),
                expired=len(result.expired),
                serial=result.serial,
            )


def create_service(app_state: Any) -> BlockExpiryService:
    interval = float(getattr(app_state.settings, "scheduler_interval", 1.0) or 1.0)
    return BlockExpiryService(app_state.db, interval)
