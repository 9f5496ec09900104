"""The order page's "evidence in the hash banks" section costs the same number of database
statements for one find as for many (counted on the app's own engine while the page is read
over HTTP, in process), and shows each party what it may see."""

from __future__ import annotations

import base64
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.hashing import banks, evidence, order_copies
from tangkal.hashing.matcher import BankIndexes
from tangkal.hashing.models import Bank, BankContent, FindVia
from tangkal.orders import services as orders
from tangkal.orders.schemas import EvidenceIn, OrderIn
from tangkal.settings import Settings
from tests.factories import Factory
from tests.unit.web.worklist_seed import PASSWORD, World, world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db, Settings(), background=False)) as c:
        yield c


def _sign_in(client: TestClient, org: str, user: str) -> None:
    client.cookies.clear()
    token = _CSRF.search(client.get("/login").text)
    assert token
    r = client.post(
        "/login",
        data={"org": org, "username": user, "password": PASSWORD, "csrf_token": token.group(1),
              "next": "/console"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text[:500]


def _banked_order(db: Database, w: World, tmp_path: Path) -> str:
    with db.unit_of_work() as s:
        banks.create_bank(s, w.analyst, "page-bank", kind="order", shared=True)
        order = orders.file_order(
            s,
            w.analyst,
            OrderIn(
                platform=w.platform.name,
                category="terrorism",
                locators=["https://t.me/halaman_kanal/3"],
                legal_basis="UU 5/2018",
                reason="manifesto",
                evidence=[
                    EvidenceIn(
                        filename="manifesto.txt",
                        content_base64=base64.b64encode(b"a manifesto, as a file").decode(),
                    )
                ],
            ),
        )
        evidence.bank_order_evidence(
            s, w.analyst, BankIndexes(db, tmp_path), order.id, order.evidence[0].id, "page-bank"
        )
        return order.id


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


def _statements(db: Database, client: TestClient, url: str) -> tuple[int, str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code == 200, r.text[:2000]
    return len(seen), r.text


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
    _sign_in(app, w.regulator.name, w.analyst.username or "")
    app.get(url)  # the first read of a page warms caches (templates, catalogues)
    one, _ = _statements(db, app, url)
    _finds(db, order_id, w.moderator, 20)
    _finds(db, order_id, w.other_moderator, 20)
    many, html = _statements(db, app, url)
    assert many == one
    section = html.split('id="evidence-matches"')[1]
    assert w.platform.display_name in section and w.other.display_name in section

    _sign_in(app, w.platform.name, w.moderator.username or "")
    app.get(url)
    own_one, page = _statements(db, app, url)
    _finds(db, order_id, w.other_moderator, 5)
    own_many, _ = _statements(db, app, url)
    assert own_one == own_many
    section = page.split('id="evidence-matches"')[1].split("</section>")[0]
    assert w.other.display_name not in section
    assert "found by other organisations" in section
