"""Aggregate figures for the public transparency report, and their JSON and CSV forms.

The key figures over the whole record (the charts of a period are
``tangkal.web.transparency_data``'s). Only counts and medians leave this module: no order
texts, no locators, no names of people. Grouping by month is done by the database (the
blocklist may hold millions of names), months cut in the SOP profile's zone by the same
portable expression as the charts (``transparency_data.month_of``).
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from tangkal.accounts.models import Organization
from tangkal.orders.models import EscalationStep, Order, OrderStatus
from tangkal.sop.profile import SopProfile
from tangkal.web import transparency_data


@dataclass(frozen=True, slots=True)
class Count:
    key: str
    label_en: str
    label_id: str
    count: int


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: str  # YYYY-MM, months in the SOP profile's time zone like every time shown
    added: int
    restored: int


@dataclass(frozen=True, slots=True)
class Report:
    generated_at: datetime
    sop_profile: str
    orders_total: int
    by_category: tuple[Count, ...]
    by_platform: tuple[Count, ...]
    by_outcome: tuple[Count, ...]
    complied: int
    median_hours_to_compliance: float | None
    responses_on_time: int  # orders whose first answer came within the deadline
    responses_late: int  # orders answered late or still unanswered past the deadline
    answered_late: int
    overdue_unanswered: int
    warnings_total: int
    warnings_by_code: tuple[Count, ...]
    fines_total: int
    currency: str
    blocks_active: int
    blocks_by_month: tuple[MonthRow, ...]
    appeals_total: int
    appeals_by_month: tuple[tuple[str, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "sop_profile": self.sop_profile,
            "orders": {
                "total": self.orders_total,
                "by_category": [asdict(c) for c in self.by_category],
                "by_platform": [asdict(c) for c in self.by_platform],
                "by_outcome": [asdict(c) for c in self.by_outcome],
                "complied": self.complied,
                "median_hours_receipt_to_compliance": self.median_hours_to_compliance,
                "responses_on_time": self.responses_on_time,
                "responses_late": self.responses_late,
                "answered_late": self.answered_late,
                "overdue_unanswered": self.overdue_unanswered,
            },
            "warnings": {
                "total": self.warnings_total,
                "by_code": [asdict(c) for c in self.warnings_by_code],
                "fines_total": self.fines_total,
                "currency": self.currency,
            },
            "blocks": {
                "active": self.blocks_active,
                "by_month": [asdict(m) for m in self.blocks_by_month],
            },
            "appeals": {
                "total": self.appeals_total,
                "by_month": [{"month": m, "count": n} for m, n in self.appeals_by_month],
            },
        }


STATUS_LABELS: dict[str, tuple[str, str]] = {
    "issued": ("Issued", "Diterbitkan"),
    "delivered": ("Delivered", "Terkirim"),
    "acknowledged": ("Acknowledged", "Diterima platform"),
    "clarification_requested": ("Clarification requested", "Meminta klarifikasi"),
    "complied": ("Complied", "Dipatuhi"),
    "partially_complied": ("Partially complied", "Dipatuhi sebagian"),
    "disputed": ("Disputed (objection)", "Disanggah"),
    "overdue": ("Overdue", "Melewati tenggat"),
    "withdrawn": ("Withdrawn", "Ditarik"),
}


def report(session: Session, profile: SopProfile, now: datetime | None = None) -> Report:
    now = now or datetime.now(UTC)
    by_cat = dict(
        session.execute(select(Order.category, func.count()).group_by(Order.category)).all()
    )
    categories = []
    for key, n in sorted(by_cat.items(), key=lambda kv: (-kv[1], kv[0])):
        c = profile.categories.get(key)
        categories.append(Count(key, c.label_en if c else key, c.label_id if c else key, int(n)))
    plat_rows = session.execute(
        select(Organization.name, Organization.display_name, func.count(Order.id))
        .join(Order, Order.platform_org_id == Organization.id)
        .group_by(Organization.name, Organization.display_name)
    ).all()
    platforms = sorted(
        (Count(name, disp, disp, int(n)) for name, disp, n in plat_rows),
        key=lambda c: (-c.count, c.key),
    )
    by_status = dict(
        session.execute(select(Order.status, func.count()).group_by(Order.status)).all()
    )
    outcomes = [
        Count(s.value, *STATUS_LABELS.get(s.value, (s.value, s.value)), int(by_status.get(s, 0)))
        for s in OrderStatus
        if by_status.get(s)
    ]
    # Receipt to action (the first answer that reports the platform acted, as in the
    # charts): only two timestamps per order are read.
    acted = transparency_data.first_actions()
    spans = [
        (acted_at - received).total_seconds() / 3600
        for received, acted_at in session.execute(
            select(Order.received_at, acted.c.acted_at)
            .join(acted, acted.c.order_id == Order.id)
            .where(Order.received_at.is_not(None))
        )
        if received is not None and acted_at is not None
    ]
    # Per order, not per answer: an order still open past its deadline is late now, not
    # only one that was answered late (the report once said "late: 0" beside two overdue
    # orders).
    verdicts = transparency_data.verdict_counts(session, now)
    warn = session.execute(
        select(
            EscalationStep.code,
            func.count(),
            func.coalesce(
                func.sum(
                    case((EscalationStep.fine_annulled_at.is_(None), EscalationStep.fine), else_=0)
                ),
                0,
            ),
        )
        .where(EscalationStep.annulled_at.is_(None))
        .group_by(EscalationStep.code)
        .order_by(EscalationStep.code)
    ).all()
    labels = {w.code: w for w in profile.warnings}
    warnings = [
        Count(
            code,
            labels[code].label_en if code in labels else code,
            labels[code].label_id if code in labels else code,
            int(n),
        )
        for code, n, _ in warn
    ]
    blocks_active, months, appeals_total, appeal_months = _blocks(session, profile, now)
    return Report(
        generated_at=now,
        sop_profile=profile.name,
        orders_total=sum(int(v) for v in by_status.values()),
        by_category=tuple(categories),
        by_platform=tuple(platforms),
        by_outcome=tuple(outcomes),
        complied=len(spans),
        median_hours_to_compliance=round(statistics.median(spans), 2) if spans else None,
        responses_on_time=verdicts.get(transparency_data.ON_TIME, 0),
        responses_late=verdicts.get(transparency_data.LATE, 0)
        + verdicts.get(transparency_data.OVERDUE, 0),
        answered_late=verdicts.get(transparency_data.LATE, 0),
        overdue_unanswered=verdicts.get(transparency_data.OVERDUE, 0),
        warnings_total=sum(c.count for c in warnings),
        warnings_by_code=tuple(warnings),
        fines_total=sum(int(f) for _, _, f in warn),
        currency=profile.currency,
        blocks_active=blocks_active,
        blocks_by_month=months,
        appeals_total=appeals_total,
        appeals_by_month=appeal_months,
    )


def _blocks(
    session: Session, profile: SopProfile, now: datetime
) -> tuple[int, tuple[MonthRow, ...], int, tuple[tuple[str, int], ...]]:
    """Blocks now, and blocks added, restored and appeals received per month since the
    first of them, months cut in the profile's zone as the charts cut them."""
    from tangkal.blocklist.models import Appeal, BlockEntry, BlockStatus

    active = int(
        session.scalar(
            select(func.count())
            .select_from(BlockEntry)
            .where(BlockEntry.status == BlockStatus.ACTIVE)
        )
        or 0
    )
    firsts = session.execute(
        select(
            select(func.min(BlockEntry.activated_at)).scalar_subquery(),
            select(func.min(BlockEntry.restored_at)).scalar_subquery(),
            select(func.min(Appeal.created_at)).scalar_subquery(),
        )
    ).one()
    known = [f for f in firsts if f is not None]
    if not known:
        return active, (), 0, ()
    first = min(known)
    today = now.astimezone(profile.zone).date()
    period = transparency_data.Period(
        min(first.astimezone(profile.zone).date(), today).replace(day=1), today, profile.zone
    )
    ask = transparency_data.Ask(session, profile, period, now)
    counts = {
        name: {
            m: n for (m, _), n in transparency_data.monthly_counts(ask, col, literal("n")).items()
        }
        for name, col in (
            ("added", BlockEntry.activated_at),
            ("restored", BlockEntry.restored_at),
            ("appeals", Appeal.created_at),
        )
    }
    months = tuple(
        MonthRow(m, counts["added"].get(m, 0), counts["restored"].get(m, 0))
        for m in sorted(set(counts["added"]) | set(counts["restored"]))
    )
    appeals = counts["appeals"]
    return active, months, sum(appeals.values()), tuple(sorted(appeals.items()))


CSV_HEADER = ("section", "dimension", "key", "label_en", "label_id", "value")


def _cell(value: Any) -> Any:
    """Keep spreadsheet programs from reading a name as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(r: Report) -> str:
    """One row per figure (a tidy table), so any spreadsheet or script can pivot it."""
    rows: list[tuple[Any, ...]] = [
        ("orders", "total", "", "", "", r.orders_total),
        *(("orders", "category", c.key, c.label_en, c.label_id, c.count) for c in r.by_category),
        *(("orders", "platform", c.key, c.label_en, c.label_id, c.count) for c in r.by_platform),
        *(("orders", "outcome", c.key, c.label_en, c.label_id, c.count) for c in r.by_outcome),
        (
            "orders",
            "median_hours_receipt_to_compliance",
            "",
            "",
            "",
            "" if r.median_hours_to_compliance is None else r.median_hours_to_compliance,
        ),
        ("orders", "responses_on_time", "", "", "", r.responses_on_time),
        ("orders", "responses_late", "", "", "", r.responses_late),
        ("orders", "answered_late", "", "", "", r.answered_late),
        ("orders", "overdue_unanswered", "", "", "", r.overdue_unanswered),
        ("warnings", "total", "", "", "", r.warnings_total),
        *(("warnings", "code", c.key, c.label_en, c.label_id, c.count) for c in r.warnings_by_code),
        ("warnings", "fines_total", r.currency, "", "", r.fines_total),
        ("blocks", "active", "", "", "", r.blocks_active),
        *(("blocks", "added", m.month, "", "", m.added) for m in r.blocks_by_month),
        *(("blocks", "restored", m.month, "", "", m.restored) for m in r.blocks_by_month),
        ("appeals", "total", "", "", "", r.appeals_total),
        *(("appeals", "received", m, "", "", n) for m, n in r.appeals_by_month),
    ]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue()
