"""Background service: a signed checkpoint of the audit chain every so often.

Third parties fetch the latest one; the more often one is made, the less of the chain's
tail can be rewritten unseen before someone holds a checkpoint past it. A pass signs only
when the chain has grown since the last checkpoint, so an idle system adds no rows.
"""

from __future__ import annotations

from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tangkal.audit import checkpoints
from tangkal.audit.signing import load_key
from tangkal.db.session import Database
from tangkal.periodic import PeriodicService

log = structlog.get_logger("tangkal.audit")


class CheckpointService(PeriodicService):
    name = "audit-checkpoints"

    def __init__(self, db: Database, key: Ed25519PrivateKey, interval: float) -> None:
        super().__init__(interval)
        self.db = db
        self.key = key

    def tick(self) -> int | None:
        with self.db.unit_of_work() as session:
            cp = checkpoints.make_if_grown(session, self.key)
            return None if cp is None else cp.size

    def report(self, result: int | None) -> None:
        if result is not None:
            log.info("audit_checkpoint", size=result)


def create_service(app_state: Any) -> CheckpointService:
    settings = app_state.settings
    return CheckpointService(app_state.db, load_key(settings), settings.audit_checkpoint_interval)
