"""Banks: creating them, adding and removing content, matching, feedback, links to orders.

Who may do what: a bank belongs to one organisation, which alone changes it. A shared bank is
matched by everyone (the regulator's banks of reported propaganda, typically); a private bank
only by its owner. Matches come back with everything a moderator needs at once: the bank, its
provenance, the distance, the order the content came from, and the feedback so far.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Histogram
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.errors import Conflict, Forbidden, InvalidInput, Msg, NotFound
from tangkal.hashing import signals
from tangkal.hashing.matcher import BankIndexes
from tangkal.hashing.models import (
    Bank,
    BankContent,
    BankKind,
    BankThreshold,
    HashChange,
    MatchFeedback,
    signal_digest,
)
from tangkal.hashing.signals import SignalResult

WRITE_ROLES = (Role.ANALYST, Role.OFFICIAL, Role.MODERATOR, Role.ADMIN)
READ_ROLES = (Role.ANALYST, Role.OFFICIAL, Role.MODERATOR, Role.ADMIN, Role.AUDITOR)
_BANK_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,99}")


# ---------------------------------------------------------------- thresholds


#: Per query signal type, so a slow type (a text scan) shows apart from the fast ones.
MATCH_SECONDS = Histogram(
    "tangkal_match_seconds",
    "Time to look one query signal up in the banks, thresholds applied",
    ["signal_type"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
for _name in signals.default_registry().names():
    MATCH_SECONDS.labels(_name)  # a series per type from the start, not after its first query


def threshold_fields() -> dict[str, str]:
    """The bank API's historic per-type fields (``pdq_threshold``) and the type each is a view
    of, as the types declare them."""
    return {st.threshold_field: st.name for st in signals.REGISTRY if st.threshold_field}


def tunable_types() -> list[signals.SignalType]:
    """Types whose banks choose a threshold (exact types match only identical signals)."""
    return [st for st in signals.REGISTRY if not st.exact]


def thresholds_of(bank: Bank) -> dict[str, int]:
    """Every registered type's threshold in this bank: the bank's row, else the type's
    default."""
    own = {t.signal_type: t.threshold for t in bank.thresholds}
    return {st.name: own.get(st.name, st.default_threshold) for st in signals.REGISTRY}


def _requested_thresholds(
    thresholds: dict[str, int] | None, legacy: dict[str, int | None]
) -> dict[str, int]:
    """Thresholds asked for, by type, each checked against its type's rules: the ``thresholds``
    map (any registered type or alias) and the historic per-type fields."""
    out: dict[str, int] = {}
    fields = threshold_fields()
    for key, value in legacy.items():
        if value is None:
            continue
        if key not in fields:
            raise InvalidInput(Msg("%(key)s cannot be changed.", key=key), field=key)
        out[fields[key]] = signals.get(fields[key]).check_threshold(value)
    for name, value in (thresholds or {}).items():
        st = signals.get(name)
        out[st.name] = st.check_threshold(value)
    return out


def _set_thresholds(bank: Bank, values: dict[str, int]) -> None:
    rows = {t.signal_type: t for t in bank.thresholds}
    for name, value in values.items():
        if name in rows:
            rows[name].threshold = value
        else:
            bank.thresholds.append(BankThreshold(signal_type=name, threshold=value))


def check_bank_name(name: str) -> str:
    n = name.strip().lower()
    if not _BANK_NAME.fullmatch(n):
        raise InvalidInput(
            Msg(
                "A bank name is 2 to 100 characters of a-z, 0-9, '.', '_' or '-', "
                "starting with a letter or digit, e.g. 'tat-islamist'."
            ),
            field="name",
        )
    return n


def create_bank(
    session: Session,
    principal: Principal,
    name: str,
    *,
    description: str | None = None,
    kind: str = "own",
    source: str | None = None,
    shared: bool | None = None,
    allowlist: bool = False,
    thresholds: dict[str, int] | None = None,
    order_id: str | None = None,
    **legacy_thresholds: int | None,
) -> Bank:
    """A new bank of the caller's organisation. ``thresholds`` maps signal types to the largest
    distance that matches; ``pdq_threshold=`` and the other historic per-type fields still
    work. A type not given keeps its own default (not stored, so it is said in one place)."""
    principal.require(*WRITE_ROLES)
    wanted = _requested_thresholds(thresholds, legacy_thresholds)
    n = check_bank_name(name)
    try:
        k = BankKind(kind)
    except ValueError:
        raise InvalidInput(
            Msg("Unknown bank kind %(kind)r; use own, imported or order.", kind=kind),
            field="kind",
        ) from None
    if session.scalar(select(Bank.id).where(Bank.name == n)):
        raise Conflict(
            Msg("A bank named %(name)r already exists; choose another name.", name=n), field="name"
        )
    bank = Bank(
        name=n,
        owner_org_id=principal.org_id,
        kind=k,
        source=source,
        description=description,
        shared=principal.org_kind is OrgKind.REGULATOR if shared is None else shared,
        allowlist=allowlist,
        created_by=principal.actor,
    )
    _set_thresholds(bank, wanted)
    session.add(bank)
    session.flush()
    record(
        session,
        principal,
        "bank.created",
        "bank",
        bank.id,
        {
            "name": n,
            "kind": k.value,
            "shared": bank.shared,
            "allowlist": allowlist,
            "thresholds": wanted,
        },
    )
    return bank


def visible_banks(session: Session, principal: Principal) -> list[Bank]:
    principal.require(*READ_ROLES)
    return list(
        session.scalars(
            select(Bank)
            .where(or_(Bank.shared.is_(True), Bank.owner_org_id == principal.org_id))
            .order_by(Bank.name)
        )
    )


def get_bank(session: Session, principal: Principal, name: str, *, write: bool = False) -> Bank:
    bank = session.scalar(select(Bank).where(Bank.name == name.strip().lower()))
    if bank is None or (not bank.shared and bank.owner_org_id != principal.org_id):
        raise NotFound(Msg("No bank named %(name)r that your organisation can see.", name=name))
    if write:
        principal.require(*WRITE_ROLES)
        if bank.owner_org_id != principal.org_id:
            raise Forbidden(
                Msg(
                    "The bank %(name)s belongs to another organisation; only its "
                    "owner adds or removes content.",
                    name=bank.name,
                )
            )
    else:
        principal.require(*READ_ROLES)
    return bank


def update_bank(
    session: Session,
    principal: Principal,
    name: str,
    *,
    thresholds: dict[str, int] | None = None,
    **changes: Any,
) -> Bank:
    """Change a bank's switches and thresholds (``None`` leaves a setting as it is)."""
    bank = get_bank(session, principal, name, write=True)
    allowed = {"enabled", "allowlist", "shared", "description"}
    fields = threshold_fields()
    wanted = _requested_thresholds(thresholds, {k: v for k, v in changes.items() if k in fields})
    applied: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None or key in fields:
            continue
        if key not in allowed:
            raise InvalidInput(Msg("%(key)s cannot be changed.", key=key), field=key)
        setattr(bank, key, value)
        applied[key] = value
    _set_thresholds(bank, wanted)
    if wanted:
        applied["thresholds"] = wanted
    session.flush()
    record(session, principal, "bank.updated", "bank", bank.id, {"name": bank.name, **applied})
    return bank


def _counts_by(session: Session, key: Any, sub: Any, keys: Sequence[Any]) -> dict[Any, Any]:
    """``{key: {sub: count}}`` for the rows whose ``key`` is in ``keys``."""
    if not keys:
        return {}
    rows = session.execute(
        select(key, sub, func.count()).where(key.in_(keys)).group_by(key, sub)
    ).all()
    out: dict[Any, dict[str, int]] = {}
    for k, s, n in rows:
        out.setdefault(k, {})[s] = n
    return out


def bank_stats(session: Session, bank_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Content counts per signal type of each bank."""
    return _counts_by(session, BankContent.bank_id, BankContent.signal_type, bank_ids)


def bank_dict(bank: Bank, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """A bank as the API shows it: ``thresholds`` for every type, and the historic per-type
    fields (``pdq_threshold``, ``text_threshold``) as views of the same values."""
    thresholds = thresholds_of(bank)
    return {
        "id": bank.id,
        "name": bank.name,
        "kind": bank.kind.value,
        "source": bank.source,
        "description": bank.description,
        "shared": bank.shared,
        "enabled": bank.enabled,
        "allowlist": bank.allowlist,
        **{field: thresholds[name] for field, name in threshold_fields().items()},
        "thresholds": thresholds,
        "owner_org_id": bank.owner_org_id,
        "created_at": bank.created_at.isoformat(),
        "content": counts or {},
    }


# ---------------------------------------------------------------- content


@dataclass(frozen=True, slots=True)
class AddResult:
    added: list[BankContent]
    duplicates: int
    not_hashed: list[SignalResult] = field(default_factory=list)


def _add_signals(
    session: Session,
    principal: Principal,
    bank: Bank,
    items: Iterable[tuple[str, str]],
    *,
    label: str | None = None,
    source_ref: str | None = None,
    order_id: str | None = None,
    evidence_id: str | None = None,
) -> tuple[list[BankContent], int]:
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
    rows, dup = _add_signals(session, principal, bank, [(st.name, value)], label=label)
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
    rows, dup = _add_signals(
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


# ---------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class Query:
    signal_type: str
    signal: str


def _candidates(session: Session, idx: BankIndexes, q: Query) -> list[tuple[int, int]]:
    """(content id, distance) of stored signals near one query signal: from the type's index,
    searched at the largest threshold the type allows (each bank's own is applied after), or
    from the indexed column for exact types."""
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
        return [(i, 0) for i in ids]
    return [(m.id, m.distance) for m in index.search(q.signal, st.max_threshold)]


def match(
    session: Session,
    principal: Principal,
    idx: BankIndexes,
    queries: Sequence[Query],
    *,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Matches of every query signal in the banks the caller may see, enabled banks only,
    each bank's own threshold applied; allow-list matches suppress the others."""
    principal.require(*READ_ROLES)
    idx.sync(session)
    found: list[tuple[Query, BankContent, int]] = []
    for q in queries:
        started = time.perf_counter()
        _match_one(session, principal, idx, q, found)
        MATCH_SECONDS.labels(q.signal_type).observe(time.perf_counter() - started)
    return _present(session, found, limit)


def _match_one(
    session: Session,
    principal: Principal,
    idx: BankIndexes,
    q: Query,
    found: list[tuple[Query, BankContent, int]],
) -> None:
    """Append ``q``'s matches over the banks the caller may see to ``found``."""
    cands = _candidates(session, idx, q)
    if cands:
        dist = dict(cands)
        rows = session.execute(
            select(BankContent, Bank)
            .join(Bank)
            .where(
                BankContent.id.in_(list(dist)),
                Bank.enabled.is_(True),
                or_(Bank.shared.is_(True), Bank.owner_org_id == principal.org_id),
            )
        ).all()
        for content, bank in rows:
            d = dist[content.id]
            if d <= thresholds_of(bank)[content.signal_type]:
                found.append((q, content, d))


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
    feedback = _feedback_counts(session, [c.id for _, c, _ in found])
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


def _feedback_counts(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    """Verdicts given so far on each matched content row."""
    return _counts_by(session, MatchFeedback.content_id, MatchFeedback.verdict, ids)


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


def give_feedback(
    session: Session,
    principal: Principal,
    content_id: int,
    verdict: str,
    *,
    query_signal: str | None = None,
    note: str | None = None,
) -> MatchFeedback:
    principal.require(*READ_ROLES)
    if verdict not in ("confirmed", "false_positive"):
        raise InvalidInput(Msg("verdict is 'confirmed' or 'false_positive'."), field="verdict")
    row = session.execute(
        select(BankContent, Bank).join(Bank).where(BankContent.id == content_id)
    ).first()
    if row is None or (not row[1].shared and row[1].owner_org_id != principal.org_id):
        raise NotFound(Msg("No bank content %(id)s that your organisation can see.", id=content_id))
    fb = MatchFeedback(
        content_id=content_id,
        org_id=principal.org_id,
        verdict=verdict,
        query_signal=query_signal,
        note=note,
        given_by=principal.actor,
    )
    session.add(fb)
    session.flush()
    record(
        session,
        principal,
        "bank.match_feedback",
        "bank",
        row[1].id,
        {"content_id": content_id, "verdict": verdict, "note": note},
    )
    return fb


# ---------------------------------------------------------------- orders


@dataclass(frozen=True, slots=True)
class EvidenceBanked:
    """What putting an order's evidence into a bank did. The API answers :meth:`as_dict`; the
    console words the same result in its reader's language (``not_hashed`` keeps each
    reason's :class:`~tangkal.errors.Msg`)."""

    added: list[BankContent]
    duplicates: int
    not_hashed: list[SignalResult]
    linked_orders: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": [content_dict(c) for c in self.added],
            "duplicates": self.duplicates,
            "not_hashed": [
                {"signal_type": r.signal_type, "reason": r.reason} for r in self.not_hashed
            ],
            "linked_orders": self.linked_orders,
        }


def bank_order_evidence(
    session: Session,
    principal: Principal,
    idx: BankIndexes,
    order_id: str,
    evidence_id: str,
    bank_name: str,
) -> EvidenceBanked:
    """Put an order's evidence into a bank, and link the order to every earlier order whose
    banked content it matches, so both orders show the other among related orders."""
    from tangkal.orders.models import Evidence, LocatorKey
    from tangkal.orders.services import get_order

    principal.require(Role.ANALYST, Role.OFFICIAL)
    order = get_order(session, principal, order_id)
    ev = session.get(Evidence, evidence_id)
    if ev is None or ev.order_id != order.id:
        raise NotFound(
            Msg("No evidence %(id)s on order %(ref)s.", id=evidence_id, ref=order.reference)
        )
    result = add_file(
        session,
        principal,
        bank_name,
        ev.content,
        filename=ev.filename,
        order_id=order.id,
        evidence_id=ev.id,
        label=order.reference,
    )
    queries = [Query(r.signal_type, r.signal) for r in hash_content(ev.content) if r.signal]
    matches = match(session, principal, idx, queries)
    keys = {f"content:{c.id}" for c in result.added}
    linked = sorted({m["order_id"] for m in matches if m["order_id"] and m["order_id"] != order.id})
    keys |= {f"content:{m['content_id']}" for m in matches if m["order_id"] in linked}
    have = set(session.scalars(select(LocatorKey.key).where(LocatorKey.order_id == order.id)))
    session.add_all(LocatorKey(order_id=order.id, key=k, primary=False) for k in keys - have)
    session.flush()
    record(
        session,
        principal,
        "order.evidence_banked",
        "order",
        order.id,
        {
            "evidence_id": ev.id,
            "bank": bank_name,
            "content_ids": [c.id for c in result.added],
            "linked_orders": linked,
        },
    )
    return EvidenceBanked(result.added, result.duplicates, result.not_hashed, linked)


def note_order_matches(
    session: Session, principal: Principal, matches: list[dict[str, Any]]
) -> None:
    """An upload that matched an order's banked evidence is put on that order's record, so the
    regulator sees who found a copy, and when."""
    for order_id in sorted({m["order_id"] for m in matches if m.get("order_id")}):
        hits = [m for m in matches if m.get("order_id") == order_id]
        record(
            session,
            principal,
            "order.copy_matched",
            "order",
            order_id,
            {
                "by_org": principal.org_name,
                "matches": [
                    {
                        "content_id": m["content_id"],
                        "signal_type": m["signal_type"],
                        "distance": m["distance"],
                    }
                    for m in hits
                ],
            },
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
