"""The order lists make a fixed number of database round trips, whatever the number of
orders: counted with SQLAlchemy's ``before_cursor_execute`` on the app's own engine while
the pages are read over HTTP (in process), with 1,000 orders and with a handful."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.orders.models import OrderStatus
from tangkal.settings import Settings
from tests.factories import Factory
from tests.unit.web.console_client import Counter, sign_in
from tests.unit.web.worklist_seed import PASSWORD, Spec, World, file_orders, world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

_NEXT = re.compile(r'href="(/console/orders\?[^"]*after=[^"]+)" rel="next"')
_PREV = re.compile(r'href="(/console/orders\?[^"]*before=[^"]+)" rel="prev"')


@pytest.fixture
def app_db(db: Database) -> Iterator[tuple[Database, TestClient]]:
    with TestClient(create_app(db, Settings(), background=False)) as c:
        yield db, c


def _sign_in(client: TestClient, org: str, user: str) -> None:
    sign_in(client, org, user, PASSWORD)


def _specs(n: int, tag: str) -> list[Spec]:
    """A mix of every state the lists show: running clocks of both classes, overdue,
    paused, answered."""
    out = []
    for i in range(n):
        k = i % 10
        out.append(
            Spec(
                f"{tag}_chan_{i:04d}",
                ago=timedelta(minutes=(i * 7) % 1500),
                category="gambling" if k < 6 else "terrorism",
                status=(
                    OrderStatus.COMPLIED
                    if k == 9
                    else OrderStatus.CLARIFICATION_REQUESTED
                    if k == 8
                    else OrderStatus.ISSUED
                ),
                paused=k == 8,
            )
        )
    return out


def _pages(counter: Counter, client: TestClient, w: World, who: str) -> dict[str, int]:
    """The statements of each list page a person reads: the first page, the next, back,
    a search, a band, the closed list."""
    got: dict[str, int] = {}
    got["first"], first = counter.get(client, "/console/orders")
    nxt = _NEXT.search(first)
    assert nxt, "the first page links to the next"
    got["next"], second = counter.get(client, nxt.group(1).replace("&amp;", "&"))
    prev = _PREV.search(second)
    assert prev
    got["previous"], _ = counter.get(client, prev.group(1).replace("&amp;", "&"))
    got["search"], _ = counter.get(client, "/console/orders?q=chan_0")
    got["band"], _ = counter.get(client, "/console/orders?urgency=lt24h")
    got["closed"], _ = counter.get(client, "/console/orders?show=closed")
    if who == "regulator":
        got["platform"], _ = counter.get(
            client, f"/console/orders?platform={w.platform.name}&q=t.me"
        )
    return got


def test_each_list_page_costs_the_same_round_trips_for_1000_orders_as_for_120(
    app_db: tuple[Database, TestClient], factory: Factory, backend: str
) -> None:
    db, client = app_db
    w = world(factory)
    counter = Counter(db)
    now = datetime.now(UTC)
    file_orders(db, w.analyst, w.platform, _specs(120, "a"), now)
    file_orders(db, w.analyst, w.other, _specs(30, "o"), now)  # another tenant's, never shown
    few = {}
    for who, org, person in (
        ("platform", w.platform, w.moderator),
        ("regulator", w.regulator, w.analyst),
    ):
        _sign_in(client, org.name, person.username or "")
        few[who] = _pages(counter, client, w, who)
    file_orders(db, w.analyst, w.platform, _specs(880, "b"), now)
    for who, org, person in (
        ("platform", w.platform, w.moderator),
        ("regulator", w.regulator, w.analyst),
    ):
        _sign_in(client, org.name, person.username or "")
        many = _pages(counter, client, w, who)
        assert many == few[who], (who, few[who], many)
        # and few in absolute terms: the sign-in check (record, person, organisation),
        # the rows, the band counts, the status counts, the platforms of the regulator's
        # filter; SQLite's BEGIN IMMEDIATE goes through the cursor too
        expected = 6 + (who == "regulator") + (backend == "sqlite")
        assert set(many.values()) == {expected}, (who, many)


def test_the_first_page_of_1000_shows_the_soonest_deadline_first(
    app_db: tuple[Database, TestClient], factory: Factory
) -> None:
    db, client = app_db
    w = world(factory)
    now = datetime.now(UTC)
    file_orders(db, w.analyst, w.platform, _specs(1000, "c"), now)
    _sign_in(client, w.platform.name, w.moderator.username or "")
    page = client.get("/console/orders", params={"lang": "en"}).text
    deadlines = re.findall(r'<time class="countdown[^"]*" datetime="([^"]+)"', page)
    assert len(deadlines) == 50
    parsed = [datetime.fromisoformat(d) for d in deadlines]
    assert parsed == sorted(parsed)
    assert "Overdue" in page and page.index("Overdue") < page.index("Less than 1 hour left")
