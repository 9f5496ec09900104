"""Transaction-scoped locks on a named thing, for a read-then-write no index can guard.

Some writes first look for a row and create it only if there is none (the open sanction of
a platform, say). Under READ COMMITTED two transactions can both look, both find nothing and
both create; when the rows they then insert collide on a unique index, the second waits for
the first and fails with ``IntegrityError``, too late to do the right thing (join what the
first created). Taking a lock on the *name* of the thing before the look makes the second
transaction wait before it looks, so it sees the first one's committed row.

On PostgreSQL the lock is ``pg_advisory_xact_lock(namespace, key)``: held until the
top-level transaction ends (a savepoint's rollback does not release it), so the caller
should keep the rest of its transaction short; :func:`held` tells a loop that runs many
items in one transaction (the scheduler's batch) that it now holds one and should commit.
The two-key form keeps these locks apart from the single-key locks of the audit chain and
of compliance rounds. On SQLite every writing unit of work already holds the database's
one write lock from ``BEGIN IMMEDIATE`` (``db.session``), so there is nothing to take.
"""

from __future__ import annotations

import hashlib
from typing import Final

from sqlalchemy import text
from sqlalchemy.orm import Session

#: one namespace per kind of thing locked (the first key of the two-key advisory lock)
SANCTION_PROPOSAL: Final = 0x73616E63  # "sanc"

_HELD = "tangkal.locks.held"


def key_of(*parts: str) -> int:
    """A stable signed 32-bit key for ``parts``, the same in every process (Python's
    ``hash`` is salted per process). A collision only makes two unrelated things wait for
    each other, never lets two writers of one thing through."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_for_transaction(session: Session, namespace: int, *parts: str) -> None:
    """Wait for, then hold until the end of the session's transaction, the lock on
    ``parts`` within ``namespace`` (PostgreSQL; SQLite's writers are serialised already)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = key_of(*parts)
    session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
        {"namespace": namespace, "key": key},
    )
    root = session.get_transaction()
    owner, keys = session.info.get(_HELD, (None, set()))
    if owner is not root:
        keys = set()
    keys.add((namespace, key))
    session.info[_HELD] = (root, keys)


def held(session: Session) -> int:
    """How many such locks the session's current transaction holds (0 on SQLite)."""
    owner, keys = session.info.get(_HELD, (None, set()))
    root = session.get_transaction()
    return len(keys) if root is not None and owner is root else 0
