"""Bulk import of a list of names (one per line, or CSV), all or nothing.

National lists run to millions of lines, so this path avoids per-row round trips: the rails
are evaluated in memory against the (small) protected list and platform-domain table,
existing entries are looked up in batches, rows are inserted with executemany, and the zone
is published in a few large change sets. Every line is validated before anything is written;
one bad line means nothing is written and every bad line is reported with its number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization, PlatformDomain, Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import flush_pending, record
from tangkal.blocklist.models import (
    OPEN_STATUSES,
    BlockAction,
    BlockEntry,
    BlockStatus,
    ProtectedName,
    reverse_name,
)
from tangkal.blocklist.publishing import publish
from tangkal.blocklist.rails import NORMALISATION_REFUSAL_AFTER, label_suffixes
from tangkal.blocklist.services import (
    MAX_CATEGORY,
    MAX_LEGAL_BASIS,
    MAX_ORDER_ID,
    MAX_REASON,
    OBJECT_TYPE,
    _require_regulator,
    parse_action,
    principal_key,
)
from tangkal.db.base import new_id, utcnow
from tangkal.db.bulk import insert_rows, one_of_chunks
from tangkal.errors import TangkalError
from tangkal.locators import Domain

INSERT_CHUNK = 5000
PUBLISH_CHUNK = 20_000
AUDIT_CHUNK = 1000
COLUMNS = ("domain", "action", "legal_basis", "reason", "category", "order_id")

Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    domain: str
    action: BlockAction
    legal_basis: str
    reason: str
    category: str | None
    order_id: str | None


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    text: str
    message: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    import_id: str
    total: int
    active: int
    pending: int
    serials: tuple[int, ...]


def _records(lines: Iterable[str]) -> Iterable[tuple[int, list[str]]]:
    """(line number, fields) for each non-blank, non-comment line; CSV when it has commas."""
    header: list[str] | None = None
    for number, raw in enumerate(lines, start=1):
        text = raw.strip().lstrip("\ufeff")
        if not text or text.startswith("#"):
            continue
        fields = next(csv.reader(io.StringIO(text))) if "," in text or '"' in text else [text]
        fields = [f.strip() for f in fields]
        if header is None and fields and fields[0].lower() == "domain":
            header = [f.lower() for f in fields]
            unknown = [f for f in header if f not in COLUMNS]
            if unknown:
                yield number, ["\0header", ", ".join(unknown)]
            continue
        if header is not None:
            mapped = dict(zip(header, fields, strict=False))
            yield number, [mapped.get(c, "") for c in COLUMNS]
        else:
            yield number, fields


def parse_lines(
    lines: Iterable[str],
    *,
    action: str | None = None,
    legal_basis: str | None = None,
    reason: str | None = None,
    category: str | None = None,
    order_id: str | None = None,
    progress: Progress | None = None,
) -> tuple[list[ImportRow], list[LineError]]:
    """Validate every line; values missing from a line come from the keyword defaults."""
    rows: list[ImportRow] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    for number, fields in _records(lines):
        if progress is not None and number % 1000 == 0:
            progress("validate", 1000)
        if fields[0] == "\0header":
            errors.append(
                LineError(
                    number, "", f"unknown CSV column(s): {fields[1]}; known: " + ", ".join(COLUMNS)
                )
            )
            continue
        fields = (fields + [""] * len(COLUMNS))[: len(COLUMNS)]
        text = fields[0]
        try:
            if len(fields) > len(COLUMNS):
                raise ValueError("too many columns")
            d = Domain.parse(text)
            act = parse_action(fields[1] or action or BlockAction.NXDOMAIN)
            basis = (fields[2] or legal_basis or "").strip()
            why = (fields[3] or reason or "").strip()
            cat = (fields[4] or category or "").strip().lower() or None
            oid = (fields[5] or order_id or "").strip() or None
            if not basis or len(basis) > MAX_LEGAL_BASIS:
                raise ValueError(
                    f"a legal basis of 1 to {MAX_LEGAL_BASIS} characters is "
                    "required (column legal_basis or --legal-basis)"
                )
            if not why or len(why) > MAX_REASON:
                raise ValueError(
                    f"a reason of 1 to {MAX_REASON} characters is required "
                    "(column reason or --reason)"
                )
            if cat is not None and len(cat) > MAX_CATEGORY:
                raise ValueError(f"category longer than {MAX_CATEGORY} characters")
            if oid is not None and len(oid) > MAX_ORDER_ID:
                raise ValueError(f"order_id longer than {MAX_ORDER_ID} characters")
        except TangkalError as exc:
            errors.append(LineError(number, text, exc.message))
            continue
        except ValueError as exc:
            errors.append(LineError(number, text, str(exc)))
            continue
        first = seen.get(d.name)
        if first is not None:
            errors.append(LineError(number, text, f"{d.name} is already on line {first}"))
            continue
        seen[d.name] = number
        rows.append(ImportRow(number, d.name, act, basis, why, cat, oid))
    return rows, errors


def check_against_database(session: Session, rows: list[ImportRow]) -> list[LineError]:
    """Names that already have an open entry cannot be imported again."""
    errors: list[LineError] = []
    by_name = {r.domain: r for r in rows}
    for _, among in one_of_chunks(session, BlockEntry.domain, list(by_name)):
        for name, entry_id, status in session.execute(
            select(BlockEntry.domain, BlockEntry.id, BlockEntry.status).where(
                among, BlockEntry.status.in_(OPEN_STATUSES)
            )
        ):
            r = by_name[name]
            errors.append(
                LineError(
                    r.line, name, f"{name} already has block entry {entry_id} ({status.value})"
                )
            )
    return sorted(errors, key=lambda e: e.line)


class _Rails:
    """The protected list and platform domains, in memory, for checking many names fast."""

    def __init__(self, session: Session) -> None:
        self.protected: dict[str, str] = dict(
            session.execute(select(ProtectedName.name, ProtectedName.note)).all()
        )
        self.platforms: dict[str, str] = dict(
            session.execute(
                select(PlatformDomain.name, Organization.name).join(
                    Organization, Organization.id == PlatformDomain.org_id
                )
            ).all()
        )
        # Every proper parent of a flagged name -> the flagged names beneath it.
        self.beneath: dict[str, list[str]] = {}
        for flagged in (*self.protected, *self.platforms):
            for parent in label_suffixes(flagged)[1:]:
                self.beneath.setdefault(parent, []).append(flagged)

    def reasons(self, name: str) -> list[str]:
        found: list[str] = []
        touched = [*label_suffixes(name), *self.beneath.get(name, [])]
        for n in touched:
            if n in self.platforms:
                found.append(
                    f"touches {n}, registered domain of the platform "
                    f"{self.platforms[n]} (whole-service block)"
                )
            if n in self.protected:
                found.append(f"touches the protected name {n} ({self.protected[n]})")
        return found


def _previous_counts(session: Session, names: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, among in one_of_chunks(session, BlockEntry.domain, names):
        counts.update(
            (name, int(n))
            for name, n in session.execute(
                select(BlockEntry.domain, func.count())
                .where(among, BlockEntry.activated_at.is_not(None))
                .group_by(BlockEntry.domain)
            ).all()
        )
    return counts


def apply_import(
    session: Session,
    principal: Principal,
    rows: list[ImportRow],
    *,
    source: str = "import",
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Write validated rows. An official's rows take effect at once except those the rails
    flag, which wait for a second official; an analyst's rows all wait for approval."""
    _require_regulator(principal, Role.OFFICIAL, Role.ANALYST)
    now = now or utcnow()
    import_id = new_id()
    rails = _Rails(session)
    previous = _previous_counts(session, [r.domain for r in rows])
    by_official = principal.role is Role.OFFICIAL
    key = principal_key(principal)
    org_id = None if principal.org_id == "system" else principal.org_id
    table = cast(Table, BlockEntry.__table__)
    serials: list[int] = []
    active = part = 0
    # One chunk at a time is built, written, published and put on the record, then dropped:
    # a national list runs to millions of names, and holding every row's values at once
    # (about 2.5 KB each) would take gigabytes.
    for start in range(0, len(rows), PUBLISH_CHUNK):
        values = [
            _entry_values(
                r,
                rails.reasons(r.domain),
                previous.get(r.domain, 0),
                by_official=by_official,
                actor=principal.actor,
                key=key,
                org_id=org_id,
                now=now,
                source=source,
                import_id=import_id,
            )
            for r in rows[start : start + PUBLISH_CHUNK]
        ]
        for i in range(0, len(values), INSERT_CHUNK):
            # Core rows (one COPY per chunk on PostgreSQL): the ORM's bulk path costs
            # several times more per row, and these rows need no identity map.
            insert_rows(session, table, values[i : i + INSERT_CHUNK])
            if progress is not None:
                progress("insert", len(values[i : i + INSERT_CHUNK]))
        live = [(v["domain"], v["action"]) for v in values if v["status"] is BlockStatus.ACTIVE]
        active += len(live)
        serial = publish(session, live, reason=f"import {import_id} ({source})")
        if serial is not None:
            serials.append(serial)
        if progress is not None:
            progress("publish", len(values))
        for i in range(0, len(values), AUDIT_CHUNK):
            chunk = values[i : i + AUDIT_CHUNK]
            part += 1
            record(
                session,
                principal,
                "block.imported",
                OBJECT_TYPE + "_import",
                import_id,
                {
                    "source": source,
                    "part": part,
                    "serial": serial
                    if any(v["status"] is BlockStatus.ACTIVE for v in chunk)
                    else None,
                    "entries": [[v["id"], v["domain"], v["status"].value] for v in chunk],
                },
            )
        # Chain and write this chunk's events now rather than all at commit: they name every
        # entry, and a million of them held until then took hundreds of megabytes.
        flush_pending(session)
    return ImportResult(import_id, len(rows), active, len(rows) - active, tuple(serials))


def _entry_values(
    r: ImportRow,
    flags: list[str],
    prev: int,
    *,
    by_official: bool,
    actor: str,
    key: str,
    org_id: str | None,
    now: datetime,
    source: str,
    import_id: str,
) -> dict[str, Any]:
    """One block entry's columns. An official's name takes effect at once unless the rails
    flag it; then, and for every analyst's name, it waits for approval."""
    active = by_official and not flags
    return {
        "id": new_id(),
        "domain": r.domain,
        "rname": reverse_name(r.domain),
        "action": r.action,
        "status": BlockStatus.ACTIVE if active else BlockStatus.PENDING_APPROVAL,
        "legal_basis": r.legal_basis,
        "reason": r.reason,
        "category": r.category,
        "order_id": r.order_id,
        "requested_by": actor,
        "requested_by_key": key,
        "requested_by_org_id": org_id,
        "requested_at": now,
        "needs_second_approval": bool(flags),
        "approval_note": ("; ".join(flags) + "; a second official must approve.")
        if flags
        else None,
        "first_approved_by": actor if by_official else None,
        "first_approver_key": key if by_official else None,
        "first_approved_at": now if by_official else None,
        "effective_at": now,
        "activated_at": now if active else None,
        "previous_blocks": prev,
        "assessment": {
            "domain": r.domain,
            "source": source,
            "import_id": import_id,
            "needs_second_approval": bool(flags),
            "reasons": flags,
            "previous_blocks": prev,
            "normalisation_may_be_refused": prev >= NORMALISATION_REFUSAL_AFTER,
        },
    }
