"""Matching: query signals looked up in the banks the caller may see, and the matches as a
moderator needs them at once: the bank, its provenance, the distance, the order the content came
from, and the feedback so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from prometheus_client import Histogram
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from tangkal.accounts.principal import Principal
from tangkal.hashing import quarantine, signals
from tangkal.hashing.banks import READ_ROLES, rules_of
from tangkal.hashing.content import hash_content
from tangkal.hashing.feedback import feedback_counts
from tangkal.hashing.index import IndexMatch
from tangkal.hashing.matcher import BankIndexes
from tangkal.hashing.models import Bank, BankContent, signal_digest
from tangkal.hashing.quarantine import AnySelect
from tangkal.hashing.signals import SignalResult

#: Per query signal type, so a slow type (a text scan) shows apart from the fast ones.
MATCH_SECONDS = Histogram(
    "tangkal_match_seconds",
    "Time to look one query signal up in the banks, thresholds applied",
    ["signal_type"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
for _name in signals.default_registry().names():
    MATCH_SECONDS.labels(_name)  # a series per type from the start, not after its first query


@dataclass(frozen=True, slots=True)
class Query:
    signal_type: str
    signal: str


def _candidates(session: Session, idx: BankIndexes, q: Query, widest: dict[str, int]) -> list[Any]:
    """Stored signals near one query signal (each with ``id`` and ``distance``): from the
    type's index, searched at the loosest thresholds any visible bank asks for (each bank's
    own are applied after, :meth:`SignalType.judge`), or from the indexed column for exact
    types."""
    st = signals.get(q.signal_type)
    index = idx.index(st.name)
    if index.in_database:
        ids = session.scalars(
            select(BankContent.id).where(
                BankContent.signal_type == st.name,
                BankContent.signal_digest == signal_digest(q.signal),
                BankContent.signal == q.signal,
            )
        )
        return [IndexMatch(i, 0) for i in ids]
    return st.candidates(index, q.signal, widest)


def _visible_banks(session: Session, principal: Principal) -> list[Bank]:
    return list(
        session.scalars(
            select(Bank).where(
                Bank.enabled.is_(True),
                or_(Bank.shared.is_(True), Bank.owner_org_id == principal.org_id),
            )
        )
    )


def match(
    session: Session,
    principal: Principal,
    idx: BankIndexes,
    queries: Sequence[Query],
    *,
    limit: int = 100,
    held: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Matches of every query signal in the banks the caller may see, enabled banks only,
    each bank's own threshold applied; allow-list matches suppress the others.

    Each matched content is counted towards its match rate, and a content the quarantine
    rule holds (:mod:`tangkal.hashing.quarantine`) is never among the matches (nor does a
    held allow-list entry suppress anything): it is appended to ``held``, with its reason,
    for the callers that show it."""
    principal.require(*READ_ROLES)
    idx.sync(session)
    found: list[tuple[Query, BankContent, int]] = []
    rates: dict[int, Any] = {}
    rules = {b.id: rules_of(b) for b in _visible_banks(session, principal)}
    for q in queries:
        started = time.perf_counter()
        _match_one(session, principal, idx, q, found, rules, rates)
        MATCH_SECONDS.labels(q.signal_type).observe(time.perf_counter() - started)
    holds = quarantine.screen(session, {c.id: c for _, c, _ in found}, rates=rates)
    if holds:
        r_ = quarantine.rule()
        seen: set[int] = set()
        for _, c, _ in found:
            if c.id in holds and c.id not in seen and held is not None:
                held.append(quarantine.held_dict(c.bank, c, holds[c.id], r_))
            seen.add(c.id)
        found = [f for f in found if f[1].id not in holds]
    return _present(session, found, limit)


@cache
def _contents_stmt(with_rates: Callable[[AnySelect], AnySelect]) -> AnySelect:
    """The statement loading the candidates' contents in the banks the caller may see, with
    their quarantine rate rows (``with_rates``, :func:`quarantine.with_rates`): built once, its
    values bound per call, so a lookup does not build it (and its cache key) again."""
    return with_rates(
        select(BankContent, Bank)
        .join(Bank)
        .where(
            BankContent.id.in_(bindparam("ids", expanding=True)),
            Bank.enabled.is_(True),
            or_(Bank.shared.is_(True), Bank.owner_org_id == bindparam("org_id")),
        )
    )


def _match_one(
    session: Session,
    principal: Principal,
    idx: BankIndexes,
    q: Query,
    found: list[tuple[Query, BankContent, int]],
    rules: dict[str, dict[str, dict[str, int]]],
    rates: dict[int, Any],
) -> None:
    """Append ``q``'s matches over the banks the caller may see (``rules``: their thresholds
    by bank id) to ``found``, each judged by its bank's own thresholds, and each match's
    quarantine rate row to ``rates`` (read by the same statement: no round trip of its own)."""
    st = signals.get(q.signal_type)
    if not rules:
        return
    widest = st.widest(r[st.name] for r in rules.values())
    cands = {m.id: m for m in _candidates(session, idx, q, widest)}
    if cands:
        rows = session.execute(
            _contents_stmt(quarantine.with_rates),
            {"ids": list(cands), "org_id": principal.org_id},
        ).all()
        for row in rows:
            content, bank = row[0], row[1]
            if bank.id not in rules:
                continue
            d = st.judge(cands[content.id], rules[bank.id][st.name])
            if d is not None:
                found.append((q, content, d))
                rates[content.id] = row


def _present(
    session: Session, found: list[tuple[Query, BankContent, int]], limit: int
) -> list[dict[str, Any]]:
    """The nearest query per banked row, allow-list suppression applied, as the API shows it."""
    nearest: dict[int, tuple[Query, BankContent, int]] = {}
    for q, c, d in found:
        if c.id not in nearest or d < nearest[c.id][2]:
            nearest[c.id] = (q, c, d)
    found = list(nearest.values())
    # An allow-list hit vouches for the upload as a whole under that signal type (all of its
    # PDQ variants are the same picture), so it suppresses that type's other matches.
    allowed_types = {q.signal_type for q, c, _ in found if c.bank.allowlist}
    feedback = feedback_counts(session, [c.id for _, c, _ in found])
    out = []
    for q, c, d in sorted(found, key=lambda f: (f[2], f[1].id)):
        suppressed = q.signal_type in allowed_types and not c.bank.allowlist
        out.append(
            {
                "bank": c.bank.name,
                "bank_id": c.bank_id,
                "content_id": c.id,
                "signal_type": c.signal_type,
                "signal": c.signal,
                "query_signal": q.signal,
                "distance": d,
                "label": c.label,
                "allowlist": c.bank.allowlist,
                "suppressed_by_allowlist": suppressed,
                "provenance": {
                    "kind": c.bank.kind.value,
                    "source": c.bank.source,
                    "owner_org_id": c.bank.owner_org_id,
                    "order_id": c.order_id,
                    "evidence_id": c.evidence_id,
                    "source_ref": c.source_ref,
                    "added_by": c.added_by,
                    "added_at": c.created_at.isoformat(),
                },
                "order_id": c.order_id,
                "feedback": feedback.get(c.id, {}),
            }
        )
    return out[:limit]


def queries_for_upload(
    content: bytes, *, text: bool = False, files: bool = True
) -> tuple[list[Query], list[SignalResult]]:
    """The query signals of an upload, and the types that could not hash it (with reasons).

    Banks store one PDQ hash per image; the query side adds the rotated and mirrored
    variants (PDQ's dihedral hashes plus a real hash of the mirrored pixels), so a flipped
    copy still matches. The answer reports each match once, at its nearest variant.
    """
    results = hash_content(content, text=text, files=files)
    queries: list[Query] = []
    for r in results:
        for variant in signals.get(r.signal_type).query_variants(content, r):
            if Query(r.signal_type, variant) not in queries:
                queries.append(Query(r.signal_type, variant))
    return queries, [r for r in results if r.signal is None]


def queries_for_signal(signal_type: str, signal: str) -> list[Query]:
    st = signals.get(signal_type)
    return [Query(st.name, st.validate(signal))]
