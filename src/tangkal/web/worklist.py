"""Orders as work: the inbox and the regulator's board sorted by time left, in urgency
bands, searched, filtered and paged by keyset.

Why a module of its own: the order in which a moderator sees orders *is* the feature (a
4-hour order must never sit below a 24-hour one), and the three pieces that make it, the
bands, the sort key and the cursor on that key, must agree with each other. The pure parts
(:func:`bands_for`, :func:`band_of`, :class:`Cursor`, :func:`parse_query`) are tested
without a database; :func:`read_page` turns them into one SQL statement per page.

The sort key of open orders is ``(clock paused, deadline_at, id)``: running clocks first,
soonest deadline first (overdue ones are simply the earliest), ties broken by id so the key
is unique and a page boundary is exact. Answered or closed orders are read on their own,
latest deadline first. Paging is by keyset on that key, never OFFSET: an order filed while
someone reads page 3 does not shift what page 4 shows, and reading page 20 of 1,000 costs
what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, ColumnElement, and_, case, false, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from tangkal.accounts.models import Organization, OrgKind
from tangkal.accounts.principal import Principal
from tangkal.errors import InvalidInput, Msg
from tangkal.orders.models import OPEN_STATUSES, Order, OrderLocator, OrderStatus
from tangkal.web.queries import visible_orders

PAGE_SIZE = 50
#: Whatever the profile's deadlines, "under an hour" is the band that means "now".
ACT_NOW = timedelta(hours=1)
MAX_SEARCH = 200

OPEN, CLOSED = "open", "closed"
VIEWS = (OPEN, CLOSED)
OVERDUE, PAUSED, LATER = "overdue", "paused", "later"
CLOSED_STATUSES = frozenset(OrderStatus) - OPEN_STATUSES


# ------------------------------------------------------------------ urgency bands


@dataclass(frozen=True, slots=True)
class Band:
    """Open orders whose time left is in ``[lower, upper)``; ``upper`` None is "later".
    The overdue band is ``(-inf, 0)``; the paused band holds stopped clocks."""

    key: str
    lower: timedelta | None
    upper: timedelta | None

    @property
    def label(self) -> Msg:
        if self.key == OVERDUE:
            return Msg("Overdue")
        if self.key == PAUSED:
            return Msg("Clock paused (waiting for the regulator's answer)")
        if self.upper is None:
            return Msg("More than %(span)s left", span=self.lower)
        return Msg("Less than %(span)s left", span=self.upper)


def _compact(span: timedelta) -> str:
    """``4h``, ``7d``, ``90m``: a band's key in a link, the way profiles write durations."""
    s = int(span.total_seconds())
    if s % 86400 == 0 and s >= 2 * 86400:
        return f"{s // 86400}d"
    if s % 3600 == 0:
        return f"{s // 3600}h"
    if s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"


def bands_for(deadlines: Iterable[timedelta]) -> tuple[Band, ...]:
    """The bands for a profile's deadline classes: overdue; under an hour; under each
    deadline (so a fresh order of a class starts in that class's band and moves up as its
    clock runs); more than the longest; and stopped clocks last.

    Indonesia (4 h, 24 h): overdue, < 1 h, < 4 h, < 1 day, more than 1 day, paused.
    EU TCO (1 h): overdue, < 1 h, more than 1 h, paused.
    """
    edges = sorted({ACT_NOW, *(d for d in deadlines if d > timedelta(0))})
    out = [Band(OVERDUE, None, timedelta(0))]
    lower = timedelta(0)
    for edge in edges:
        out.append(Band(f"lt{_compact(edge)}", lower, edge))
        lower = edge
    out.append(Band(LATER, lower, None))
    out.append(Band(PAUSED, None, None))
    return tuple(out)


def band_of(bands: Sequence[Band], deadline: datetime, paused: bool, now: datetime) -> Band:
    """The band an open order is in at ``now``."""
    by_key = {b.key: b for b in bands}
    if paused:
        return by_key[PAUSED]
    left = deadline - now
    for b in bands:
        if b.key == PAUSED:
            continue
        if (b.lower is None or left >= b.lower) and (b.upper is None or left < b.upper):
            return b
    return by_key[LATER]  # unreachable: the bands cover the whole line


def _band_clause(band: Band, now: datetime) -> ColumnElement[bool]:
    """The band as a range of ``deadline_at`` (running clocks only), for the filter and
    the counts."""
    if band.key == PAUSED:
        return Order.paused_at.is_not(None)
    parts: list[ColumnElement[bool]] = [Order.paused_at.is_(None)]
    if band.lower is not None:
        parts.append(Order.deadline_at >= now + band.lower)
    if band.upper is not None:
        parts.append(Order.deadline_at < now + band.upper)
    return and_(*parts)


def clock(seconds: float) -> str:
    """Time left as a ticking clock shows it, ``3:07:09`` or ``-0:00:41`` when late; the
    script in ``static/countdown.js`` writes the same every second."""
    whole = int(abs(seconds))
    hours, rest = divmod(whole, 3600)
    sign = "-" if seconds < 0 and whole else ""
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


# ------------------------------------------------------------------ the cursor


_ID = re.compile(r"[0-9a-f-]{1,36}\Z")


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position on the sort key: the last (or first) order of a page. Opaque in links
    (base64 of ``view|paused|deadline|id``) so nobody is tempted to edit it, and checked
    whole on the way back in: a damaged link is a message, never a 500."""

    view: str
    paused: bool
    deadline: datetime
    id: str

    def encode(self) -> str:
        raw = (
            f"{self.view}|{int(self.paused)}|{self.deadline.astimezone(UTC).isoformat()}|{self.id}"
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def of(cls, view: str, order: Order) -> Cursor:
        return cls(view, order.paused_at is not None, order.deadline_at, order.id)

    @classmethod
    def decode(cls, text: str, view: str, field_name: str) -> Cursor:
        bad = InvalidInput(
            Msg("This page link is damaged or out of date; start again from the first page."),
            field=field_name,
        )
        if len(text) > 200:
            raise bad
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            tag, paused, when, oid = raw.split("|")
            deadline = datetime.fromisoformat(when)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise bad from None
        if tag != view or paused not in ("0", "1") or deadline.tzinfo is None:
            raise bad
        if not _ID.match(oid):
            raise bad
        return cls(view, paused == "1", deadline.astimezone(UTC), oid)


def _after(c: Cursor, forward: bool) -> ColumnElement[bool]:
    """Rows strictly beyond ``c`` in reading direction (``forward``) or before it.

    Open orders read ascending on (paused, deadline, id); closed ones descending on
    (deadline, id). One row-value comparison on exactly the sort key (both backends have
    them), so that an index on the key can start at the cursor instead of reading, and
    filtering out, every entry before it. The bound values carry the columns' own types,
    so the deadline is bound as the aware UTC moment the column stores."""
    ascending = (c.view == OPEN) == forward
    key: list[Any] = [Order.deadline_at, Order.id]
    at: list[ColumnElement[Any]] = [
        literal(c.deadline, type_=Order.deadline_at.type),
        literal(c.id, type_=Order.id.type),
    ]
    if c.view == OPEN:
        key.insert(0, Order.paused_at.is_not(None))
        at.insert(0, literal(c.paused, type_=Boolean()))
    return tuple_(*key) > tuple_(*at) if ascending else tuple_(*key) < tuple_(*at)


def _order_by(view: str, forward: bool) -> list[Any]:
    cols: list[Any] = [Order.deadline_at, Order.id]
    if view == CLOSED:
        return [c.desc() for c in cols] if forward else [c.asc() for c in cols]
    # running clocks (false) before stopped ones (true), on both backends; written as the
    # bare comparison that ``ix_orders_platform_worklist`` and ``ix_orders_regulator_worklist``
    # (orders/models.py, migration 0013) are built on, so they serve the sort
    cols.insert(0, Order.paused_at.is_not(None))
    return [c.asc() for c in cols] if forward else [c.desc() for c in cols]


# ------------------------------------------------------------------ the query


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What the reader asked for, checked: every field is a known value or empty."""

    view: str = OPEN
    status: OrderStatus | None = None
    urgency: str = ""
    category: str = ""
    platform_id: str | None = None
    text: str = ""
    after: Cursor | None = None
    before: Cursor | None = None


def parse_query(
    *,
    show: str,
    status: str,
    urgency: str,
    category: str,
    platform: str,
    q: str,
    after: str,
    before: str,
    bands: Sequence[Band],
    categories: Iterable[str],
    platforms: dict[str, str],
) -> ListQuery:
    """The list's query string, checked at the edge; the first problem raises
    :class:`InvalidInput` naming its field. ``platforms`` maps the names a regulator may
    filter by to ids (empty for a platform, whose scope is its own orders anyway)."""
    view = show.strip() or OPEN
    if view not in VIEWS:
        raise InvalidInput(
            Msg("Unknown list %(value)r; use open or closed.", value=view), field="show"
        )
    st: OrderStatus | None = None
    if status.strip():
        try:
            st = OrderStatus(status.strip())
        except ValueError:
            known = ", ".join(s.value for s in OrderStatus)
            raise InvalidInput(
                Msg(
                    "Unknown status %(status)r; use one of: %(known)s.",
                    status=status.strip(),
                    known=known,
                ),
                field="status",
            ) from None
        view = OPEN if st in OPEN_STATUSES else CLOSED
    band = urgency.strip()
    if band:
        keys = [b.key for b in bands]
        if band not in keys:
            raise InvalidInput(
                Msg(
                    "Unknown urgency %(value)r; use one of: %(known)s.",
                    value=band,
                    known=", ".join(keys),
                ),
                field="urgency",
            )
        view = OPEN  # bands are about time left, which closed orders no longer have
    cat = category.strip()
    if cat and cat not in set(categories):
        raise InvalidInput(Msg("Unknown category %(value)r.", value=cat), field="category")
    platform_id = None
    if platform.strip():
        platform_id = platforms.get(platform.strip())
        if platform_id is None:
            raise InvalidInput(
                Msg("No organisation named %(name)r.", name=platform.strip()), field="platform"
            )
    text = q.strip()
    if len(text) > MAX_SEARCH:
        raise InvalidInput(Msg("Search for at most %(n)s characters.", n=MAX_SEARCH), field="q")
    if after and before:
        raise InvalidInput(
            Msg("This page link is damaged or out of date; start again from the first page."),
            field="after",
        )
    return ListQuery(
        view=view,
        status=st,
        urgency=band,
        category=cat,
        platform_id=platform_id,
        text=text,
        after=Cursor.decode(after, view, "after") if after else None,
        before=Cursor.decode(before, view, "before") if before else None,
    )


def search_fragments(text: str) -> tuple[str, str]:
    """What a search is matched as: the text itself (a reference, a platform, a URL as
    submitted) and the same without a scheme, ``www.`` or ``@`` (a locator's canonical
    form, ``t.me/channel/1``, ``example.com/path``)."""
    plain = text.strip().lower()
    bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", plain)
    bare = bare.removeprefix("www.").removeprefix("@")
    return plain, bare


def _search(principal: Principal, text: str) -> ColumnElement[bool]:
    """Reference, any locator (partial) and, for the regulator, the platform's name.
    Correlated EXISTS subqueries: each is tied to the outer order row, which the scope
    clause has already limited to the caller's own orders, so a search can only ever
    narrow what the caller sees."""
    plain, bare = search_fragments(text)
    loc = (
        select(OrderLocator.id)
        .where(
            OrderLocator.order_id == Order.id,
            or_(
                func.lower(OrderLocator.canonical).contains(bare, autoescape=True),
                func.lower(OrderLocator.display).contains(bare, autoescape=True),
                func.lower(OrderLocator.submitted).contains(plain, autoescape=True),
            ),
        )
        .correlate(Order)
        .exists()
    )
    parts: list[ColumnElement[bool]] = [
        func.lower(Order.reference).contains(plain, autoescape=True),
        loc,
    ]
    if principal.org_kind is OrgKind.REGULATOR:
        org = aliased(Organization)  # the page's statement joins Organization itself
        parts.append(
            select(org.id)
            .where(
                org.id == Order.platform_org_id,
                or_(
                    func.lower(org.name).contains(plain, autoescape=True),
                    func.lower(org.display_name).contains(plain, autoescape=True),
                ),
            )
            .correlate(Order)
            .exists()
        )
    return or_(*parts)


def _filters(principal: Principal, lq: ListQuery) -> list[ColumnElement[bool]]:
    """Scope, search, platform and category: everything but the view and the band."""
    where: list[ColumnElement[bool]] = [visible_orders(principal)]
    if lq.platform_id:
        where.append(Order.platform_org_id == lq.platform_id)
    if lq.category:
        where.append(Order.category == lq.category)
    if lq.text:
        where.append(_search(principal, lq.text))
    return where


def _view_clause(lq: ListQuery) -> ColumnElement[bool]:
    if lq.status is not None:
        return Order.status == lq.status
    statuses = OPEN_STATUSES if lq.view == OPEN else CLOSED_STATUSES
    return Order.status.in_(sorted(statuses))


@dataclass(frozen=True, slots=True)
class Row:
    order: Order
    platform: str
    items: int
    first_item: str | None


@dataclass
class ListPage:
    rows: list[Row]
    prev: Cursor | None = None
    next: Cursor | None = None
    counts: dict[str, int] = field(default_factory=dict)  # per band, open orders only


def read_page(
    session: Session,
    principal: Principal,
    lq: ListQuery,
    bands: Sequence[Band],
    now: datetime,
    page_size: int = PAGE_SIZE,
) -> ListPage:
    """One page of the list in two statements, whatever the number of orders: the rows
    (each with its platform's name, its number of items and its first item, as
    correlated subqueries rather than a load per row) and the band counts."""
    items = (
        select(func.count(OrderLocator.id))
        .where(OrderLocator.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery()
    )
    first = (
        select(OrderLocator.display)
        .where(OrderLocator.order_id == Order.id, OrderLocator.position == 0)
        .correlate(Order)
        .limit(1)
        .scalar_subquery()
    )
    where = [*_filters(principal, lq), _view_clause(lq)]
    if lq.urgency:
        where.append(_band_clause(next(b for b in bands if b.key == lq.urgency), now))
    forward = lq.before is None
    cursor = lq.after or lq.before
    if cursor is not None:
        where.append(_after(cursor, forward))
    stmt = (
        select(Order, Organization.display_name, items, first)
        .join(Organization, Organization.id == Order.platform_org_id)
        .where(*where)
        .order_by(*_order_by(lq.view, forward))
        .limit(page_size + 1)
    )
    got = [Row(o, name, int(n or 0), f) for o, name, n, f in session.execute(stmt)]
    more = len(got) > page_size
    if not forward and len(got) < page_size:
        # Previous reached the start with a short page (orders before it were answered
        # meanwhile): show the first page, full, rather than a stub of it
        return read_page(session, principal, replace(lq, before=None), bands, now, page_size)
    got = got[:page_size]
    if not forward:
        got.reverse()
    page = ListPage(got)
    if got:
        first_c, last_c = Cursor.of(lq.view, got[0].order), Cursor.of(lq.view, got[-1].order)
        if forward:
            page.prev = first_c if lq.after is not None else None
            page.next = last_c if more else None
        else:
            page.prev = first_c if more else None
            page.next = last_c
    page.counts = band_counts(session, principal, lq, bands, now)
    return page


def band_counts(
    session: Session, principal: Principal, lq: ListQuery, bands: Sequence[Band], now: datetime
) -> dict[str, int]:
    """Open orders per band under the same scope, search and filters, in one statement
    (the chips above the list, and the heading of each band)."""
    cols = [
        func.coalesce(func.sum(case((_band_clause(b, now), 1), else_=0)), 0).label(b.key)
        for b in bands
    ]
    if lq.status is None:
        open_: ColumnElement[bool] = Order.status.in_(sorted(OPEN_STATUSES))
    elif lq.status in OPEN_STATUSES:
        open_ = Order.status == lq.status
    else:
        open_ = false()  # a closed status: no order of it has time left
    row = session.execute(select(*cols).where(*_filters(principal, lq), open_)).one()
    return {b.key: int(v or 0) for b, v in zip(bands, row, strict=True)}


@dataclass(frozen=True, slots=True)
class Group:
    band: Band | None  # None: the closed list, which has no bands
    rows: list[Row]


def group_rows(rows: Sequence[Row], bands: Sequence[Band], view: str, now: datetime) -> list[Group]:
    """Consecutive rows of one band under one heading (the rows arrive sorted, so each
    band is one run)."""
    if view == CLOSED:
        return [Group(None, list(rows))] if rows else []
    groups: list[Group] = []
    for r in rows:
        b = band_of(bands, r.order.deadline_at, r.order.paused_at is not None, now)
        if groups and groups[-1].band == b:
            groups[-1].rows.append(r)
        else:
            groups.append(Group(b, [r]))
    return groups
