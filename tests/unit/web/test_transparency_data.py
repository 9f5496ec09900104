"""Each statistic of the transparency charts against figures worked out by hand, on each
database backend: quantiles, the deadline verdicts (late includes overdue and unanswered),
months cut in the profile's zone, and a fixed number of queries for 1,000 orders."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from tangkal.blocklist.models import Appeal, AppealStatus
from tangkal.db.session import Database
from tangkal.errors import InvalidInput
from tangkal.normalisation.models import Normalisation, NormalisationStatus
from tangkal.orders.models import (
    EscalationStep,
    Order,
    OrderResponse,
    OrderStatus,
    ResponseAction,
)
from tangkal.sop.profile import SopProfile, load_profile
from tangkal.web import transparency
from tangkal.web import transparency_data as td
from tests.factories import SYSTEM_OFFICIAL, Factory
from tests.support import statements_sent

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)  # 10 Feb 2026 10:00 WIB


@pytest.fixture
def profile() -> SopProfile:
    return load_profile("indonesia")


def _order(
    platform_id: str,
    regulator_id: str,
    *,
    issued: datetime = T0,
    received: datetime | None = T0,
    deadline_hours: float = 4,
    status: OrderStatus = OrderStatus.ACKNOWLEDGED,
    category: str = "terrorism",
    n: list[int] = [0],  # noqa: B006 - a counter for unique references
    **extra: Any,
) -> dict[str, Any]:
    n[0] += 1
    start = received or issued
    return {
        "id": f"00000000-0000-0000-0000-{n[0]:012d}",
        "reference": f"T-{n[0]:08d}",
        "regulator_org_id": regulator_id,
        "platform_org_id": platform_id,
        "category": category,
        "urgency": "urgent",
        "legal_basis": "UU 5/2018",
        "reason": "propaganda",
        "status": status,
        "sop_profile": "indonesia",
        "deadline_seconds": int(deadline_hours * 3600),
        "created_by": "kominfo/analyst(analyst)",
        "issued_at": issued,
        "received_at": received,
        "deadline_at": start + timedelta(hours=deadline_hours),
        "paused_seconds": 0.0,
        "steps_taken": 0,
        "updated_at": issued,
        **extra,
    }


def _answer(
    order: dict[str, Any],
    after_hours: float,
    *,
    late: bool,
    action: str = "removed",
) -> dict[str, Any]:
    return {
        "id": ("b" if action == "not_done" else "a") + order["id"][1:],
        "order_id": order["id"],
        "action": ResponseAction(action),
        "statement": {},
        "responded_by": "telegram/moderator(moderator)",
        "late": late,
        "created_at": order["received_at"] + timedelta(hours=after_hours),
    }


def _write(
    db: Database, orders: list[dict[str, Any]], answers: list[dict[str, Any]] | None = None
) -> None:
    with db.unit_of_work() as s:
        s.execute(insert(Order), orders)
        if answers:
            s.execute(insert(OrderResponse), answers)


def _ask(db: Database, profile: SopProfile, first: date, last: date, s: Any) -> td.Ask:
    return td.Ask(s, profile, td.Period(first, last, profile.zone), NOW)


# ------------------------------------------------------------------ pure


def test_quantiles_by_hand() -> None:
    assert td.quantile(list(range(1, 11)), 0.5) == 5.5
    assert td.quantile(list(range(1, 11)), 0.9) == pytest.approx(9.1)
    assert td.quantile([1, 2, 3, 4], 0.5) == 2.5
    assert td.quantile([4.0], 0.9) == 4.0
    assert td.quantile([], 0.5) is None


def test_period_default_is_twelve_months_to_today_in_the_zone() -> None:
    late_evening = datetime(2026, 1, 31, 18, 0, tzinfo=UTC)  # 1 Feb 01:00 WIB
    p = td.parse_period(None, "", WIB, late_evening)
    assert (p.first, p.last) == (date(2025, 3, 1), date(2026, 2, 1))
    assert p.months[0].key == "2025-03" and len(p.months) == 12
    assert td.parse_period("2017-07", "2017-07", WIB).query() == {
        "from": "2017-07-01",
        "to": "2017-07-31",
    }


@pytest.mark.parametrize(
    ("first", "last", "field", "words"),
    [
        ("14/07/2017", "", "from", "is not a date"),
        ("2017-07-01", "2017-13-01", "to", "is not a date"),
        ("2018-01-01", "2017-01-01", "from", "must not be after"),
        ("2000-01-01", "2017-01-01", "from", "at most 120 months"),
        ("9999-12", "9999-12", "from", "between the years 1970 and 2999"),
        ("2017-01-01", "9999-12-31", "to", "between the years 1970 and 2999"),
        ("0001-01-01", "0001-01-31", "from", "between the years 1970 and 2999"),
        ("2017-1x", "", "from", "is not a date"),
        ("2017-00", "", "from", "is not a date"),
        ("", "2017-13", "to", "is not a date"),
    ],
)
def test_bad_ranges_are_refused_naming_the_field(
    first: str, last: str, field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        td.parse_period(first, last, WIB, NOW)
    assert exc.value.field == field and words in exc.value.message


def test_months_are_cut_at_local_midnight_also_across_summer_time() -> None:
    jakarta = td.Period(date(2026, 1, 1), date(2026, 2, 28), WIB).months
    assert jakarta[1].start == datetime(2026, 1, 31, 17, 0, tzinfo=UTC)
    berlin = td.Period(date(2026, 3, 1), date(2026, 4, 30), ZoneInfo("Europe/Berlin")).months
    assert berlin[0].start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # CET
    assert berlin[0].end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # CEST from 29 March
    assert berlin[1].end == datetime(2026, 4, 30, 22, 0, tzinfo=UTC)


# ------------------------------------------------------------------ on the database


def test_month_bucketing_follows_the_profile_zone(
    db: Database, factory: Factory, profile: SopProfile
) -> None:
    reg, plat = factory.regulator(), factory.platform()
    just_before = datetime(2026, 1, 31, 16, 59, tzinfo=UTC)  # 31 Jan 23:59 WIB
    just_after = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)  # 1 Feb 00:00 WIB
    _write(
        db,
        [
            _order(plat.id, reg.id, issued=just_before, received=None),
            _order(plat.id, reg.id, issued=just_after, received=None),
            _order(plat.id, reg.id, issued=just_after, received=None, category="gambling"),
        ],
    )
    with db.unit_of_work() as s:
        wib = td.orders_by_category(_ask(db, profile, date(2026, 1, 1), date(2026, 2, 28), s))
        utc = td.orders_by_category(
            td.Ask(s, profile, td.Period(date(2026, 1, 1), date(2026, 2, 28), ZoneInfo("UTC")), NOW)
        )
    assert wib.rows == ("2026-01", "2026-02")
    by = {x.key: x.values for x in wib.series}
    assert by == {"terrorism": (1, 1), "gambling": (0, 1)}
    assert [x.label_id for x in wib.series] == ["Terorisme", "Perjudian"]
    assert {x.key: x.values for x in utc.series} == {"terrorism": (2, 0), "gambling": (1, 0)}


def test_time_to_action_median_and_p90_by_hand(
    db: Database, factory: Factory, profile: SopProfile
) -> None:
    reg, plat = factory.regulator(), factory.platform()
    acted = [_order(plat.id, reg.id, status=OrderStatus.COMPLIED) for _ in range(5)]
    objected = _order(plat.id, reg.id, status=OrderStatus.DISPUTED)
    never_received = _order(plat.id, reg.id, received=None, status=OrderStatus.ISSUED)
    answers = [_answer(o, h, late=h > 4) for o, h in zip(acted, (1, 2, 3, 4, 10), strict=True)]
    answers.append(_answer(objected, 0.5, late=False, action="not_done"))  # not an action
    _write(db, [*acted, objected, never_received], answers)
    with db.unit_of_work() as s:
        data = td.time_to_action(_ask(db, profile, date(2026, 1, 1), date(2026, 3, 31), s))
    series = {x.key: x.values for x in data.series}
    assert data.rows == ("2026-01", "2026-02", "2026-03")
    assert series["median"] == (None, 3.0, None)
    assert series["p90"] == (None, 7.6, None)  # 4 + 0.6 x (10 - 4)
    assert series["n"] == (0, 5, 0)
    assert [x.drawn for x in data.series] == [True, True, False]


def test_within_deadline_counts_overdue_and_unanswered_orders_as_late(
    db: Database, factory: Factory, profile: SopProfile
) -> None:
    reg = factory.regulator()
    a, b = factory.platform(), factory.platform()
    on_time = [_order(a.id, reg.id, status=OrderStatus.COMPLIED) for _ in range(2)]
    answered_late = _order(a.id, reg.id, status=OrderStatus.COMPLIED)
    overdue = _order(a.id, reg.id, status=OrderStatus.OVERDUE, overdue_at=T0 + timedelta(hours=4))
    # past its deadline, the scheduler not yet round: late now all the same
    lagging = _order(a.id, reg.id, status=OrderStatus.ACKNOWLEDGED)
    running = _order(
        a.id, reg.id, issued=NOW - timedelta(hours=1), received=NOW - timedelta(hours=1)
    )
    paused = _order(
        a.id, reg.id, status=OrderStatus.CLARIFICATION_REQUESTED, paused_at=T0 + timedelta(hours=1)
    )
    withdrawn = _order(a.id, reg.id, status=OrderStatus.WITHDRAWN)
    b_on_time = _order(b.id, reg.id, status=OrderStatus.COMPLIED)
    _write(
        db,
        [*on_time, answered_late, overdue, lagging, running, paused, withdrawn, b_on_time],
        [
            _answer(on_time[0], 1, late=False),
            _answer(on_time[1], 3.5, late=False),
            _answer(answered_late, 6, late=True),
            _answer(b_on_time, 2, late=False),
        ],
    )
    with db.unit_of_work() as s:
        data = td.within_deadline(_ask(db, profile, date(2026, 1, 1), date(2026, 3, 31), s))
        counts = td.verdict_counts(s, NOW)
        report = transparency.report(s, profile, NOW)
    names = {a.id: a.display_name, b.id: b.display_name}
    assert data.rows == (names[a.id], names[b.id])  # most orders first
    series = {x.key: x.values for x in data.series}
    assert series["share"] == (40.0, 100.0)  # 2 of 2 + 3
    assert series["on_time"] == (2, 1) and series["late"] == (3, 0)
    assert counts == {"on_time": 3, "late": 1, "overdue": 2, "other": 3}
    assert (report.responses_on_time, report.responses_late) == (3, 3)
    assert (report.answered_late, report.overdue_unanswered) == (1, 2)


def test_two_overdue_orders_are_not_reported_as_late_zero(
    db: Database, factory: Factory, profile: SopProfile
) -> None:
    """The bug: "late: 0" beside two overdue orders (late counted answers, not orders)."""
    reg, plat = factory.regulator(), factory.platform()
    _write(
        db,
        [
            _order(plat.id, reg.id, status=OrderStatus.OVERDUE, overdue_at=T0 + timedelta(hours=4))
            for _ in range(2)
        ],
    )
    with db.unit_of_work() as s:
        r = transparency.report(s, profile, NOW)
    assert r.responses_late == 2 and r.overdue_unanswered == 2
    assert r.to_dict()["orders"]["responses_late"] == 2


def test_warnings_fines_blocks_normalisation_and_appeals_by_month(
    db: Database, factory: Factory, profile: SopProfile
) -> None:
    reg, plat = factory.regulator(), factory.platform()
    orders = [_order(plat.id, reg.id, status=OrderStatus.OVERDUE) for _ in range(3)]
    _write(db, orders)
    feb, mar = datetime(2026, 2, 15, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)

    def step(
        order: dict[str, Any], code: str, at: datetime, fine: int = 0, **extra: Any
    ) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "order_id": order["id"],
            "position": int(code[-1]),
            "code": code,
            "kind": "warning_letter",
            "fine": fine,
            "currency": "IDR",
            "due_at": at,
            "issued_at": at,
            **extra,
        }

    with db.unit_of_work() as s:
        s.execute(
            insert(EscalationStep),
            [
                step(orders[0], "ST1", feb),
                step(orders[1], "ST1", feb),
                step(orders[0], "ST2", mar, fine=500_000_000),
                step(orders[1], "ST2", mar, fine=500_000_000, fine_annulled_at=mar),
                step(orders[2], "ST1", mar, annulled_at=mar),  # annulled: not counted
            ],
        )
        for i, (asked, hours) in enumerate([(feb, 10), (feb, 30), (feb, 50), (mar, 5)]):
            s.add(
                Normalisation(
                    reference=f"N-{i}",
                    source="platform",
                    reason="conditions met",
                    status=NormalisationStatus.APPROVED,
                    requested_by="x",
                    requested_at=asked,
                    decide_by=asked + timedelta(days=2),
                    decided_at=asked + timedelta(hours=hours),
                    sop_profile="indonesia",
                )
            )
        s.add(
            Normalisation(
                reference="N-refused",
                source="public",
                reason="no",
                status=NormalisationStatus.REFUSED,
                requested_by="x",
                requested_at=feb,
                decide_by=feb,
                decided_at=feb + timedelta(hours=1),
                sop_profile="indonesia",
            )
        )
        # where appeals stand (received -> under review -> upheld or rejected, migration 0112)
        standings = [
            (feb, AppealStatus.RECEIVED),
            (feb, AppealStatus.RECEIVED),
            (feb, AppealStatus.REJECTED),
            (mar, AppealStatus.UNDER_REVIEW),
            (mar, AppealStatus.UPHELD),
        ]
        for i, (at, status) in enumerate(standings):
            s.execute(
                insert(Appeal).values(
                    id=str(uuid.uuid4()),
                    reference=f"A-{i}",
                    domain="t.me",
                    contact_email="w@contoh.co.id",
                    statement="x",
                    status=status,
                    created_at=at,
                    decide_by=at + timedelta(days=14),
                )
            )
    with db.unit_of_work() as s:
        ask = _ask(db, profile, date(2026, 2, 1), date(2026, 3, 31), s)
        warnings, fines = td.warnings(ask), td.fines(ask)
        norm, appeals = td.time_to_normalisation(ask), td.appeals(ask)
    assert {x.key: x.values for x in warnings.series} == {"ST1": (2, 0), "ST2": (0, 2)}
    assert fines.series[0].values == (0, 500_000_000)
    norm_by = {x.key: x.values for x in norm.series}
    assert norm_by["median"] == (30.0, 5.0) and norm_by["p90"] == (46.0, 5.0)
    assert norm_by["n"] == (3, 1)
    assert {x.key: x.values for x in appeals.series} == {
        "received": (2, 0),
        "under_review": (0, 1),
        "upheld": (0, 1),
        "rejected": (1, 0),
    }
    assert [x.label_en for x in appeals.series] == [
        "Received",
        "Under review",
        "Upheld: access restored",
        "Rejected: the block stands",
    ]
    assert appeals.series[3].label_id == "Ditolak: pemblokiran tetap berlaku"


def test_blocks_added_and_lifted_this_month(db: Database, profile: SopProfile) -> None:
    from tangkal.blocklist import services as blocklist

    official = SYSTEM_OFFICIAL
    with db.unit_of_work() as s:
        for name in ("judi-satu-tangkal.com", "judi-dua-tangkal.com"):
            blocklist.create_block(
                s,
                official,
                blocklist.BlockRequest.build(
                    domain=name, action="nxdomain", legal_basis="UU 11/2008", reason="gambling"
                ),
            )
    with db.unit_of_work() as s:
        now = datetime.now(UTC)
        data = td.blocks(td.Ask(s, profile, td.parse_period(None, None, profile.zone, now), now))
    series = {x.key: [v or 0 for v in x.values] for x in data.series}
    assert series["added"][-1] == 2 and sum(series["added"]) == 2
    assert sum(series["restored"]) == 0 and sum(series["expired"]) == 0


def test_every_chart_costs_the_same_queries_for_ten_or_a_thousand_orders(
    db: Database, factory: Factory, profile: SopProfile
) -> None:
    reg, plat = factory.regulator(), factory.platform()

    def page_queries() -> int:
        with statements_sent(db.engine) as seen, db.unit_of_work() as s:
            ask = _ask(db, profile, date(2025, 4, 1), date(2026, 3, 31), s)
            transparency.report(s, profile, NOW)
            figures = td.compute_all(ask)
        assert len(figures) == len(td.CHARTS)
        return len(seen)

    def add(k: int) -> None:
        batch = [
            _order(
                plat.id,
                reg.id,
                status=OrderStatus.COMPLIED,
                issued=T0 - timedelta(days=i % 300),
                received=T0 - timedelta(days=i % 300),
            )
            for i in range(k)
        ]
        _write(db, batch, [_answer(o, 1 + i % 7, late=i % 7 > 3) for i, o in enumerate(batch)])

    add(10)
    few = page_queries()
    add(990)
    assert page_queries() == few
    with db.unit_of_work() as s:
        total = td.orders_by_category(_ask(db, profile, date(2025, 4, 1), date(2026, 3, 31), s))
    assert sum(v or 0 for x in total.series for v in x.values) == 1000


def test_key_figures_cut_months_in_the_profile_zone_too(
    db: Database, factory: Factory, profile: SopProfile
) -> None:
    from tangkal.blocklist import services as blocklist
    from tangkal.blocklist.models import BlockEntry

    official = SYSTEM_OFFICIAL
    with db.unit_of_work() as s:
        entry, _ = blocklist.create_block(
            s,
            official,
            blocklist.BlockRequest.build(
                domain="judi-tiga-tangkal.com",
                action="nxdomain",
                legal_basis="UU 11/2008",
                reason="gambling",
            ),
        )
        row = s.get(BlockEntry, entry.id)
        assert row is not None
        row.activated_at = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)  # 1 Feb 00:00 WIB
        s.execute(
            insert(Appeal).values(
                id=str(uuid.uuid4()),
                reference="A-zone",
                domain="judi-tiga-tangkal.com",
                contact_email="w@contoh.co.id",
                statement="x",
                status=AppealStatus.RECEIVED,
                created_at=datetime(2026, 1, 31, 16, 59, tzinfo=UTC),  # 31 Jan 23:59 WIB
                decide_by=NOW,
            )
        )
    reg, plat = factory.regulator(), factory.platform()
    orders = [_order(plat.id, reg.id, status=OrderStatus.COMPLIED) for _ in range(3)]
    first_objected = _order(plat.id, reg.id, status=OrderStatus.COMPLIED)
    answers = [_answer(o, h, late=False) for o, h in zip(orders, (1, 2, 6), strict=True)]
    answers.append(_answer(first_objected, 1, late=False, action="not_done"))
    later = _answer(first_objected, 5, late=False)  # then removed after all: 5 h to action
    answers.append(later)
    _write(db, [*orders, first_objected], answers)
    with db.unit_of_work() as s:
        r = transparency.report(s, profile, NOW)
    assert [(m.month, m.added) for m in r.blocks_by_month] == [("2026-02", 1)]
    assert r.appeals_by_month == (("2026-01", 1),)
    assert r.complied == 4 and r.median_hours_to_compliance == 3.5  # of 1, 2, 5, 6 hours
