"""``Idempotency-Key``: a retried request gets the first answer instead of acting twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select, tuple_
from sqlalchemy.orm import Session

from tangkal.accounts.principal import Principal
from tangkal.db.bulk import insert_rows
from tangkal.errors import Conflict, InvalidInput
from tangkal.orders.models import IdempotencyRecord

#: The longest key a client may send (the document says so too).
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class IdemKey:
    """A client's key, checked, scoped to one kind of request, with the request's digest."""

    org_id: str
    key: str  # "<scope>:<client's key>"
    digest: str

    @classmethod
    def of(cls, principal: Principal, key: str, scope: str, request: Any) -> IdemKey:
        key = key.strip()
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise InvalidInput(
                "Idempotency-Key must be 1 to 200 characters.", field="Idempotency-Key"
            )
        digest = hashlib.sha256(
            (scope + "\n" + json.dumps(request, sort_keys=True, default=str)).encode()
        ).hexdigest()
        return cls(principal.org_id, f"{scope}:{key}", digest)

    def replay(self, record: IdempotencyRecord) -> tuple[int, dict[str, Any]]:
        """The first answer, if this is the same request again; else a Conflict."""
        if record.request_hash != self.digest:
            raise Conflict(
                "This Idempotency-Key was already used for a different request; "
                "use a new key for a new request.",
                field="Idempotency-Key",
            )
        return record.status_code, record.body

    def row(self, status_code: int, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "key": self.key,
            "request_hash": self.digest,
            "status_code": status_code,
            "body": json.loads(json.dumps(body, default=str)),
        }


def find(session: Session, keys: Iterable[IdemKey]) -> dict[tuple[str, str], IdempotencyRecord]:
    """The stored records of these keys, in one query."""
    wanted = sorted({(k.org_id, k.key) for k in keys})
    if not wanted:
        return {}
    rows = session.scalars(
        select(IdempotencyRecord).where(
            tuple_(IdempotencyRecord.org_id, IdempotencyRecord.key).in_(wanted)
        )
    )
    return {(r.org_id, r.key): r for r in rows}


def store(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_rows(session, cast(Table, IdempotencyRecord.__table__), rows)


def run_once(
    session: Session,
    principal: Principal,
    key: str | None,
    scope: str,
    request: Any,
    fn: Callable[[], dict[str, Any]],
    status_code: int = 200,
) -> tuple[int, dict[str, Any], bool]:
    """Run ``fn`` once per (organisation, key); returns (status, body, replayed)."""
    if key is None:
        return status_code, fn(), False
    idem = IdemKey.of(principal, key, scope, request)
    existing = find(session, [idem]).get((idem.org_id, idem.key))
    if existing is not None:
        status, body = idem.replay(existing)
        return status, body, True
    body = fn()
    store(session, [idem.row(status_code, body)])
    return status_code, body, False
