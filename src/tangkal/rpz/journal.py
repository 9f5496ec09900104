"""The seam between deciding a block and serving it: one change set per unit of work.

Callers (the blocklist, the CLI) call :func:`publish` inside their own transaction, so a
block and its zone change commit together or not at all. ``publish`` touches only the rows
of the names it is given (O(size of change), never O(zone)) and appends the change set to
the journal under the serial lock, so serials strictly grow in commit order. DNS servers
learn of committed change sets by reading the journal (see ``tangkal.rpz.server``), woken
at commit by the signals ``publish`` raises (see ``tangkal.rpz.wakeup``).

Lock order: ``publish`` takes the RPZ serial lock and holds it until commit; call it after
your own writes and *before* ``tangkal.audit.services.record`` (which takes the audit lock),
always in that order, so two transactions never wait on each other in opposite orders.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tangkal.db.base import utcnow
from tangkal.db.bulk import insert_rows, one_of_chunks
from tangkal.errors import InvalidInput
from tangkal.rpz import wakeup
from tangkal.rpz.models import RpzChange, RpzChangeSet, RpzEntry, RpzState
from tangkal.rpz.values import (
    SERIAL_MOD,
    Landing,
    RpzAction,
    ZoneChange,
    serial_lt,
    serial_next,
)

__all__ = [
    "AppliedChange",
    "ChangeSet",
    "RpzAction",
    "ZoneChange",
    "advance_serial",
    "changesets_after",
    "current_serial",
    "ensure_state",
    "prune_journal",
    "publish",
    "sync_landing",
]

_CHANGES = cast(Table, RpzChange.__table__)
_ENTRIES = cast(Table, RpzEntry.__table__)
JOURNAL_RETENTION_DAYS = 90


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """One name's step as the journal keeps it (what IXFR deletes and adds)."""

    name: str
    old: RpzAction | None
    new: RpzAction | None
    # The landing a landing step meant (None: the zone's default): what IXFR encodes.
    old_landing: Landing | None = None
    new_landing: Landing | None = None


@dataclass(frozen=True, slots=True)
class ChangeSet:
    seq: int
    from_serial: int
    serial: int
    committed_at: datetime
    changes: tuple[AppliedChange, ...]


def _initial_serial() -> int:
    """Start from the clock, so a database rebuilt from scratch still moves secondaries
    forward (they ignore a zone whose serial went back) unless it made more than one
    change per second on average before."""
    return int(time.time()) % SERIAL_MOD or 1


def ensure_state(session: Session) -> None:
    """Create the serial row if this database has none yet; safe under concurrency."""
    dialect = session.get_bind().dialect.name
    values = {"id": 1, "serial": _initial_serial(), "seq": 0, "updated_at": utcnow()}
    if dialect == "postgresql":
        session.execute(pg_insert(RpzState).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(RpzState).values(**values).on_conflict_do_nothing())
    elif session.get(RpzState, 1) is None:  # pragma: no cover - other backends
        session.add(RpzState(**values))
        session.flush()


def current_serial(session: Session) -> int:
    """The SOA serial of the zone as committed; 0 when nothing was ever published."""
    serial = session.scalar(select(RpzState.serial).where(RpzState.id == 1))
    return int(serial) if serial is not None else 0


def _lock_state(session: Session) -> RpzState:
    ensure_state(session)
    state = session.scalar(
        select(RpzState)
        .where(RpzState.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert state is not None
    return state


#: What a name is set to: its action and, for a landing of its own, that landing's text.
_Want = tuple[RpzAction | None, str | None]


def _collapse(changes: Iterable[ZoneChange]) -> dict[str, _Want]:
    wanted: dict[str, _Want] = {}
    for change in changes:
        if not isinstance(change, ZoneChange):
            raise InvalidInput("publish() takes ZoneChange values.")
        want = (change.action, change.landing.text() if change.landing else None)
        if change.name in wanted and wanted[change.name] != want:
            raise InvalidInput(
                f"The change set sets {change.name!r} twice to different actions "
                f"({wanted[change.name][0]} and {change.action}); send one change per name.",
                field="name",
            )
        wanted[change.name] = want
    return wanted


def _current_actions(session: Session, names: list[str]) -> dict[str, _Want]:
    found: dict[str, _Want] = {}
    for _, among in one_of_chunks(session, RpzEntry.name, names):
        rows = session.execute(
            select(RpzEntry.name, RpzEntry.action, RpzEntry.landing).where(among)
        )
        found.update((n, (a, landing)) for n, a, landing in rows)
    return found


def _meant(want: _Want | None, default: str | None) -> str | None:
    """The landing text a journal row records for one side of a step."""
    if want is None or want[0] != RpzAction.LANDING:
        return None
    return want[1] or default


def publish(session: Session, changes: Sequence[ZoneChange], *, reason: str | None = None) -> int:
    """Apply one change set inside the caller's transaction; returns the new SOA serial.

    Changes that would not change anything (removing an unlisted name, setting the action
    and landing a name already has) are dropped; if nothing is left, no serial is spent and
    the current serial is returned. Only ``flush``es: the caller's unit of work commits.
    """
    wanted = _collapse(changes)
    if not wanted:
        return current_serial(session) or _ensure_and_read(session)
    state = _lock_state(session)
    names = sorted(wanted)
    before = _current_actions(session, names)
    landing = state.landing  # what every landing entry without its own points to now
    steps = [
        (n, before.get(n), wanted[n]) for n in names if before.get(n, (None, None)) != wanted[n]
    ]
    applied = [
        AppliedChange(
            n,
            old[0] if old else None,
            new[0],
            Landing.parse(t) if (t := _meant(old, landing)) else None,
            Landing.parse(t) if (t := _meant(new, landing)) else None,
        )
        for n, old, new in steps
    ]
    if not applied:
        return int(state.serial)

    seq, new_serial, now = _begin_change_set(session, state, reason=reason, size=len(applied))
    # Core rows (COPY on PostgreSQL), not the ORM's bulk path: a mass import publishes
    # millions of names, and the ORM's per-row bookkeeping was most of its cost.
    insert_rows(
        session,
        _CHANGES,
        [
            {
                "seq": seq,
                "name": c.name,
                "old_action": c.old,
                "new_action": c.new,
                "old_landing": c.old_landing.text() if c.old_landing else None,
                "new_landing": c.new_landing.text() if c.new_landing else None,
            }
            for c in applied
        ],
    )

    removed = [c.name for c in applied if c.new is None]
    added = [c for c in applied if c.old is None and c.new is not None]
    changed = [c for c in applied if c.old is not None and c.new is not None]
    for _, among in one_of_chunks(session, RpzEntry.name, removed):
        session.execute(delete(RpzEntry).where(among))
    insert_rows(
        session,
        _ENTRIES,
        [
            {
                "name": c.name,
                "action": c.new,
                "landing": wanted[c.name][1],
                "serial": new_serial,
                "changed_at": now,
            }
            for c in added
        ],
    )
    for c in changed:
        session.execute(
            update(RpzEntry)
            .where(RpzEntry.name == c.name)
            .values(action=c.new, landing=wanted[c.name][1], serial=new_serial, changed_at=now)
        )

    return _end_change_set(session, state, seq, new_serial, now)


def sync_landing(session: Session, landing: Landing) -> int | None:
    """Make the zone's landing entries point to ``landing``; returns the new serial, or
    None when nothing had to change.

    The zone's bytes for a landing name depend on the landing (a CNAME, or A/AAAA records),
    so a changed setting is a change to the zone: one change set re-points every landing
    name without a landing of its own, with the old and new landing in each journal row,
    and the serial moves on, so secondaries take it by IXFR (deleting exactly the records
    they hold) or AXFR. A database that never recorded its landing (older than this)
    adopts ``landing`` as is.
    Called by the primary at start, under the serial lock like :func:`publish`.
    """
    state = _lock_state(session)
    wanted = landing.text()
    if state.landing == wanted:
        return None
    before = state.landing
    state.landing = wanted
    following = (RpzEntry.action == RpzAction.LANDING) & RpzEntry.landing.is_(None)
    names = list(session.scalars(select(RpzEntry.name).where(following).order_by(RpzEntry.name)))
    if before is None or not names:
        session.flush()
        return None
    seq, new_serial, now = _begin_change_set(
        session, state, reason=f"landing {before} -> {wanted}", size=len(names)
    )
    insert_rows(
        session,
        _CHANGES,
        [
            {
                "seq": seq,
                "name": n,
                "old_action": RpzAction.LANDING,
                "new_action": RpzAction.LANDING,
                "old_landing": before,
                "new_landing": wanted,
            }
            for n in names
        ],
    )
    session.execute(update(RpzEntry).where(following).values(serial=new_serial, changed_at=now))
    return _end_change_set(session, state, seq, new_serial, now)


def advance_serial(session: Session, past: Iterable[int], *, reason: str) -> tuple[int, int]:
    """Move the serial ahead of the current one and of every serial in ``past`` (RFC 1982
    order) with an empty change set; returns (the serial before, the new one).

    For a database restored from a backup (``tangkal.db.backup``): secondaries may hold a
    serial the restored journal never had, and would ignore a zone whose serial went back.
    A secondary behind the restored serial follows the empty step by IXFR; one holding a
    serial the journal lacks is answered with AXFR. Under the serial lock like ``publish``.
    """
    state = _lock_state(session)
    before = newest = int(state.serial)
    for serial in past:
        if serial_lt(newest, serial):
            newest = serial
    seq, new_serial, now = _begin_change_set(
        session, state, reason=reason, size=0, serial=serial_next(newest)
    )
    _end_change_set(session, state, seq, new_serial, now)
    return before, new_serial


def _begin_change_set(
    session: Session, state: RpzState, *, reason: str | None, size: int, serial: int | None = None
) -> tuple[int, int, datetime]:
    """The journal's row for the next change set, from the locked state: (seq, serial, now).
    The serial is the next one unless given; the rows of its changes follow it."""
    new_serial = serial_next(int(state.serial)) if serial is None else serial
    seq = int(state.seq) + 1
    now = utcnow()
    session.add(
        RpzChangeSet(
            seq=seq,
            serial=new_serial,
            from_serial=int(state.serial),
            committed_at=now,
            reason=(reason or None) and reason[:500],
            size=size,
        )
    )
    session.flush()
    return seq, new_serial, now


def _end_change_set(session: Session, state: RpzState, seq: int, serial: int, now: datetime) -> int:
    """The state moved to the change set's serial, and the primaries told at commit."""
    state.serial, state.seq, state.updated_at = serial, seq, now
    session.flush()
    wakeup.announce(session, seq)
    return serial


def _ensure_and_read(session: Session) -> int:
    ensure_state(session)
    return current_serial(session)


def latest_seq(session: Session) -> tuple[int, int]:
    """(seq, serial) of the last committed change set; (0, serial) if there is none."""
    row = session.execute(select(RpzState.seq, RpzState.serial).where(RpzState.id == 1)).first()
    if row is None:
        return 0, 0
    return int(row[0]), int(row[1])


def changesets_after(
    session: Session, after_seq: int, *, up_to_seq: int | None = None, limit: int | None = None
) -> list[ChangeSet]:
    """Committed change sets with ``seq > after_seq`` (and ``<= up_to_seq``), oldest first."""
    query = select(RpzChangeSet).where(RpzChangeSet.seq > after_seq).order_by(RpzChangeSet.seq)
    if up_to_seq is not None:
        query = query.where(RpzChangeSet.seq <= up_to_seq)
    if limit is not None:
        query = query.limit(limit)
    heads = session.scalars(query).all()
    if not heads:
        return []
    lo, hi = heads[0].seq, heads[-1].seq
    by_seq: dict[int, list[AppliedChange]] = {h.seq: [] for h in heads}
    rows = session.execute(
        select(
            RpzChange.seq,
            RpzChange.name,
            RpzChange.old_action,
            RpzChange.new_action,
            RpzChange.old_landing,
            RpzChange.new_landing,
        )
        .where(RpzChange.seq >= lo, RpzChange.seq <= hi)
        .order_by(RpzChange.seq, RpzChange.id)
    )
    parsed: dict[str, Landing] = {}

    def landing(text: str | None) -> Landing | None:
        if text is None:
            return None
        got = parsed.get(text)
        if got is None:
            got = parsed[text] = Landing.parse(text)
        return got

    for seq, name, old, new, old_l, new_l in rows:
        by_seq[seq].append(AppliedChange(name, old, new, landing(old_l), landing(new_l)))
    return [
        ChangeSet(h.seq, int(h.from_serial), int(h.serial), h.committed_at, tuple(by_seq[h.seq]))
        for h in heads
    ]


def seq_for_serial(session: Session, serial: int) -> int | None:
    """The seq of the change set that produced ``serial``; None if the journal lost it.

    The newest match wins (a serial only repeats after 2^32 change sets).
    """
    return session.scalar(select(func.max(RpzChangeSet.seq)).where(RpzChangeSet.serial == serial))


def oldest_journal_seq(session: Session) -> int | None:
    return session.scalar(select(func.min(RpzChangeSet.seq)))


def prune_journal(session: Session, *, keep_days: int = JOURNAL_RETENTION_DAYS) -> int:
    """Drop change sets older than ``keep_days``; returns how many went.

    Pruned history only costs secondaries that are further behind than that a full
    transfer; the zone itself (``rpz_entries``) is untouched.
    """
    if keep_days < 30:
        raise InvalidInput(
            "Keep at least 30 days of journal, so a subscriber that was down "
            "for a month can still catch up by IXFR.",
            field="keep_days",
        )
    cutoff = utcnow() - timedelta(days=keep_days)
    old = session.scalar(
        select(func.max(RpzChangeSet.seq)).where(RpzChangeSet.committed_at < cutoff)
    )
    if old is None:
        return 0
    session.execute(delete(RpzChange).where(RpzChange.seq <= old))
    result = session.execute(delete(RpzChangeSet).where(RpzChangeSet.seq <= old))
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
