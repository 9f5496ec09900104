"""Content of a bank: adding signals and files, removing and listing them.

Every add and remove is written to the ``hash_changes`` log as well, which the per-process
indexes (:mod:`tangkal.hashing.matcher`) replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.errors import Conflict, Msg, NotFound
from tangkal.hashing import signals
from tangkal.hashing.banks import get_bank
from tangkal.hashing.models import (
    Bank,
    BankContent,
    ContentSource,
    HashChange,
    SourceKind,
    signal_digest,
)
from tangkal.hashing.signals import SignalResult


@dataclass(frozen=True, slots=True)
class AddResult:
    added: list[BankContent]
    duplicates: int
    not_hashed: list[SignalResult] = field(default_factory=list)


def add_signals(
    session: Session,
    principal: Principal,
    bank: Bank,
    items: Iterable[tuple[str, str]],
    *,
    label: str | None = None,
    source_ref: str | None = None,
    order_id: str | None = None,
    evidence_id: str | None = None,
    sources: Mapping[tuple[str, str], dict[str, Any]] | None = None,
) -> tuple[list[BankContent], int]:
    """Add the (type, signal) pairs not in the bank yet, each with its provenance: a
    :class:`ContentSource` from ``sources`` (the exchange import's rows, by pair), else the
    owner's upload or, with ``order_id``, the order's evidence."""
    pairs = list(dict.fromkeys(items))
    existing = set()
    if pairs:
        for st, sig in session.execute(
            select(BankContent.signal_type, BankContent.signal).where(
                BankContent.bank_id == bank.id,
                BankContent.signal_digest.in_({signal_digest(sig) for _, sig in pairs}),
            )
        ):
            existing.add((st, sig))
    fresh = [p for p in pairs if p not in existing]
    rows = [
        BankContent(
            bank_id=bank.id,
            signal_type=st,
            signal=sig,
            label=label,
            source_ref=source_ref,
            order_id=order_id,
            evidence_id=evidence_id,
            added_by=principal.actor,
        )
        for st, sig in fresh
    ]
    session.add_all(rows)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            Msg(
                "Another request added the same content to this bank at the same moment; try again."
            )
        ) from None
    session.add_all(
        HashChange(content_id=r.id, op="add", signal_type=r.signal_type, signal=r.signal)
        for r in rows
    )
    default = (
        {"kind": SourceKind.ORDER, "order_id": order_id}
        if order_id
        else {"kind": SourceKind.UPLOAD}
    )
    session.add_all(
        ContentSource(content_id=r.id, **(sources or {}).get((r.signal_type, r.signal), default))
        for r in rows
    )
    session.flush()
    return rows, len(pairs) - len(fresh)


def add_signal(
    session: Session,
    principal: Principal,
    bank_name: str,
    signal_type: str,
    signal: str,
    *,
    label: str | None = None,
) -> AddResult:
    bank = get_bank(session, principal, bank_name, write=True)
    st = signals.get(signal_type)
    value = st.validate(signal)
    rows, dup = add_signals(session, principal, bank, [(st.name, value)], label=label)
    record(
        session,
        principal,
        "bank.content_added",
        "bank",
        bank.id,
        {"bank": bank.name, "signal_type": st.name, "signal": value, "duplicate": bool(dup)},
    )
    return AddResult(rows, dup)


def hash_content(content: bytes, *, text: bool = False, files: bool = True) -> list[SignalResult]:
    """Every signal of an upload; PDQ's reason is kept when the file is not a usable image."""
    results = signals.hash_file(content) if files else []
    if text:
        results += [st.hash_bytes(content) for st in signals.REGISTRY.for_media("text")]
    return results


def add_file(
    session: Session,
    principal: Principal,
    bank_name: str,
    content: bytes,
    *,
    label: str | None = None,
    filename: str | None = None,
    text: bool = False,
    order_id: str | None = None,
    evidence_id: str | None = None,
    results: list[SignalResult] | None = None,
) -> AddResult:
    """Hash a file into a bank; ``results`` are its signals when the caller hashed it already
    (the HTTP routes do, off the event loop: :mod:`tangkal.hashing.budget`)."""
    bank = get_bank(session, principal, bank_name, write=True)
    if results is None:
        results = hash_content(content, text=text)
    good = [(r.signal_type, r.signal) for r in results if r.signal is not None]
    rows, dup = add_signals(
        session,
        principal,
        bank,
        good,
        label=label or filename,
        source_ref=filename,
        order_id=order_id,
        evidence_id=evidence_id,
    )
    record(
        session,
        principal,
        "bank.content_added",
        "bank",
        bank.id,
        {
            "bank": bank.name,
            "filename": filename,
            "order_id": order_id,
            "signals": {r.signal_type: r.signal for r in results if r.signal},
            "not_hashed": {r.signal_type: r.reason for r in results if r.signal is None},
        },
    )
    return AddResult(rows, dup, [r for r in results if r.signal is None])


def remove_content(session: Session, principal: Principal, bank_name: str, content_id: int) -> None:
    bank = get_bank(session, principal, bank_name, write=True)
    row = session.get(BankContent, content_id)
    if row is None or row.bank_id != bank.id:
        raise NotFound(Msg("No content %(id)s in bank %(bank)s.", id=content_id, bank=bank.name))
    session.add(
        HashChange(content_id=row.id, op="remove", signal_type=row.signal_type, signal=row.signal)
    )
    session.delete(row)
    session.flush()
    record(
        session,
        principal,
        "bank.content_removed",
        "bank",
        bank.id,
        {
            "bank": bank.name,
            "content_id": content_id,
            "signal_type": row.signal_type,
            "signal": row.signal,
        },
    )


def list_content(
    session: Session, principal: Principal, bank_name: str, *, after: int = 0, limit: int = 1000
) -> list[BankContent]:
    bank = get_bank(session, principal, bank_name)
    return list(
        session.scalars(
            select(BankContent)
            .where(BankContent.bank_id == bank.id, BankContent.id > after)
            .order_by(BankContent.id)
            .limit(limit)
        )
    )


def content_dict(c: BankContent) -> dict[str, Any]:
    return {
        "id": c.id,
        "signal_type": c.signal_type,
        "signal": c.signal,
        "label": c.label,
        "source_ref": c.source_ref,
        "order_id": c.order_id,
        "evidence_id": c.evidence_id,
        "added_by": c.added_by,
        "created_at": c.created_at.isoformat(),
    }
