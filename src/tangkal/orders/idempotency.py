"""``Idempotency-Key``: a retried request gets the first answer instead of acting twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tangkal.accounts.principal import Principal
from tangkal.errors import Conflict, InvalidInput
from tangkal.orders.models import IdempotencyRecord


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
    key = key.strip()
    if not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1 to 200 characters.", field="Idempotency-Key")
    digest = hashlib.sha256(
        (scope + "\n" + json.dumps(request, sort_keys=True, default=str)).encode()
    ).hexdigest()
    scoped_key = f"{scope}:{key}"
    existing = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.org_id == principal.org_id, IdempotencyRecord.key == scoped_key
        )
    )
    if existing is not None:
        if existing.request_hash != digest:
            raise Conflict(
                "This Idempotency-Key was already used for a different request; "
                "use a new key for a new request.",
                field="Idempotency-Key",
            )
        return existing.status_code, existing.body, True
    body = fn()
    session.add(
        IdempotencyRecord(
            org_id=principal.org_id,
            key=scoped_key,
            request_hash=digest,
            status_code=status_code,
            body=json.loads(json.dumps(body, default=str)),
        )
    )
    session.flush()
    return status_code, body, False
