"""The order page's "evidence in the hash banks" section costs the same number of database
statements for one find as for many (counted on the app's own engine while the page is read
over HTTP, in process), and shows each party what it may see."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.hashing import order_copies
from tangkal.hashing.models import Bank, BankContent, FindVia
from tangkal.settings import Settings
from tests.evidence import banked_order
from tests.factories import Factory
from tests.unit.web.console_client import Counter, sign_in
from tests.unit.web.worklist_seed import PASSWORD, World, world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def app(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db, Settings(), background=False)) as c:
        yield c


def _banked_order(db: Database, w: World, tmp_path: Path) -> str:
    return banked_order(
        db,
        w.analyst,
        tmp_path,
        platform=w.platform.name,
        bank="page-bank",
        filename="manifesto.txt",
        content=b"a manifesto, as a file",
        locator="https://t.me/halaman_kanal/3",
        reason="manifesto",
    ).order_id


def _finds(db: Database, order_id: str, who: Any, n: int) -> None:
    """``n`` lookups by ``who`` that each matched every signal banked from the order."""
    with db.unit_of_work() as s:
        rows = s.execute(
            select(BankContent, Bank).join(Bank).where(BankContent.order_id == order_id)
        ).all()
        matches = [
            {
                "order_id": order_id,
                "bank_id": b.id,
                "bank": b.name,
                "content_id": c.id,
                "signal_type": c.signal_type,
                "signal": c.signal,
                "query_signal": c.signal,
                "distance": 0,
            }
            for c, b in rows
        ]
        for _ in range(n):
            order_copies.record_finds(s, who, matches, via=FindVia.API_SIGNAL)


def test_the_order_page_costs_the_same_for_one_find_and_for_many(
    db: Database, factory: Factory, app: TestClient, tmp_path: Path
) -> None:
    w = world(factory)
    order_id = _banked_order(db, w, tmp_path)
    url = f"/console/orders/{order_id}?lang=en"
    # one find by each platform first: the page names each organisation once (the people
    # directory reads an organisation's people once, for the timeline and this section alike)
    _finds(db, order_id, w.moderator, 1)
    _finds(db, order_id, w.other_moderator, 1)
    counter = Counter(db)
    sign_in(app, w.regulator.name, w.analyst.username or "", PASSWORD)
    app.get(url)  # the first read of a page warms caches (templates, catalogues)
    one, _ = counter.get(app, url)
    _finds(db, order_id, w.moderator, 20)
    _finds(db, order_id, w.other_moderator, 20)
    many, html = counter.get(app, url)
    assert many == one
    section = html.split('id="evidence-matches"')[1]
    assert w.platform.display_name in section and w.other.display_name in section

    sign_in(app, w.platform.name, w.moderator.username or "", PASSWORD)
    app.get(url)
    own_one, page = counter.get(app, url)
    _finds(db, order_id, w.other_moderator, 5)
    own_many, _ = counter.get(app, url)
    assert own_one == own_many
    section = page.split('id="evidence-matches"')[1].split("</section>")[0]
    assert w.other.display_name not in section
    assert "found by other organisations" in section
