"""The public export of statements of reasons: the platforms' answers to orders and the
regulator's own decisions, in the DSA Transparency Database's fields and values.

No regulator publishes its own decisions this way; tangkal does, so one reader (or one
script written for the DSA database) can compare what platforms did with what the state did.
How each decision of the regulator becomes a DSA statement is ``_block``, ``_sanction`` and
``_refusal`` below (with ``_Reader._regulator_rows``, what they have in common), and
docs/statements.md says it in prose.

What is published is what the DSA database publishes of a statement (its CSV's columns), and
no more: never who in the regulator or the platform wrote, approved or asked (people's names,
contact addresses, the words of someone who asked to restore access), never the ``puid``
(the database keeps it private too). A kept statement that the rules refuse (one stored before
they were checked, say) is left out and counted in ``skipped``, so the export only ever holds
statements that database would take.

Paging is by key (the moment of the decision, then its id), over every kind at once: each
kind is read from the cursor on with the page's limit, the kinds are merged in time order and
the page cut at the limit, so a page costs a bounded read whatever the number of statements.
What a statement needs besides its own row (the organisations, a sanction's names and
orders, a refused restoration's block) is read once for the whole page, so a page is a fixed
number of queries, the same for 10 statements as for 1,000.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Final, TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import InstrumentedAttribute

from tangkal.accounts.models import Organization
from tangkal.blocklist.models import BlockAction, BlockEntry
from tangkal.errors import InvalidInput, Msg
from tangkal.normalisation.models import Normalisation, NormalisationStatus
from tangkal.orders.models import Order, OrderResponse, ResponseAction
from tangkal.sanctions.models import Sanction, SanctionOrder
from tangkal.statements import dsa, fill

#: Who decided: a platform answering an order, or the regulator itself.
KINDS: Final = ("platform_response", "block", "sanction", "normalisation_refusal")
MAX_LIMIT: Final = 1000

_Row = TypeVar("_Row", OrderResponse, BlockEntry, Sanction, Normalisation)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the moment of its last statement and that statement's id."""

    at: datetime
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat(), self.id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            at, ident = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is None or not isinstance(ident, str):
                raise ValueError(text)
        except (ValueError, TypeError, json.JSONDecodeError):
            raise InvalidInput(
                Msg("The cursor is not one this export gave; start again without it."),
                field="cursor",
            ) from None
        return cls(moment, ident)


@dataclass(frozen=True)
class Exported:
    """One statement of the export: its place in time and its DSA row."""

    at: datetime
    id: str
    row: dict[str, Any]


def _dsa_time(moment: datetime) -> str:
    """``created_at`` as the database writes it (``Y-m-d H:i:s``, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _day(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).date().isoformat() if moment else None


def _repair(data: dict[str, Any]) -> dict[str, Any]:
    """What a statement kept before the rules were checked may carry that they refuse, and
    that was tangkal's own filling: a territorial scope outside the EEA (Indonesia's ``ID``)
    and the order's texts uncut. Anything else refused stays refused (the row is skipped)."""
    out = dict(data)
    scope = [c for c in out.get("territorial_scope") or [] if c in dsa.EEA_COUNTRIES]
    if scope:
        out["territorial_scope"] = scope
    else:
        out.pop("territorial_scope", None)
    for name in ("illegal_content_legal_ground", "illegal_content_explanation"):
        if isinstance(out.get(name), str):
            out[name] = dsa.shorten(out[name], name)
    return out


def _row(
    statement: dsa.DsaStatement, *, uuid: str, kind: str, by: Organization | None, at: datetime
) -> dict[str, Any]:
    """The published row: the DSA's columns (``puid`` left out, as the database does) and
    what this statement is in tangkal (``kind``)."""
    data = statement.model_dump(mode="json", exclude_none=True)
    data.pop("puid", None)
    return {
        "uuid": uuid,
        **data,
        "platform_name": by.name if by else "",
        "platform_uid": by.id if by else "",
        "created_at": _dsa_time(at),
        "kind": kind,
    }


@dataclass(frozen=True)
class _Decision:
    """One decision of the regulator, as every kind gives it to
    :meth:`_Reader._regulator_rows`: the DSA ``fields`` of what was decided (visibility or
    provision, and its end), the rest the same for every kind."""

    kind: str
    id: str
    reference: str  # the puid is made from it
    by_org_id: str | None
    fields: dict[str, Any]
    legal_basis: str
    reason: str
    facts: str
    category: str | None
    content: str
    started: datetime
    applied: datetime


def _checked(data: dict[str, Any]) -> dsa.DsaStatement | None:
    try:
        return dsa.check(data)
    except dsa.StatementRefused:
        return None


class _Reader:
    """Reads one page of every kind from the cursor on, within the date range."""

    def __init__(
        self,
        session: Session,
        *,
        since: date | None,
        until: date | None,
        after: Cursor | None,
        limit: int,
        jurisdiction: str | None,
        profile_jurisdiction: Callable[[str], str | None],
    ) -> None:
        self.session, self.after, self.limit = session, after, limit
        self.low = datetime.combine(since, time.min, UTC) if since else None
        self.high = datetime.combine(until, time.max, UTC) if until else None
        self.jurisdiction = jurisdiction
        self.profile_jurisdiction = profile_jurisdiction
        self.skipped = 0
        self._orgs: dict[str, Organization | None] = {}

    def load_orgs(self, org_ids: Iterable[str | None]) -> None:
        """Read the organisations a page names that are not read yet, in one query (not
        one per statement)."""
        missing = {i for i in org_ids if i and i not in self._orgs}
        if not missing:
            return
        found = {
            o.id: o
            for o in self.session.scalars(select(Organization).where(Organization.id.in_(missing)))
        }
        for i in missing:
            self._orgs[i] = found.get(i)

    def org(self, org_id: str | None) -> Organization | None:
        if not org_id:
            return None
        if org_id not in self._orgs:
            self.load_orgs([org_id])
        return self._orgs[org_id]

    def _window(self, at: InstrumentedAttribute[Any], ident: InstrumentedAttribute[Any]) -> Any:
        conds: list[Any] = [at.is_not(None)]
        if self.low is not None:
            conds.append(at >= self.low)
        if self.high is not None:
            conds.append(at <= self.high)
        if self.after is not None:
            conds.append(or_(at > self.after.at, and_(at == self.after.at, ident > self.after.id)))
        return and_(*conds)

    def _rows(
        self,
        model: type[_Row],
        at: InstrumentedAttribute[Any],
        ident: InstrumentedAttribute[Any],
        *where: Any,
    ) -> Select[_Row]:
        """One kind's rows of the page: in the window and after the cursor, in key order, at
        most the page's limit."""
        return (
            select(model)
            .where(self._window(at, ident), *where)
            .order_by(at, ident)
            .limit(self.limit)
        )

    def responses(self) -> Iterable[Exported]:
        q = (
            self._rows(
                OrderResponse,
                OrderResponse.created_at,
                OrderResponse.id,
                OrderResponse.action != ResponseAction.NOT_DONE,
            )
            .join(Order, Order.id == OrderResponse.order_id)
            .options(
                selectinload(OrderResponse.order).selectinload(Order.evidence),
                selectinload(OrderResponse.order).selectinload(Order.responses),
            )
        )
        rows = list(self.session.scalars(q))
        self.load_orgs(o for r in rows for o in (r.order.regulator_org_id, r.order.platform_org_id))
        for r in rows:
            order = r.order
            regulator = self.org(order.regulator_org_id)
            number = 1 + [x.id for x in order.responses].index(r.id)
            known = fill.defaults(
                action=r.action.value,
                legal_basis=order.legal_basis,
                reason=order.reason,
                category=order.category,
                media_types=[e.content_type for e in order.evidence],
                issued_on=order.issued_at.astimezone(UTC).date(),
                answered_on=r.created_at.astimezone(UTC).date(),
                jurisdiction=self.profile_jurisdiction(order.sop_profile),
                regulator=regulator.name if regulator else None,
                reference=order.reference,
                number=number,
            )
            given = fill.as_dsa(r.statement)
            st = _checked(_repair(fill.merge(given, known)))
            if st is None:
                self.skipped += 1
                continue
            by = self.org(order.platform_org_id)
            row = _row(st, uuid=r.id, kind="platform_response", by=by, at=r.created_at)
            yield Exported(r.created_at, r.id, row)

    def _regulator_rows(self, decisions: Iterable[_Decision]) -> Iterable[Exported]:
        """The regulator's decisions as DSA statements: the same fields for every kind, what
        the kind decided in ``decision.fields``; one the rules refuse is counted, not
        published."""
        for d in decisions:
            main, keywords = fill.category_of(d.category)
            data: dict[str, Any] = {
                **d.fields,
                "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
                "illegal_content_legal_ground": dsa.shorten(
                    d.legal_basis, "illegal_content_legal_ground"
                )
                or "-",
                "illegal_content_explanation": dsa.shorten(d.reason, "illegal_content_explanation")
                or "-",
                "category": main,
                "category_specification": keywords or None,
                "content_type": ["CONTENT_TYPE_OTHER"],
                "content_type_other": d.content,
                "content_date": _day(d.started),
                "application_date": _day(d.applied),
                "decision_facts": dsa.shorten(d.facts, "decision_facts"),
                "territorial_scope": fill.territorial_scope(self.jurisdiction),
                "source_type": "SOURCE_VOLUNTARY",
                "automated_detection": "No",
                "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
                "puid": fill.puid(d.reference, 1),
            }
            st = _checked(data)
            if st is None:
                self.skipped += 1
                continue
            by = self.org(d.by_org_id)
            row = _row(st, uuid=d.id, kind=d.kind, by=by, at=d.applied)
            yield Exported(d.applied, d.id, row)

    def blocks(self) -> Iterable[Exported]:
        q = self._rows(
            BlockEntry,
            BlockEntry.activated_at,
            BlockEntry.id,
            BlockEntry.sanction_id.is_(None),
            BlockEntry.action != BlockAction.PASSTHRU,
        )
        rows = list(self.session.scalars(q))
        self.load_orgs(b.requested_by_org_id for b in rows)
        return self._regulator_rows(self._block(b) for b in rows)

    @staticmethod
    def _block(b: BlockEntry) -> _Decision:
        assert b.activated_at is not None
        ended = b.restored_at or b.expired_at or b.expires_at
        return _Decision(
            kind="block",
            id=b.id,
            reference=b.id,
            by_org_id=b.requested_by_org_id,
            fields={
                "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"],
                "end_date_visibility_restriction": _day(ended),
            },
            legal_basis=b.legal_basis,
            reason=b.reason,
            facts=(
                f"Access to the domain name {b.domain} and its subdomains blocked at the "
                f"ISPs' DNS resolvers through the response policy zone "
                f"(answer: {b.action.value})."
            ),
            category=b.category,
            content="Domain name (DNS blocking)",
            started=b.requested_at,
            applied=b.activated_at,
        )

    def sanctions(self) -> Iterable[Exported]:
        q = self._rows(Sanction, Sanction.activated_at, Sanction.id)
        rows = list(self.session.scalars(q))
        if not rows:
            return ()
        ids = [s.id for s in rows]
        # Two reads for the whole page, not two per sanction: its names, and the categories
        # of the orders it answers (in order id order; the first is the statement's).
        names: dict[str, list[str]] = {i: [] for i in ids}
        for sanction_id, domain in self.session.execute(
            select(BlockEntry.sanction_id, BlockEntry.domain)
            .where(BlockEntry.sanction_id.in_(ids))
            .order_by(BlockEntry.sanction_id, BlockEntry.domain)
        ):
            names[str(sanction_id)].append(domain)
        categories: dict[str, list[str]] = {i: [] for i in ids}
        for sanction_id, category in self.session.execute(
            select(SanctionOrder.sanction_id, Order.category)
            .join(Order, Order.id == SanctionOrder.order_id)
            .where(SanctionOrder.sanction_id.in_(ids))
            .order_by(SanctionOrder.sanction_id, SanctionOrder.order_id)
        ):
            categories[sanction_id].append(category)
        self.load_orgs(o for s in rows for o in (s.platform_org_id, s.regulator_org_id))
        return self._regulator_rows(self._sanction(s, names[s.id], categories[s.id]) for s in rows)

    def _sanction(self, s: Sanction, names: list[str], categories: list[str]) -> _Decision:
        assert s.activated_at is not None
        platform = self.org(s.platform_org_id)
        return _Decision(
            kind="sanction",
            id=s.id,
            reference=s.reference,
            by_org_id=s.regulator_org_id,
            fields={
                "decision_provision": "DECISION_PROVISION_TOTAL_SUSPENSION",
                "end_date_service_restriction": _day(s.ended_at),
            },
            legal_basis=s.legal_basis,
            reason=s.reason,
            facts=(
                f"Sanction {s.reference}: access to the service of "
                f"{platform.name if platform else 'the platform'} blocked at the ISPs' DNS "
                f"resolvers ({len(names)} domain names: {', '.join(names)}) after "
                f"{len(categories)} order(s) went unanswered."
            ),
            category=categories[0] if categories else None,
            content="Online service (all its registered domain names)",
            started=s.proposed_at,
            applied=s.activated_at,
        )

    def refusals(self) -> Iterable[Exported]:
        q = self._rows(
            Normalisation,
            Normalisation.decided_at,
            Normalisation.id,
            Normalisation.status == NormalisationStatus.REFUSED,
        )
        rows = list(self.session.scalars(q))
        # The first block of each request gives its legal basis and category: one read.
        firsts = {str(n.block_ids[0]) for n in rows if n.block_ids}
        blocks = (
            {
                b.id: b
                for b in self.session.scalars(select(BlockEntry).where(BlockEntry.id.in_(firsts)))
            }
            if firsts
            else {}
        )
        self.load_orgs(n.regulator_org_id for n in rows)
        return self._regulator_rows(
            self._refusal(n, blocks.get(str(n.block_ids[0])) if n.block_ids else None) for n in rows
        )

    @staticmethod
    def _refusal(n: Normalisation, first: BlockEntry | None) -> _Decision:
        assert n.decided_at is not None
        domains = ", ".join(str(d) for d in n.domains)
        return _Decision(
            kind="normalisation_refusal",
            id=n.id,
            reference=n.reference,
            by_org_id=n.regulator_org_id,
            fields={"decision_provision": "DECISION_PROVISION_TOTAL_SUSPENSION"},
            legal_basis=first.legal_basis if first else f"SOP profile {n.sop_profile}",
            reason=n.decision_reason or "",
            facts=(
                f"Request {n.reference} to restore access to {domains} refused; the block "
                f"stays in force."
            ),
            category=first.category if first else None,
            content="Domain name (DNS blocking)",
            started=n.requested_at,
            applied=n.decided_at,
        )


def page(
    session: Session,
    *,
    since: date | None = None,
    until: date | None = None,
    cursor: str | None = None,
    limit: int = 100,
    jurisdiction: str | None,
    profile_jurisdiction: Callable[[str], str | None],
) -> dict[str, Any]:
    """One page of the export, oldest first: ``items``, ``next_cursor`` (None on the last
    page), ``skipped`` and where the rules were read."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(Msg("limit is between 1 and %(max)s.", max=MAX_LIMIT), field="limit")
    if since and until and since > until:
        raise InvalidInput(Msg("since is after until."), field="since")
    after = Cursor.decode(cursor) if cursor else None
    reader = _Reader(
        session,
        since=since,
        until=until,
        after=after,
        limit=limit + 1,
        jurisdiction=jurisdiction,
        profile_jurisdiction=profile_jurisdiction,
    )
    found = [
        *reader.responses(),
        *reader.blocks(),
        *reader.sanctions(),
        *reader.refusals(),
    ]
    found.sort(key=lambda e: (e.at, e.id))
    items = found[:limit]
    more = len(found) > limit
    return {
        "items": [e.row for e in items],
        "next_cursor": Cursor(items[-1].at, items[-1].id).encode() if more and items else None,
        "skipped": reader.skipped,
        "dsa_db": {"repository": dsa.DSA_DB_REPOSITORY, "commit": dsa.DSA_DB_COMMIT},
    }


#: The CSV's columns: the DSA database's, in its order, then tangkal's ``kind``.
CSV_COLUMNS: Final = (*dsa.CSV_COLUMNS, "kind")


def to_csv(items: Iterable[dict[str, Any]]) -> str:
    """The rows as the database's CSV writes them: lists as JSON arrays, absent as empty."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for row in items:
        w.writerow(
            [
                json.dumps(v) if isinstance(v, list) else ("" if v is None else v)
                for v in (row.get(c) for c in CSV_COLUMNS)
            ]
        )
    return buf.getvalue()
