"""Quarantine of a banked signal that suddenly matches far more than its history.

A near-blank image or a common logo frame banked by mistake matches nearly every upload and
floods every moderator who matches against the bank. Each match is counted towards the
content's row of ``hash_match_rates`` (lookups that match nothing count nothing), and when
the SOP profile's rule (``[hash_quarantine]``, :mod:`tangkal.hashing.match_rate`) says so
the content is *held*: lookups then report it apart, as held with the reason, never as a
match, until its bank's owner releases it (with a new baseline) or removes it. The state is
in the database and read by every lookup that finds the content, so every worker and
process follows the hold, release or removal at once (no index change is involved).
Holding, releasing and removing are audit events on the bank (its owner's record).

Counts are batched per process (:data:`FLUSH_EVERY`): a lookup reads the rows of the contents
it matched and adds its process's unwritten count; one lookup a second per process writes the
batch, in its own unit of work. The rows are read by the statement that loads the matched
contents (:func:`with_rates`, an outer join: no statement of its own, so the state is still
read from the database on every lookup that finds the content, at no extra round trip).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tangkal.accounts.principal import SYSTEM, Principal
from tangkal.audit.services import record
from tangkal.db.base import utcnow
from tangkal.errors import InvalidInput, Msg, NotFound
from tangkal.hashing import match_rate as mr
from tangkal.hashing.banks import get_bank
from tangkal.hashing.models import Bank, BankContent
from tangkal.hashing.quarantine_models import MatchRate
from tangkal.sop.profile import HashQuarantine, active_profile


@dataclass(frozen=True, slots=True)
class Hold:
    """Why a content is not reported as a match."""

    held_at: datetime
    recent: float
    baseline: float
    limit: float

    def reason(self, rule: HashQuarantine) -> Msg:
        return Msg(
            "Held for review: %(recent)s matches in the last %(window)s, over the limit of "
            "%(limit)s (at least %(min)s, or %(factor)s times its usual %(baseline)s).",
            recent=round(self.recent),
            window=rule.window,
            limit=round(self.limit),
            min=rule.min_matches,
            factor=f"{rule.factor:g}",
            baseline=f"{self.baseline:.1f}",
        )


def rule() -> HashQuarantine:
    return active_profile().hash_quarantine


def _hold_of(row: Any, now: datetime) -> Hold:
    return Hold(
        row.held_at or now, row.held_recent or 0, row.held_baseline or 0, row.held_limit or 0
    )


def _state(row: Any) -> mr.RateState:
    return mr.RateState(
        row.window_start, row.current, row.previous, row.baseline_sum, row.baseline_weight
    )


_RETURNED = (
    MatchRate.content_id,
    MatchRate.signal_digest,
    MatchRate.window_start,
    MatchRate.current,
    MatchRate.previous,
    MatchRate.baseline_sum,
    MatchRate.baseline_weight,
    MatchRate.held_at,
    MatchRate.held_recent,
    MatchRate.held_baseline,
    MatchRate.held_limit,
)


#: A select of any columns (a statement :func:`with_rates` extends).
AnySelect = Select[*tuple[Any, ...]]

#: What a lookup decides on, joined to the contents it loads: no ``content_id`` (the content's
#: own; ``window_start`` is ``None`` where there is no row) nor ``signal_digest`` (its guard
#: against a removed content's id given again is gone: ids are never reused, migration 0207),
#: as each column the join adds costs the lookup a few microseconds of result processing.
_JOINED = _RETURNED[2:]


def with_rates(stmt: AnySelect) -> AnySelect:
    """``stmt`` (a select of :class:`BankContent`) with the columns of each content's rate
    row added (``None`` where it has none): the matching code loads the matched contents with
    it and hands the rows to :func:`screen`, so a lookup reads the hold state in the same
    statement and round trip that finds the content."""
    return stmt.add_columns(*_JOINED).outerjoin(MatchRate, MatchRate.content_id == BankContent.id)


def _increment(session: Session, counts: Mapping[int, int], start: datetime) -> dict[int, Any]:
    """Add ``counts`` to the rows already in the window starting ``start``; their rows."""
    by_n: dict[int, list[int]] = {}
    for cid, n in counts.items():
        by_n.setdefault(n, []).append(cid)
    out: dict[int, Any] = {}
    for n, ids in sorted(by_n.items()):
        rows = session.execute(
            update(MatchRate)
            .where(MatchRate.content_id.in_(sorted(ids)), MatchRate.window_start == start)
            .values(current=MatchRate.current + n)
            .returning(*_RETURNED),
            execution_options={"synchronize_session": False},
        ).all()
        out |= {r.content_id: r for r in rows}
    return out


def _prepare(session: Session, contents: Mapping[int, Any], start: datetime, now: datetime) -> None:
    """Make the rows of ``contents`` current for the window starting ``start``: roll stale
    ones (their completed windows into the baseline unless held), reset ones left by removed
    content, create missing ones. Once per content per window, so off the usual path."""
    ids = sorted(contents)
    have = {
        r.content_id: r
        for r in session.scalars(
            select(MatchRate).where(MatchRate.content_id.in_(ids)).with_for_update()
        )
    }
    r_ = rule()
    new = []
    for cid in ids:
        c = contents[cid]
        row = have.get(cid)
        if row is None:
            new.append(
                {
                    "content_id": cid,
                    "bank_id": c.bank_id,
                    "signal_digest": c.signal_digest,
                    "window_start": start,
                    "current": 0,
                    "previous": 0,
                    "baseline_sum": 0.0,
                    "baseline_weight": 0.0,
                }
            )
            continue
        if row.signal_digest != c.signal_digest:  # the id of removed content, reused
            row.signal_digest, row.bank_id = c.signal_digest, c.bank_id
            row.current = row.previous = 0
            row.baseline_sum = row.baseline_weight = 0.0
            row.held_at = row.held_recent = row.held_baseline = row.held_limit = None
            row.window_start = start
            continue
        if row.window_start < start:
            s = mr.rolled(_state(row), now, r_, learn=row.held_at is None)
            row.window_start, row.current, row.previous = s.window_start, s.current, s.previous
            row.baseline_sum, row.baseline_weight = s.baseline_sum, s.baseline_weight
    if new:
        ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(ins(MatchRate).values(new).on_conflict_do_nothing())
    session.flush()


@dataclass(slots=True)
class _Pending:
    bank_id: str
    signal_digest: str
    n: int = 0


#: Matches counted in this process and not yet written: a write would make every matching
#: lookup a writing transaction (its commit a WAL flush, milliseconds on PostgreSQL), so one
#: lookup a second per process writes them all. Lookups decide on the database's count plus
#: this process's own; another process's last second reaches them at its next write.
FLUSH_EVERY = 1.0
_pending: dict[int, _Pending] = {}
_pending_lock = threading.Lock()
_flushed_at = 0.0


def _write(
    session: Session, batch: Mapping[int, Any], start: datetime, now: datetime
) -> dict[int, Any]:
    """Add the batch's counts to the database (``batch``: content id -> bank_id,
    signal_digest, n); the rows as written (``RETURNING``: what a lookup decides on, the
    batch's counts included)."""
    rows = _increment(session, {cid: p.n for cid, p in batch.items()}, start)
    stale = {
        cid: p
        for cid, p in batch.items()
        if cid not in rows or rows[cid].signal_digest != p.signal_digest
    }
    if stale:
        _prepare(session, stale, start, now)
        rows |= _increment(session, {cid: p.n for cid, p in stale.items()}, start)
    return rows


def screen(
    session: Session,
    contents: Mapping[int, BankContent],
    *,
    rates: Mapping[int, Any] | None = None,
    now: datetime | None = None,
    flush: bool | None = None,
) -> dict[int, Hold]:
    """Count one match of each content (this request's matches, each content once) and return
    the ones held, already or by this match. ``rates``: each content's row as read by a
    statement built with :func:`with_rates` (the columns ``None`` where it has no row); without
    it the rows are read here, one ``SELECT``. ``now`` is the clock seam for tests; ``flush``
    forces (or skips) writing this process's counts now instead of once a second."""
    global _flushed_at
    if not contents:
        return {}
    r_ = rule()
    now = now or utcnow()
    batch: dict[int, _Pending] = {}
    with _pending_lock:
        for cid, c in contents.items():
            _pending.setdefault(cid, _Pending(c.bank_id, c.signal_digest)).n += 1
        due = time.monotonic() - _flushed_at >= FLUSH_EVERY if flush is None else flush
        if due:
            batch = dict(_pending)
            _pending.clear()
            _flushed_at = time.monotonic()
        local = {cid: _pending[cid].n for cid in contents if cid in _pending}
    written = _write(session, batch, mr.window_start(now, r_.window), now) if batch else {}
    if rates is None:
        rows = {
            r.content_id: r
            for r in session.execute(
                select(*_RETURNED).where(MatchRate.content_id.in_(sorted(contents)))
            )
        }
    else:
        rows = {cid: r for cid, r in rates.items() if r is not None and r.window_start is not None}
    # the rows read before this lookup's write are older than the write's own (RETURNING)
    rows |= {cid: r for cid, r in written.items() if cid in contents}
    held: dict[int, Hold] = {}
    for cid, c in contents.items():
        r = rows.get(cid)
        mine_n = local.get(cid, 0)
        if r is None:
            if mine_n <= r_.min_matches:
                continue  # the floor: never held at or below it
            state = mr.fresh(now, r_)
        elif r.held_at is not None:
            held[cid] = _hold_of(r, now)
            continue
        elif r.current + r.previous + mine_n <= r_.min_matches:
            # the last window's matches are at most these (rolling only moves or drops them),
            # so at or below the floor no arithmetic can hold it: the usual lookup stops here
            continue
        else:
            state = mr.rolled(_state(r), now, r_, learn=True)
        if mine_n:
            state = replace(state, current=state.current + mine_n)
        v = mr.verdict(state, now, r_)
        if v is None:
            continue
        with _pending_lock:
            mine = _pending.pop(cid, None)
        if mine is not None:
            _write(session, {cid: mine}, mr.window_start(now, r_.window), now)
        held[cid] = Hold(now, v.recent, v.baseline, v.limit)
        session.execute(
            update(MatchRate)
            .where(MatchRate.content_id == cid)
            .values(
                held_at=now, held_recent=v.recent, held_baseline=v.baseline, held_limit=v.limit
            ),
            execution_options={"synchronize_session": False},
        )
        record(
            session,
            SYSTEM,
            "bank.content_held",
            "bank",
            c.bank_id,
            {
                "content_id": cid,
                "signal_type": c.signal_type,
                "recent": round(v.recent, 2),
                "baseline": round(v.baseline, 2),
                "limit": round(v.limit, 2),
                "window": r_.window.total_seconds(),
            },
        )
    return held


# ---------------------------------------------------------------- the owner's review queue


def _held_row(session: Session, bank: Bank, content_id: int) -> tuple[MatchRate, BankContent]:
    found = session.execute(
        select(MatchRate, BankContent)
        .join(BankContent, BankContent.id == MatchRate.content_id)
        .where(
            MatchRate.content_id == content_id,
            BankContent.bank_id == bank.id,
            MatchRate.signal_digest == BankContent.signal_digest,
            MatchRate.held_at.is_not(None),
        )
        .with_for_update(of=MatchRate)
    ).first()
    if found is None:
        raise NotFound(
            Msg("No held content %(id)s in bank %(bank)s.", id=content_id, bank=bank.name)
        )
    return found[0], found[1]


def queue(session: Session, principal: Principal, bank_name: str) -> list[dict[str, Any]]:
    """The bank's held contents, oldest hold first; only the bank's owner sees them."""
    bank = get_bank(session, principal, bank_name, write=True)
    r_ = rule()
    now = utcnow()
    rows = session.execute(
        select(MatchRate, BankContent)
        .join(BankContent, BankContent.id == MatchRate.content_id)
        .where(
            BankContent.bank_id == bank.id,
            MatchRate.signal_digest == BankContent.signal_digest,
            MatchRate.held_at.is_not(None),
        )
        .order_by(MatchRate.held_at, MatchRate.content_id)
    ).all()
    out = []
    for rate, c in rows:
        hold = _hold_of(rate, now)
        state = mr.rolled(_state(rate), now, r_, learn=False)
        out.append(held_dict(bank, c, hold, r_) | {"recent_now": round(mr.recent(state, now, r_))})
    return out


def held_dict(bank: Bank, c: BankContent, hold: Hold, r_: HashQuarantine) -> dict[str, Any]:
    return {
        "bank": bank.name,
        "content_id": c.id,
        "signal_type": c.signal_type,
        "signal": c.signal,
        "label": c.label,
        "held_at": hold.held_at.isoformat(),
        "recent": round(hold.recent, 2),
        "baseline": round(hold.baseline, 2),
        "limit": round(hold.limit, 2),
        "reason": hold.reason(r_).text,
    }


def release(
    session: Session,
    principal: Principal,
    bank_name: str,
    content_id: int,
    *,
    baseline: float | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The owner vouches for a held content: it matches again, its baseline set to
    ``baseline`` matches per window (by default the rate that held it, so the same rate does
    not hold it again)."""
    bank = get_bank(session, principal, bank_name, write=True)
    rate, c = _held_row(session, bank, content_id)
    r_ = rule()
    now = now or utcnow()
    state = mr.rolled(_state(rate), now, r_, learn=False)
    last = mr.recent(state, now, r_)
    new = max(last, rate.held_recent or 0, state.baseline(r_)) if baseline is None else baseline
    if baseline is not None and (baseline < 0 or mr.limit(baseline, r_) < last):
        raise InvalidInput(
            Msg(
                "A baseline of %(b)s would hold it again at once: it matched %(n)s times in the "
                "last window; give at least %(least)s.",
                b=baseline,
                n=round(last),
                least=round(last / r_.factor, 1),
            ),
            field="baseline",
        )
    s = mr.with_baseline(state, new)
    rate.window_start, rate.current, rate.previous = s.window_start, s.current, s.previous
    rate.baseline_sum, rate.baseline_weight = s.baseline_sum, s.baseline_weight
    rate.held_at = rate.held_recent = rate.held_baseline = rate.held_limit = None
    rate.released_at, rate.released_by = now, principal.actor
    session.flush()
    record(
        session,
        principal,
        "bank.content_released",
        "bank",
        bank.id,
        {"bank": bank.name, "content_id": c.id, "baseline": round(new, 2)},
    )
    return {"content_id": c.id, "released": True, "baseline": round(new, 2)}


def remove_held(session: Session, principal: Principal, bank_name: str, content_id: int) -> None:
    """The owner agrees the content is bad: it leaves the bank (as any removal, through the
    change log the indexes follow) and its rate row goes with it."""
    from tangkal.hashing.content import remove_content

    bank = get_bank(session, principal, bank_name, write=True)
    rate, _ = _held_row(session, bank, content_id)
    session.delete(rate)
    remove_content(session, principal, bank.name, content_id)
