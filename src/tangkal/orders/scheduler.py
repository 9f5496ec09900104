"""The clock-watcher: every pass takes what has fallen due, and only that.

Orders: deemed receipts, missed deadlines and the profile's escalation steps
(:func:`tangkal.orders.escalation.run_due`, reading the ``next_due_at`` index range, so a
pass costs what is due, not what is open). Objections, normalisation requests and the
public's appeals: officials are warned on the record before the profile's decision time
runs out. A pass that finds a full batch of due orders, or that was cut short to commit a
sanction proposal at once, runs again at once instead of waiting for the next interval.
"""

from __future__ import annotations

from typing import Any

import structlog

from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.orders.escalation import run_due
from tangkal.periodic import PeriodicService

log = structlog.get_logger("tangkal.scheduler")

BATCH = 500
#: a pass drains a backlog in batches, but no longer than this many in a row
MAX_BATCHES = 200


class OrderScheduler(PeriodicService):
    name = "order-scheduler"

    def __init__(self, db: Database, interval: float, batch: int = BATCH) -> None:
        super().__init__(interval)
        self.db = db
        self.batch = batch

    def run_once(self) -> dict[str, int]:
        """One batch of due orders and the reminders, in one unit of work."""
        return self._batch()[0]

    def _batch(self) -> tuple[dict[str, int], bool]:
        """One batch, and whether more may be due at once: a full batch, or one cut short
        after an order that took a transaction lock (a sanction proposal on PostgreSQL),
        which is committed at once rather than held through the rest of the batch (see
        :func:`~tangkal.orders.escalation.run_due`)."""
        from tangkal.blocklist.appeals import remind_due as remind_appeals
        from tangkal.normalisation.services import remind_due as remind_normalisations
        from tangkal.objections.services import remind_due as remind_objections

        now = utcnow()
        with self.db.unit_of_work() as s:
            result = run_due(s, now, self.batch, stop_after_lock=True)
            counts = result.as_dict()
            counts["objection_reminders"] = remind_objections(s, now)
            counts["normalisation_reminders"] = remind_normalisations(s, now)
            counts["appeal_reminders"] = remind_appeals(s, now)
        done = counts["deemed_received"] + counts["overdue"] + counts["skipped"]
        return counts, result.stopped_early or done + counts["steps"] >= self.batch

    def tick(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for _ in range(MAX_BATCHES):
            counts, more = self._batch()
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
            if not more:
                break
        return total

    def report(self, result: dict[str, int]) -> None:
        if any(result.values()):
            log.info("scheduler_pass", **result)


def create_service(state: Any) -> OrderScheduler:
    return OrderScheduler(state.db, state.settings.scheduler_interval)
