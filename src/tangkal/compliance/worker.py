"""Background service: probe rounds after every change of the list, and periodically.

Each pass asks :func:`tangkal.compliance.services.next_job` what is due, in this order: the
names of change sets committed since the last one probed (once they are
``TANGKAL_COMPLIANCE_SETTLE`` seconds old, so resolvers had their NOTIFY and IXFR); then
results that are not compliant and older than ``TANGKAL_COMPLIANCE_RECHECK``; then, every
``TANGKAL_COMPLIANCE_INTERVAL``, every name under an open (or just ended) sanction or
normalisation and the next rotating sample of the rest of the list. The DNS queries run on
the event loop; reads and writes in worker threads. The journal position is advanced only
after the round is stored, so a crash probes those names again rather than never.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from tangkal.compliance import services
from tangkal.compliance.services import RoundSummary
from tangkal.db.session import Database
from tangkal.periodic import PeriodicService
from tangkal.settings import Settings

log = structlog.get_logger("tangkal.compliance")

PASS_INTERVAL = 0.5  # seconds between looks at the journal when nothing is due
ESCALATE_EVERY = 5.0  # seconds between looks for graces run out, when no round runs


class ComplianceWorker(PeriodicService):
    name = "compliance"

    def __init__(self, db: Database, settings: Settings, interval: float = PASS_INTERVAL) -> None:
        super().__init__(interval)
        self.db = db
        self.settings = settings
        self._escalated_at = 0.0

    async def run_pass(self) -> tuple[services.Job, RoundSummary] | None:
        job = await asyncio.to_thread(services.next_job, self.db, self.settings)
        if job is None:
            # a grace can run out between rounds: look now and then (every round looks too)
            now = time.monotonic()
            if now - self._escalated_at >= ESCALATE_EVERY:
                self._escalated_at = now
                await asyncio.to_thread(services.escalate, self.db, self.settings)
            return None
        summary = await services.run_round(self.db, self.settings, job.names, job.trigger)
        await asyncio.to_thread(services.finish_job, self.db, job)
        return job, summary

    def tick(self) -> Any:
        """One pass without a running loop (tests, the CLI)."""
        return asyncio.run(self.run_pass())

    def busy(self, result: Any) -> bool:
        return result is not None and bool(result[0].more)

    def report(self, result: Any) -> None:
        if result is None:
            return
        _job, summary = result
        log.info(
            "compliance_round",
            trigger=summary.trigger,
            names=summary.names,
            resolvers=summary.resolvers,
            controls=summary.controls,
            counts=summary.as_dict()["counts"],
            changed=summary.changed,
            escalated=summary.escalated or None,
            seconds=round(summary.seconds, 3),
            warnings=summary.warnings or None,
        )


def create_service(app_state: Any) -> ComplianceWorker:
    return ComplianceWorker(app_state.db, app_state.settings)
