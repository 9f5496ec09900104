"""The figures behind the transparency report's charts, one registry of chart kinds.

:data:`CHARTS` is the only list of what the report charts: the page draws every entry, and
``/public/transparency/data/{chart}.csv|json`` answers any entry by its key, so a new chart
is one :class:`ChartKind` here and nothing else branches on chart names.

Every figure is counted by the database for a :class:`Period` (a date range in the SOP
profile's time zone). Months are cut in that zone by a ``CASE`` over the UTC instants at
which its months begin (:func:`month_of`), computed with ``zoneinfo``: the same SQL on
SQLite and PostgreSQL, right across summer-time changes, and comparisons the indexes on
the timestamps can serve. Percentiles are taken in Python from one query returning one
duration per order (or request) in the period; every chart costs a fixed number of queries
whatever the number of orders.

The definitions, said on the page beside each chart:

* **action**: the platform's first answer that reports it acted (content removed, restricted
  in the country, account suspended, or partially done: the answers that put an order in
  *complied* or *partially complied*). "Not done" is an objection, not an action. The time
  to action runs from receipt (authenticated, or deemed when nobody fetched the order) to
  that answer, on the wall clock, including any pause for clarification.
* **answered within the deadline**: the platform's first answer (any answer, an objection
  too) came before the order's legal deadline (``OrderResponse.late``, judged with the
  clarification pauses at the moment of the answer). **Late**: the first answer came after
  it, or there is no answer and the deadline has passed (the order was marked overdue, or
  it is received, open, not paused and past ``deadline_at`` now). An order still within
  its deadline, or withdrawn or contested before it ran out, is neither.
* **time to normalisation**: from a request to restore access to its approval (which
  restores the blocks), for approved requests, by the month of the request.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization
from tangkal.errors import InvalidInput, Msg
from tangkal.orders.models import (
    EscalationStep,
    Order,
    OrderResponse,
    OrderStatus,
    ResponseAction,
)
from tangkal.sop.profile import SopProfile
from tangkal.web.charts import Style
from tangkal.web.i18n import translations


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


#: The longest range a request may ask for: ten years of months in one ``CASE``.
MAX_MONTHS = 120
DEFAULT_MONTHS = 12

# ------------------------------------------------------------------ the period


@dataclass(frozen=True, slots=True)
class Month:
    key: str  # YYYY-MM in the profile's zone
    start: datetime  # UTC, inclusive (the period's start for its first month)
    end: datetime  # UTC, exclusive (the period's end for its last month)


@dataclass(frozen=True, slots=True)
class Period:
    """A range of whole days, ``first`` to ``last`` inclusive, in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo

    def _instant(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self._instant(self.first)

    @property
    def end(self) -> datetime:
        return self._instant(self.last + timedelta(days=1))

    @property
    def months(self) -> tuple[Month, ...]:
        out = []
        y, m = self.first.year, self.first.month
        while (y, m) <= (self.last.year, self.last.month):
            ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
            start = max(self._instant(date(y, m, 1)), self.start)
            end = min(self._instant(date(ny, nm, 1)), self.end)
            out.append(Month(f"{y:04d}-{m:02d}", start, end))
            y, m = ny, nm
        return tuple(out)

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


#: The years a range may name: enough for any record, and far from ``date``'s limits (the
#: day after 9999-12-31, or midnight of 0001-01-01 in UTC+7, cannot be computed).
YEARS = (1970, 2999)


def _parse_day(value: str, name: str, *, end: bool) -> date:
    text = value.strip()
    try:
        if len(text) == 7:  # YYYY-MM: the month's first (from) or last (to) day
            y, m = int(text[:4]), int(text[5:7])
            if text[4] != "-":
                raise ValueError(text)
            day = date(y, m, calendar.monthrange(y, m)[1] if end else 1)
        else:
            day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            Msg(
                "“%(value)s” is not a date: write it as YYYY-MM-DD (for example 2017-07-14)"
                " or YYYY-MM.",
                value=text[:20],
            ),
            field=name,
        ) from None
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise InvalidInput(
            Msg(
                "A date must lie between the years %(first)s and %(last)s.",
                first=str(YEARS[0]),
                last=str(YEARS[1]),
            ),
            field=name,
        )
    return day


def parse_period(
    first: str | None, last: str | None, zone: ZoneInfo, now: datetime | None = None
) -> Period:
    """The range a reader asked for (``from``/``to``), or the last twelve months up to today
    in the profile's zone; refused with a message naming the field."""
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    given = _parse_day(first, "from", end=False) if first and first.strip() else None
    end = _parse_day(last, "to", end=True) if last and last.strip() else today
    if given is not None:
        start = given
    else:
        y, m = end.year, end.month - (DEFAULT_MONTHS - 1)
        while m < 1:
            y, m = y - 1, m + 12
        start = date(y, m, 1)
    if start > end:
        raise InvalidInput(
            Msg("The start of the range (from) must not be after its end (to)."), field="from"
        )
    if (end.year - start.year) * 12 + end.month - start.month + 1 > MAX_MONTHS:
        raise InvalidInput(
            Msg("A range may cover at most %(n)s months; choose a later start.", n=MAX_MONTHS),
            field="from",
        )
    return Period(start, end, zone)


def month_of(col: Any, months: Sequence[Month]) -> ColumnElement[Any]:
    """The profile-zone month of a UTC timestamp column, as ``YYYY-MM`` (NULL outside)."""
    return case(*((col < m.end, literal(m.key)) for m in months), else_=literal(None))


def in_period(col: Any, period: Period) -> ColumnElement[bool]:
    return and_(col >= period.start, col < period.end)


# ------------------------------------------------------------------ statistics


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile with linear interpolation between the closest ranks (the usual
    "inclusive" definition: the median of 1..4 is 2.5, the 90th percentile of 1..10 is 9.1);
    ``None`` for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


#: An order's standing against its deadline (see the module's definitions): answered in
#: time, answered late, unanswered past its deadline (overdue), or none of these yet.
ON_TIME, LATE, OVERDUE, OTHER = "on_time", "late", "overdue", "other"
_RUNNING = (
    OrderStatus.ISSUED,
    OrderStatus.DELIVERED,
    OrderStatus.ACKNOWLEDGED,
    OrderStatus.OVERDUE,
)


def answers() -> Any:
    """Per answered order: 0 when one of its answers came in time (the first did), 1 when
    every answer was late."""
    return (
        select(
            OrderResponse.order_id.label("order_id"),
            func.min(case((OrderResponse.late, 1), else_=0)).label("all_late"),
        )
        .group_by(OrderResponse.order_id)
        .subquery()
    )


def verdict(all_late: Any, now: datetime) -> ColumnElement[str]:
    """``on_time``, ``late``, ``overdue`` or ``other`` for an order, given its row of
    :func:`answers` (NULL: no answer). Overdue does not wait for the scheduler to mark the
    order: a received, running, unpaused order past ``deadline_at`` is overdue now."""
    return case(
        (all_late == 0, literal(ON_TIME)),
        (all_late == 1, literal(LATE)),
        (Order.overdue_at.is_not(None), literal(OVERDUE)),
        (
            and_(
                Order.status.in_(_RUNNING),
                Order.received_at.is_not(None),
                Order.paused_at.is_(None),
                Order.deadline_at <= now,
            ),
            literal(OVERDUE),
        ),
        else_=literal(OTHER),
    )


def verdict_counts(session: Session, now: datetime) -> dict[str, int]:
    """Orders on time, late and neither, over the whole record (the report's key figures)."""
    a = answers()
    v = verdict(a.c.all_late, now).label("v")
    inner = select(v).select_from(Order).outerjoin(a, a.c.order_id == Order.id).subquery()
    rows = session.execute(select(inner.c.v, func.count()).group_by(inner.c.v)).all()
    return {str(k): int(n) for k, n in rows}


# ------------------------------------------------------------------ chart data


@dataclass(frozen=True, slots=True)
class SeriesData:
    key: str
    label_en: str
    label_id: str
    values: tuple[float | None, ...]
    drawn: bool = True  # False: in the table and the data files, not drawn (a count)


@dataclass(frozen=True, slots=True)
class ChartData:
    chart: str
    rows: tuple[str, ...]  # month keys (YYYY-MM) or platform names
    series: tuple[SeriesData, ...]


def _both(message: str) -> tuple[str, str]:
    return message, translations("id").gettext(message)


def _series(
    key: str, labels: tuple[str, str], values: Sequence[float | None], *, drawn: bool = True
) -> SeriesData:
    return SeriesData(key, labels[0], labels[1], tuple(values), drawn)


@dataclass(frozen=True, slots=True)
class Ask:
    """What a chart's computation is given."""

    session: Session
    profile: SopProfile
    period: Period
    now: datetime


def monthly_counts(ask: Ask, col: Any, key_col: Any, *where: Any) -> dict[tuple[str, str], int]:
    months = ask.period.months
    inner = (
        select(month_of(col, months).label("m"), key_col.label("k"))
        .where(in_period(col, ask.period), *where)
        .subquery()
    )
    rows = ask.session.execute(
        select(inner.c.m, inner.c.k, func.count()).group_by(inner.c.m, inner.c.k)
    ).all()
    return {(str(m), str(k)): int(n) for m, k, n in rows if m is not None}


def _by_month(ask: Ask, counts: dict[tuple[str, str], int], key: str) -> list[float | None]:
    return [counts.get((m.key, key), 0) for m in ask.period.months]


def orders_by_category(ask: Ask) -> ChartData:
    counts = monthly_counts(ask, Order.issued_at, Order.category)
    present = {k for _, k in counts}
    keys = [k for k in ask.profile.categories if k in present] + sorted(
        present - set(ask.profile.categories)
    )
    series = []
    for k in keys:
        c = ask.profile.categories.get(k)
        labels = (c.label_en, c.label_id) if c else (k, k)
        series.append(_series(k, labels, _by_month(ask, counts, k)))
    return ChartData("orders_by_category", _month_keys(ask), tuple(series))


def _month_keys(ask: Ask) -> tuple[str, ...]:
    return tuple(m.key for m in ask.period.months)


def _durations(ask: Ask, rows: Sequence[Any]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {m.key: [] for m in ask.period.months}
    for m, start, end in rows:
        if m in out and start is not None and end is not None:
            out[m].append(max(0.0, (end - start).total_seconds() / 3600))
    return out


def _spread(ask: Ask, chart: str, spans: dict[str, list[float]], count_label: str) -> ChartData:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 2)

    keys = _month_keys(ask)
    return ChartData(
        chart,
        keys,
        (
            _series("median", _both(N_("Median")), [r(quantile(spans[k], 0.5)) for k in keys]),
            _series(
                "p90", _both(N_("90th percentile")), [r(quantile(spans[k], 0.9)) for k in keys]
            ),
            _series("n", _both(count_label), [len(spans[k]) for k in keys], drawn=False),
        ),
    )


def first_actions() -> Any:
    """Per order, the moment of the platform's first answer that reports it acted (any
    answer but "not done"): what "action" means in every figure of the report."""
    return (
        select(
            OrderResponse.order_id.label("order_id"),
            func.min(OrderResponse.created_at).label("acted_at"),
        )
        .where(OrderResponse.action != ResponseAction.NOT_DONE)
        .group_by(OrderResponse.order_id)
        .subquery()
    )


def time_to_action(ask: Ask) -> ChartData:
    acted = first_actions()
    rows = ask.session.execute(
        select(month_of(Order.issued_at, ask.period.months), Order.received_at, acted.c.acted_at)
        .join(acted, acted.c.order_id == Order.id)
        .where(in_period(Order.issued_at, ask.period), Order.received_at.is_not(None))
    ).all()
    return _spread(ask, "time_to_action", _durations(ask, rows), N_("Orders acted on"))


def within_deadline(ask: Ask) -> ChartData:
    a = answers()
    v = verdict(a.c.all_late, ask.now).label("v")
    inner = (
        select(Order.platform_org_id.label("p"), v)
        .select_from(Order)
        .outerjoin(a, a.c.order_id == Order.id)
        .where(in_period(Order.issued_at, ask.period))
        .subquery()
    )
    rows = ask.session.execute(
        select(Organization.display_name, inner.c.v, func.count())
        .join(Organization, Organization.id == inner.c.p)
        .group_by(Organization.display_name, inner.c.v)
    ).all()
    per: dict[str, dict[str, int]] = {}
    for name, verdict_, n in rows:
        per.setdefault(str(name), {})[str(verdict_)] = int(n)

    def late(p: str) -> int:
        return per[p].get(LATE, 0) + per[p].get(OVERDUE, 0)

    names = sorted(
        (p for p in per if per[p].get(ON_TIME, 0) + late(p)),
        key=lambda p: (-(per[p].get(ON_TIME, 0) + late(p)), p),
    )

    def share(p: str) -> float:
        on = per[p].get(ON_TIME, 0)
        return round(100 * on / (on + late(p)), 1)

    return ChartData(
        "within_deadline",
        tuple(names),
        (
            _series(
                "share", _both(N_("Answered within the deadline (%)")), [share(p) for p in names]
            ),
            _series(
                "on_time",
                _both(N_("Answered within the deadline")),
                [per[p].get(ON_TIME, 0) for p in names],
                drawn=False,
            ),
            _series(
                "late",
                _both(N_("Late or overdue")),
                [late(p) for p in names],
                drawn=False,
            ),
        ),
    )


def warnings(ask: Ask) -> ChartData:
    counts = monthly_counts(
        ask,
        EscalationStep.issued_at,
        EscalationStep.code,
        EscalationStep.kind == "warning_letter",
        EscalationStep.annulled_at.is_(None),
    )
    present = {k for _, k in counts}
    known = [w for w in ask.profile.warnings if w.code in present]
    series = [
        _series(w.code, (f"{w.code}", f"{w.code}"), _by_month(ask, counts, w.code)) for w in known
    ]
    series += [
        _series(k, (k, k), _by_month(ask, counts, k))
        for k in sorted(present - {w.code for w in known})
    ]
    return ChartData("warnings", _month_keys(ask), tuple(series))


def fines(ask: Ask) -> ChartData:
    months = ask.period.months
    inner = (
        select(month_of(EscalationStep.issued_at, months).label("m"), EscalationStep.fine)
        .where(
            in_period(EscalationStep.issued_at, ask.period),
            EscalationStep.fine > 0,
            EscalationStep.annulled_at.is_(None),
            EscalationStep.fine_annulled_at.is_(None),
        )
        .subquery()
    )
    rows = dict(
        (str(m), int(total or 0))
        for m, total in ask.session.execute(
            select(inner.c.m, func.sum(inner.c.fine)).group_by(inner.c.m)
        )
    )
    keys = _month_keys(ask)
    return ChartData(
        "fines",
        keys,
        (
            _series(
                "amount",
                _both(N_("Fines imposed")),
                [rows.get(k, 0) for k in keys],
            ),
        ),
    )


BLOCK_EVENTS: tuple[tuple[str, str], ...] = (
    ("added", N_("Added")),
    ("restored", N_("Restored")),
    ("expired", N_("Expired")),
)


def blocks(ask: Ask) -> ChartData:
    from tangkal.blocklist.models import BlockEntry

    cols = {
        "added": BlockEntry.activated_at,
        "restored": BlockEntry.restored_at,
        "expired": BlockEntry.expired_at,
    }
    series = []
    for key, label in BLOCK_EVENTS:
        counts = monthly_counts(ask, cols[key], literal("n"))
        series.append(_series(key, _both(label), _by_month(ask, counts, "n")))
    return ChartData("blocks", _month_keys(ask), tuple(series))


def time_to_normalisation(ask: Ask) -> ChartData:
    from tangkal.normalisation.models import Normalisation, NormalisationStatus

    rows = ask.session.execute(
        select(
            month_of(Normalisation.requested_at, ask.period.months),
            Normalisation.requested_at,
            Normalisation.decided_at,
        ).where(
            in_period(Normalisation.requested_at, ask.period),
            Normalisation.status == NormalisationStatus.APPROVED,
            Normalisation.decided_at.is_not(None),
        )
    ).all()
    return _spread(ask, "time_to_normalisation", _durations(ask, rows), N_("Requests approved"))


#: The words for an appeal's standing (``Appeal.status``, and its outcome once decided).
APPEAL_STATES: dict[str, str] = {
    "received": N_("Received"),
    "under_review": N_("Under review"),
    "upheld": N_("Upheld: access restored"),
    "rejected": N_("Rejected: the block stands"),
}


def appeals(ask: Ask) -> ChartData:
    from tangkal.blocklist.models import Appeal

    counts = monthly_counts(ask, Appeal.created_at, Appeal.status)
    present = {k for _, k in counts}
    keys = [k for k in APPEAL_STATES if k in present] + sorted(present - set(APPEAL_STATES))
    series = [
        _series(
            k, _both(APPEAL_STATES[k]) if k in APPEAL_STATES else (k, k), _by_month(ask, counts, k)
        )
        for k in keys
    ]
    return ChartData("appeals", _month_keys(ask), tuple(series))


# ------------------------------------------------------------------ the registry

Unit = Literal["count", "hours", "percent", "money"]
Rows = Literal["month", "platform"]

#: The title of the categories' axis and of the table's first column, by what the rows are.
ROW_TITLES: dict[str, str] = {"month": N_("Month"), "platform": N_("Platform")}


@dataclass(frozen=True, slots=True)
class ChartKind:
    """One chart of the report: its words (catalogue messages), how it is drawn, and the
    function that counts its figures."""

    key: str
    title: str
    description: str
    style: Style
    rows: Rows
    unit: Unit
    value_title: str
    compute: Callable[[Ask], ChartData] = field(repr=False)

    def data(self, ask: Ask) -> ChartData:
        return self.compute(ask)


CHARTS: dict[str, ChartKind] = {
    k.key: k
    for k in (
        ChartKind(
            "orders_by_category",
            N_("Orders by category per month"),
            N_(
                "Takedown orders issued each month, stacked by the category of content they"
                " name, counted in the month they were issued."
            ),
            "stacked",
            "month",
            "count",
            N_("Orders"),
            orders_by_category,
        ),
        ChartKind(
            "time_to_action",
            N_("Time from receipt to action"),
            N_(
                "Median and 90th percentile, in hours, of the time from receipt of an order"
                " (authenticated, or deemed when nobody fetched it) to the platform's first"
                " answer saying it acted: content removed, restricted in the country, account"
                " suspended or partially done (the order complied or partially complied)."
                ' "Not done" is an objection and not counted. Wall-clock time, including'
                " any pause for clarification; by the month the order was issued."
            ),
            "lines",
            "month",
            "hours",
            N_("Hours"),
            time_to_action,
        ),
        ChartKind(
            "within_deadline",
            N_("Share answered within the deadline, per platform"),
            N_(
                "Of each platform's orders issued in the period whose deadline has been"
                " decided, the share whose first answer (an objection too) came before the"
                " legal deadline. Late: answered after the deadline, or still unanswered"
                " after it. Orders still within their deadline are not counted."
            ),
            "hbar",
            "platform",
            "percent",
            N_("Share of orders (%)"),
            within_deadline,
        ),
        ChartKind(
            "warnings",
            N_("Warning letters per month"),
            N_(
                "Warning letters (surat teguran) sent after missed deadlines, by letter,"
                " in the month they were sent; letters annulled after an upheld objection"
                " are not counted."
            ),
            "stacked",
            "month",
            "count",
            N_("Warning letters"),
            warnings,
        ),
        ChartKind(
            "fines",
            N_("Fines imposed per month"),
            N_(
                "The sum of the fines imposed with warning letters in each month, in the"
                " profile's currency; fines annulled after an upheld objection are not"
                " counted."
            ),
            "grouped",
            "month",
            "money",
            N_("Amount (%(currency)s)"),
            fines,
        ),
        ChartKind(
            "blocks",
            N_("Blocks added and lifted per month"),
            N_(
                "Names that started to be blocked through the DNS filter (RPZ) each month,"
                " and names whose block was lifted: restored by a decision, or expired."
            ),
            "grouped",
            "month",
            "count",
            N_("Names"),
            blocks,
        ),
        ChartKind(
            "time_to_normalisation",
            N_("Time to normalisation"),
            N_(
                "Median and 90th percentile, in hours, of the time from a request to restore"
                " access (normalisasi) to the approval that restored the blocks, for approved"
                " requests, by the month of the request."
            ),
            "lines",
            "month",
            "hours",
            N_("Hours"),
            time_to_normalisation,
        ),
        ChartKind(
            "appeals",
            N_("Appeals and their outcomes"),
            N_(
                "Appeals from the public against a block, by the month they were received,"
                " and where each stands now: received, under review, or decided (upheld and"
                " access restored, or rejected and the block stands)."
            ),
            "stacked",
            "month",
            "count",
            N_("Appeals"),
            appeals,
        ),
    )
}


def compute_all(ask: Ask) -> list[tuple[ChartKind, ChartData]]:
    return [(kind, kind.data(ask)) for kind in CHARTS.values()]
