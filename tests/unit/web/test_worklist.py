"""The order lists by time left: bands, sort key, keyset cursor, search and scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tangkal.db.session import Database
from tangkal.errors import InvalidInput
from tangkal.orders.models import OrderStatus
from tangkal.sop.profile import load_profile
from tangkal.web import worklist
from tangkal.web.worklist import Cursor, ListQuery, band_of, bands_for, clock, read_page
from tests.factories import Factory
from tests.unit.web.worklist_seed import Spec, file_orders, world

H = timedelta(hours=1)
NOW = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
INDONESIA = bands_for([4 * H, 24 * H])


def test_bands_follow_the_profiles_deadline_classes() -> None:
    keys = [b.key for b in INDONESIA]
    assert keys == ["overdue", "lt1h", "lt4h", "lt24h", "later", "paused"]
    assert [b.key for b in bands_for([H])] == ["overdue", "lt1h", "later", "paused"]
    assert [b.key for b in bands_for([24 * H, 7 * 24 * H])] == [
        "overdue",
        "lt1h",
        "lt24h",
        "lt7d",
        "later",
        "paused",
    ]
    for name in ("indonesia", "eu-tco", "netzdg"):
        profile = load_profile(name)
        got = bands_for(profile.deadlines.values())
        assert got[0].key == "overdue" and got[-1].key == "paused"
        assert len({b.key for b in got}) == len(got)


@pytest.mark.parametrize(
    ("left", "key"),
    [
        (-timedelta(days=3), "overdue"),
        (-timedelta(seconds=1), "overdue"),
        (timedelta(0), "lt1h"),
        (H - timedelta(seconds=1), "lt1h"),
        (H, "lt4h"),
        (4 * H - timedelta(seconds=1), "lt4h"),
        (4 * H, "lt24h"),
        (24 * H, "later"),
        (timedelta(days=9), "later"),
    ],
)
def test_band_of_a_running_clock(left: timedelta, key: str) -> None:
    assert band_of(INDONESIA, NOW + left, False, NOW).key == key


def test_a_stopped_clock_is_in_the_paused_band_whatever_its_deadline() -> None:
    assert band_of(INDONESIA, NOW - 5 * H, True, NOW).key == "paused"


def test_band_labels_say_the_span_in_the_readers_words() -> None:
    from tangkal.web.i18n import Formatter

    labels = {b.key: b.label for b in INDONESIA}
    assert Formatter("en").message(labels["lt4h"]) == "Less than 4 hours left"
    assert Formatter("en").message(labels["later"]) == "More than 1 day left"
    assert "4 jam" in Formatter("id").message(labels["lt4h"])


def test_clock_reads_hours_minutes_seconds() -> None:
    assert clock(3 * 3600 + 7 * 60 + 9.8) == "3:07:09"
    assert clock(-41.2) == "-0:00:41"
    assert clock(30 * 3600) == "30:00:00"
    assert clock(0.4) == "0:00:00"


def test_cursor_round_trips_and_refuses_anything_else() -> None:
    c = Cursor("open", True, datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "ab-12")
    assert Cursor.decode(c.encode(), "open", "after") == c
    for bad in ("", "x", "!!!!", c.encode() + "x", "a" * 300, c.encode()[:-3]):
        with pytest.raises(InvalidInput) as got:
            Cursor.decode(bad, "open", "after")
        assert got.value.field == "after"
    with pytest.raises(InvalidInput):
        Cursor.decode(c.encode(), "closed", "before")  # a link of the other list
    import base64

    for raw in (
        "open|2|2026-01-02T03:04:05+00:00|ab",
        "open|0|2026-01-02T03:04:05|ab",
        "open|0|2026-01-02T03:04:05+00:00|ab'; drop",
        "open|0|yesterday|ab",
    ):
        forged = base64.urlsafe_b64encode(raw.encode()).decode()
        with pytest.raises(InvalidInput):
            Cursor.decode(forged, "open", "after")


def _parse(**kw: str) -> ListQuery:
    args = {
        "show": "",
        "status": "",
        "urgency": "",
        "category": "",
        "platform": "",
        "q": "",
        "after": "",
        "before": "",
    } | kw
    return worklist.parse_query(
        **args, bands=INDONESIA, categories=["terrorism", "gambling"], platforms={"tg": "id-1"}
    )


def test_parse_query_names_the_field_it_refuses() -> None:
    for kw, field in (
        ({"show": "everything"}, "show"),
        ({"status": "lost"}, "status"),
        ({"urgency": "lt3h"}, "urgency"),
        ({"category": "spam"}, "category"),
        ({"platform": "nobody"}, "platform"),
        ({"q": "x" * 201}, "q"),
        ({"after": "garbage"}, "after"),
        ({"before": "garbage"}, "before"),
        ({"after": "a", "before": "b"}, "after"),
    ):
        with pytest.raises(InvalidInput) as got:
            _parse(**kw)
        assert got.value.field == field, kw


def test_parse_query_picks_the_list_from_the_status_and_band() -> None:
    assert _parse().view == "open"
    assert _parse(status="complied").view == "closed"
    assert _parse(status="overdue").view == "open"
    assert _parse(show="closed", urgency="overdue").view == "open"
    got = _parse(q="  t.me/x  ", platform="tg", category="gambling")
    assert (got.text, got.platform_id, got.category) == ("t.me/x", "id-1", "gambling")


def test_search_fragments_drop_scheme_www_and_at() -> None:
    assert worklist.search_fragments("HTTPS://www.Example.com/a") == (
        "https://www.example.com/a",
        "example.com/a",
    )
    assert worklist.search_fragments("@kanal")[1] == "kanal"


# ------------------------------------------------------------------ against the database


def test_open_orders_come_soonest_first_overdue_on_top_paused_last(
    db: Database, factory: Factory
) -> None:
    w = world(factory)
    now = datetime.now(UTC)
    specs = [
        Spec("a_23h", ago=H, category="gambling"),  # 23 h left
        Spec("b_3h", ago=H),  # 3 h left
        Spec("c_late", ago=30 * H, category="gambling", status=OrderStatus.OVERDUE),
        Spec("d_paused", ago=3 * H, status=OrderStatus.CLARIFICATION_REQUESTED, paused=True),
        Spec("e_30m", ago=3 * H + 30 * 60 * timedelta(seconds=1)),
        Spec("f_done", ago=2 * H, status=OrderStatus.COMPLIED),
    ]
    ids = dict(
        zip(
            [s.channel for s in specs],
            file_orders(db, w.analyst, w.platform, specs, now),
            strict=True,
        )
    )
    with db.unit_of_work() as s:
        page = read_page(s, w.moderator, ListQuery(), INDONESIA, now)
        got = [r.order.id for r in page.rows]
        assert got == [ids[k] for k in ("c_late", "e_30m", "b_3h", "a_23h", "d_paused")]
        groups = worklist.group_rows(page.rows, INDONESIA, "open", now)
        assert [g.band.key for g in groups if g.band] == [
            "overdue",
            "lt1h",
            "lt4h",
            "lt24h",
            "paused",
        ]
        assert page.counts == {
            "overdue": 1,
            "lt1h": 1,
            "lt4h": 1,
            "lt24h": 1,
            "later": 0,
            "paused": 1,
        }
        assert page.prev is None and page.next is None
        assert all(r.items == 1 for r in page.rows)
        assert page.rows[0].first_item == "t.me/c_late/1"
        closed = read_page(s, w.moderator, ListQuery(view="closed"), INDONESIA, now)
        assert [r.order.id for r in closed.rows] == [ids["f_done"]]
        urgent = read_page(s, w.moderator, ListQuery(urgency="lt4h"), INDONESIA, now)
        assert [r.order.id for r in urgent.rows] == [ids["b_3h"]]


def _walk(db: Database, w: object, lq: ListQuery, now: datetime, size: int) -> list[str]:
    """Every order, page after page by the Next cursor."""
    seen: list[str] = []
    with db.unit_of_work() as s:
        while True:
            page = read_page(s, w.moderator, lq, INDONESIA, now, page_size=size)  # type: ignore[attr-defined]
            seen += [r.order.id for r in page.rows]
            if page.next is None:
                return seen
            lq = ListQuery(view=lq.view, after=page.next)


def test_keyset_pages_forward_and_back_cover_every_order_once(
    db: Database, factory: Factory
) -> None:
    w = world(factory)
    now = datetime.now(UTC)
    # equal deadlines on purpose (the same "issued" moment): the id breaks the tie
    specs = [
        Spec(
            f"chan_k{i}",
            ago=timedelta(minutes=(i % 7) * 10),
            category="gambling" if i % 3 else "terrorism",
        )
        for i in range(23)
    ]
    specs += [
        Spec(f"chan_p{i}", status=OrderStatus.CLARIFICATION_REQUESTED, paused=True)
        for i in range(4)
    ]
    file_orders(db, w.analyst, w.platform, specs, now)
    with db.unit_of_work() as s:
        everything = [
            r.order.id
            for r in read_page(s, w.moderator, ListQuery(), INDONESIA, now, page_size=100).rows
        ]
    assert len(everything) == 27
    assert _walk(db, w, ListQuery(), now, 5) == everything
    # and back: from the last page, Previous until the first
    with db.unit_of_work() as s:
        lq = ListQuery()
        pages = []
        while True:
            page = read_page(s, w.moderator, lq, INDONESIA, now, page_size=5)
            pages.append([r.order.id for r in page.rows])
            if page.next is None:
                break
            lq = ListQuery(after=page.next)
        back = [pages[-1]]
        while page.prev is not None:
            page = read_page(
                s, w.moderator, ListQuery(before=page.prev), INDONESIA, now, page_size=5
            )
            back.append([r.order.id for r in page.rows])
        assert back[::-1] == pages


def test_a_page_boundary_holds_when_orders_arrive_meanwhile(db: Database, factory: Factory) -> None:
    w = world(factory)
    now = datetime.now(UTC)
    file_orders(
        db,
        w.analyst,
        w.platform,
        [Spec(f"chan_s{i}", ago=timedelta(minutes=i)) for i in range(10)],
        now,
    )
    with db.unit_of_work() as s:
        first = read_page(s, w.moderator, ListQuery(), INDONESIA, now, page_size=4)
    # five more orders with the soonest deadlines of all arrive while page 1 is read
    file_orders(
        db,
        w.analyst,
        w.platform,
        [Spec(f"chan_n{i}", ago=timedelta(minutes=50 + i)) for i in range(5)],
        now,
    )
    assert first.next is not None
    with db.unit_of_work() as s:
        second = read_page(s, w.moderator, ListQuery(after=first.next), INDONESIA, now, page_size=4)
        shown = [r.order.id for r in first.rows]
        assert not set(shown) & {r.order.id for r in second.rows}
        # page 2 continues exactly where page 1 stopped, in the old orders' own sequence
        assert [r.order.deadline_at for r in second.rows] == sorted(
            r.order.deadline_at for r in second.rows
        )
        assert min(r.order.deadline_at for r in second.rows) >= max(
            r.order.deadline_at for r in first.rows
        )


def test_search_by_reference_locator_and_platform_never_leaves_the_tenant(
    db: Database, factory: Factory
) -> None:
    w = world(factory)
    now = datetime.now(UTC)
    mine = file_orders(db, w.analyst, w.platform, [Spec("shared_name_mine"), Spec("other_x")], now)
    theirs = file_orders(db, w.analyst, w.other, [Spec("shared_name_theirs")], now)
    with db.unit_of_work() as s:

        def found(who: object, text: str) -> set[str]:
            lq = ListQuery(text=text)
            return {r.order.id for r in read_page(s, who, lq, INDONESIA, now).rows}  # type: ignore[arg-type]

        assert found(w.moderator, "shared_name") == {mine[0]}
        assert found(w.other_moderator, "shared_name") == {theirs[0]}
        assert found(w.moderator, "SHARED_NAME_THEIRS") == set()
        assert found(w.moderator, "https://t.me/shared_name_mine/1") == {mine[0]}
        assert found(w.moderator, "T.ME/OTHER") == {mine[1]}
        from tangkal.orders.models import Order

        ref = s.get(Order, theirs[0]).reference  # type: ignore[union-attr]
        assert found(w.moderator, ref) == set()
        assert found(w.other_moderator, ref[-6:].lower()) == {theirs[0]}
        # a platform's name finds nothing for a platform (its own orders only, and no
        # match on names); the regulator finds that platform's orders by its name
        assert found(w.moderator, w.other.name) == set()
        assert found(w.analyst, w.other.name) == {theirs[0]}
        assert found(w.analyst, "shared_name") == {mine[0], theirs[0]}
        # LIKE wildcards are searched as themselves
        assert found(w.moderator, "%") == set() and found(w.moderator, "_") == {mine[0], mine[1]}
        counts = read_page(s, w.moderator, ListQuery(text="shared_name"), INDONESIA, now).counts
        assert sum(counts.values()) == 1


def test_previous_at_the_start_with_a_short_page_shows_the_first_page_whole(
    db: Database, factory: Factory
) -> None:
    w = world(factory)
    now = datetime.now(UTC)
    ids = file_orders(
        db,
        w.analyst,
        w.platform,
        [Spec(f"chan_q{i}", ago=timedelta(minutes=i)) for i in range(9)],
        now,
    )
    with db.unit_of_work() as s:
        first = read_page(s, w.moderator, ListQuery(), INDONESIA, now, page_size=4)
        second = read_page(s, w.moderator, ListQuery(after=first.next), INDONESIA, now, page_size=4)
    # two orders of page 1 are answered meanwhile: Previous finds only two before page 2
    from sqlalchemy import update

    from tangkal.orders.models import Order

    with db.unit_of_work() as s:
        gone = [first.rows[0].order.id, first.rows[1].order.id]
        s.execute(update(Order).where(Order.id.in_(gone)).values(status=OrderStatus.COMPLIED))
    with db.unit_of_work() as s:
        back = read_page(s, w.moderator, ListQuery(before=second.prev), INDONESIA, now, page_size=4)
        assert len(back.rows) == 4 and back.prev is None
        assert [r.order.id for r in back.rows] == [
            r.order.id
            for r in read_page(s, w.moderator, ListQuery(), INDONESIA, now, page_size=4).rows
        ]
    assert set(ids) >= {r.order.id for r in back.rows}
