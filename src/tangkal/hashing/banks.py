"""Banks: creating, finding and changing them, their per-type thresholds, how the API shows one.

Who may do what: a bank belongs to one organisation, which alone changes it. A shared bank is
matched by everyone (the regulator's banks of reported propaganda, typically); a private bank
only by its owner.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import record
from tangkal.errors import Conflict, Forbidden, InvalidInput, Msg, NotFound
from tangkal.hashing import signals
from tangkal.hashing.models import Bank, BankContent, BankKind, BankThreshold

WRITE_ROLES = (Role.ANALYST, Role.OFFICIAL, Role.MODERATOR, Role.ADMIN)
READ_ROLES = (Role.ANALYST, Role.OFFICIAL, Role.MODERATOR, Role.ADMIN, Role.AUDITOR)
_BANK_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,99}")


def threshold_fields() -> dict[str, str]:
    """The bank API's historic per-type fields (``pdq_threshold``) and the type each is a view
    of, as the types declare them."""
    return {st.threshold_field: st.name for st in signals.REGISTRY if st.threshold_field}


def tunable_types() -> list[signals.SignalType]:
    """Types whose banks choose a threshold (exact types match only identical signals)."""
    return [st for st in signals.REGISTRY if not st.exact]


def rules_of(bank: Bank) -> dict[str, dict[str, int]]:
    """Every registered type's thresholds in this bank, by name: the bank's rows, else the
    type's defaults (:attr:`~tangkal.hashing.signals.SignalType.rules`)."""
    own: dict[str, dict[str, int]] = {}
    for t in bank.thresholds:
        own.setdefault(t.signal_type, {})[t.name] = t.threshold
    return {st.name: {**st.default_rules(), **own.get(st.name, {})} for st in signals.REGISTRY}


def thresholds_of(bank: Bank) -> dict[str, int]:
    """Every registered type's *first* threshold in this bank (the one its index is searched
    with): the bank API's ``thresholds`` map and historic per-type fields."""
    return {
        st.name: rules[st.rules[0].name]
        for st, rules in ((signals.get(n), r) for n, r in rules_of(bank).items())
    }


ThresholdsIn = dict[str, int | dict[str, int]]
"""What a caller sends: per signal type (or alias) the first threshold's value, or the
thresholds it changes by name (``{"vpdq": {"banked_share": 50}}``)."""


def _requested_thresholds(
    thresholds: ThresholdsIn | None, legacy: dict[str, int | None]
) -> dict[str, dict[str, int]]:
    """Thresholds asked for, by type and name, each checked against its type's rules: the
    ``thresholds`` map (any registered type or alias) and the historic per-type fields."""
    out: dict[str, dict[str, int]] = {}
    fields = threshold_fields()
    for key, value in legacy.items():
        if value is None:
            continue
        if key not in fields:
            raise InvalidInput(Msg("%(key)s cannot be changed.", key=key), field=key)
        st = signals.get(fields[key])
        out.setdefault(st.name, {})[st.rules[0].name] = st.check_threshold(value)
    for name, asked in (thresholds or {}).items():
        try:
            st = signals.get(name)
        except InvalidInput as e:  # said of the thresholds map, where the caller wrote it
            raise InvalidInput(e.msg, field="thresholds") from None
        if isinstance(asked, dict):
            out.setdefault(st.name, {}).update(st.check_rules(asked))
        else:
            out.setdefault(st.name, {})[st.rules[0].name] = st.check_threshold(asked)
    return out


def _set_thresholds(bank: Bank, values: dict[str, dict[str, int]]) -> None:
    rows = {(t.signal_type, t.name): t for t in bank.thresholds}
    for signal_type, named in values.items():
        for name, value in named.items():
            if (signal_type, name) in rows:
                rows[signal_type, name].threshold = value
            else:
                bank.thresholds.append(
                    BankThreshold(signal_type=signal_type, name=name, threshold=value)
                )


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
    thresholds: ThresholdsIn | None = None,
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
    thresholds: ThresholdsIn | None = None,
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


def counts_by(session: Session, key: Any, sub: Any, keys: Sequence[Any]) -> dict[Any, Any]:
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
    return counts_by(session, BankContent.bank_id, BankContent.signal_type, bank_ids)


def bank_dict(bank: Bank, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """A bank as the API shows it: ``threshold_rules`` (every type's thresholds by name),
    ``thresholds`` (each type's first), and the historic per-type fields (``pdq_threshold``,
    ``text_threshold``) as views of the same values."""
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
        "threshold_rules": rules_of(bank),
        "owner_org_id": bank.owner_org_id,
        "created_at": bank.created_at.isoformat(),
        "content": counts or {},
    }
