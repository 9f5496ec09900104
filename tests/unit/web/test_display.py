"""Navigation per role, closeness of matches in words, WIB form times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tangkal.accounts.models import OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.errors import InvalidInput
from tangkal.web.display import closeness, nav_items, parse_wib, short_signal


def _p(kind: OrgKind, role: Role) -> Principal:
    return Principal(org_id="o", org_name="o", org_kind=kind, role=role)


def _hrefs(kind: OrgKind, role: Role) -> list[str]:
    return [i.href for i in nav_items(_p(kind, role))]


def test_each_role_is_offered_only_the_sections_it_may_use() -> None:
    assert _hrefs(OrgKind.REGULATOR, Role.OFFICIAL) == [
        "/console/orders",
        "/console/orders/new",
        "/console/escalations",
        "/console/objections",
        "/console/normalisations",
        "/console/cases",
        "/console/blocks",
        "/console/appeals",
        "/console/banks",
        "/console/match",
        "/console/compliance",
        "/console/rpz",
    ]
    assert _hrefs(OrgKind.PLATFORM, Role.MODERATOR) == [
        "/console/orders",
        "/console/sanctions",
        "/console/objections",
        "/console/normalisations",
        "/console/cases",
        "/console/banks",
        "/console/match",
    ]
    assert _hrefs(OrgKind.ISP, Role.ISP) == ["/console/compliance", "/console/rpz"]
    assert "/console/orders/new" not in _hrefs(OrgKind.REGULATOR, Role.AUDITOR)
    assert nav_items(None) == []


def test_the_current_section_is_marked_but_new_order_is_not_orders() -> None:
    items = {i.href: i for i in nav_items(_p(OrgKind.REGULATOR, Role.ANALYST))}
    assert items["/console/orders"].current("/console/orders/abc")
    assert not items["/console/orders"].current("/console/orders/new")
    assert items["/console/orders/new"].current("/console/orders/new")
    assert items["/console/blocks"].current("/console/protected")
    assert not items["/console/banks"].current("/console/banksy")


@pytest.mark.parametrize(
    ("signal_type", "distance", "label", "level"),
    [
        ("pdq", 0, "identical", "exact"),
        ("pdq", 10, "very close", "very-close"),
        ("pdq", 11, "similar", "close"),
        ("pdq", 31, "similar", "close"),
        ("md5", 0, "exact copy", "exact"),
        ("sha256", 0, "exact copy", "exact"),
        ("text", 0, "exact copy", "exact"),
        ("text_near", 3, "very close", "very-close"),
        ("text_near", 18, "similar", "close"),
    ],
)
def test_closeness_in_words(signal_type: str, distance: int, label: str, level: str) -> None:
    c = closeness(signal_type, distance)
    assert (c.label, c.level) == (label, level)
    assert 0 <= c.percent <= 100


def test_closer_pdq_matches_draw_a_fuller_bar() -> None:
    bars = [closeness("pdq", d).percent for d in (0, 5, 10, 20, 31, 80)]
    assert bars == sorted(bars, reverse=True) and bars[-1] == 0


def test_short_signal_keeps_short_values_whole() -> None:
    assert short_signal("abcd") == "abcd"
    assert short_signal("a" * 64) == "a" * 16 + "…"


def test_form_times_are_read_as_wib() -> None:
    assert parse_wib("2017-08-10T12:00", "expires_at") == datetime(2017, 8, 10, 5, 0, tzinfo=UTC)
    assert parse_wib("2017-08-10T12:00+00:00", "x") == datetime(2017, 8, 10, 12, 0, tzinfo=UTC)
    assert parse_wib("  ", "x") is None
    with pytest.raises(InvalidInput) as exc:
        parse_wib("next tuesday", "expires_at")
    assert exc.value.field == "expires_at"
