"""Response models describe the answers; they do not change them.

Every answer of a route with a response model goes through the model (validated, then
serialised). Here each such answer is also encoded as it was before the models (the route's
own dictionary through FastAPI's plain encoder) and the two must be the same JSON: a field the
model lacks would have been dropped, a field it adds would show up as ``null``. Driven through
one whole order (filing, receipt, clarification, answer, evidence, the inbox) on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import fastapi.routing
import pytest
from fastapi.encoders import jsonable_encoder

from tangkal.accounts import services as accounts
from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import SYSTEM
from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.settings import Settings
from tests.factories import Factory

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """(before, after) of every answer serialised through a response model."""
    seen: list[tuple[Any, Any]] = []
    original = fastapi.routing.serialize_response

    async def both(**kw: Any) -> Any:
        out = await original(**kw)
        content = kw["response_content"]
        if kw.get("field") is not None and isinstance(content, dict | list):
            after = json.loads(out) if isinstance(out, bytes) else jsonable_encoder(out)
            seen.append((jsonable_encoder(content), after))
        return out

    monkeypatch.setattr(fastapi.routing, "serialize_response", both)
    return seen


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db, Settings(), background=False)) as c:
        yield c


def test_order_answers_are_unchanged_by_their_models(
    client: TestClient, factory: Factory, compared: list[tuple[Any, Any]]
) -> None:
    regulator = factory.regulator()
    platform = factory.platform(domains=["t.me"])
    analyst = {"Authorization": f"Bearer {factory.token(regulator, Role.ANALYST)}"}
    moderator = {"Authorization": f"Bearer {factory.token(platform, Role.MODERATOR)}"}
    admin = {"Authorization": f"Bearer {factory.token(platform, Role.ADMIN)}"}
    auditor = {"Authorization": f"Bearer {factory.token(regulator, Role.AUDITOR)}"}
    assert platform.kind is OrgKind.PLATFORM

    r = client.post(
        "/api/v1/orders",
        headers=analyst,
        json={
            "platform": platform.name,
            "category": "terrorism",
            "locators": ["https://t.me/somechannel/12", "t.me/s/somechannel"],
            "legal_basis": "UU 5/2018 Pasal 13A",
            "reason": "Bomb-making instructions.",
        },
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    # A second order about the same item: the first one's answer has related orders.
    client.post(
        "/api/v1/orders",
        headers=analyst,
        json={
            "platform": platform.name,
            "category": "terrorism",
            "locators": ["https://t.me/somechannel/12"],
            "legal_basis": "UU 5/2018 Pasal 13A",
            "reason": "Again.",
        },
    ).raise_for_status()

    calls: list[tuple[str, str, dict[str, str], dict[str, Any] | None]] = [
        ("GET", "/api/v1/inbox", moderator, None),
        ("POST", f"/api/v1/orders/{order_id}/ack", moderator, None),
        ("POST", f"/api/v1/orders/{order_id}/clarification", moderator, {"question": "Which?"}),
        ("POST", f"/api/v1/orders/{order_id}/clarification/answer", analyst, {"answer": "#12"}),
        (
            "POST",
            f"/api/v1/orders/{order_id}/response",
            moderator,
            {"action": "removed", "statement": "Removed the post and the channel."},
        ),
        ("GET", f"/api/v1/orders/{order_id}", analyst, None),
        ("GET", f"/api/v1/orders/{order_id}", moderator, None),
        ("GET", "/api/v1/orders?limit=5", analyst, None),
        ("GET", f"/api/v1/orders/{order_id}/deliveries", analyst, None),
        ("GET", "/api/v1/sop", analyst, None),
        ("GET", "/api/v1/me", moderator, None),
        ("GET", "/api/v1/orgs", analyst, None),
        ("PUT", "/api/v1/orgs/me/delivery", admin, {"webhook_url": "https://example.org/h"}),
        ("PUT", "/api/v1/orgs/me/delivery", admin, {"webhook_url": None}),
        ("GET", "/api/v1/audit?limit=1000", auditor, None),
        ("GET", "/api/v1/audit/verify", auditor, None),
    ]
    for method, path, headers, body in calls:
        r = client.request(method, path, headers=headers, json=body)
        assert r.status_code == 200, (path, r.text)
    r = client.post(
        f"/api/v1/orders/{order_id}/evidence",
        headers=analyst,
        files={"file": ("shot.png", b"\x89PNG not really", "image/png")},
    )
    assert r.status_code == 201, r.text

    assert len(compared) >= len(calls)  # the response route answers itself: documented only
    for before, after in compared:
        assert after == before
    bodies = [after for _, after in compared]
    assert any(isinstance(b, dict) and b.get("related_orders") for b in bodies)
    assert any(isinstance(b, dict) and b.get("escalation") is not None for b in bodies)


def _person_token(factory: Factory, regulator: Organization, username: str) -> str:
    """An official's token naming the person (approvals count people, not tokens)."""
    with factory.db.unit_of_work() as s:
        org = s.get(Organization, regulator.id)
        assert org is not None
        user = accounts.create_user(
            s, SYSTEM, org, username=username, role=Role.OFFICIAL, password=None
        )
        return accounts.create_token(s, SYSTEM, org, Role.OFFICIAL, user=user)


def test_block_answers_are_unchanged_by_their_models(
    client: TestClient, factory: Factory, compared: list[tuple[Any, Any]]
) -> None:
    regulator = factory.regulator()
    official = {"Authorization": f"Bearer {_person_token(factory, regulator, 'one')}"}
    other = {"Authorization": f"Bearer {_person_token(factory, regulator, 'two')}"}
    factory.platform(domains=["bigplatform.co.id"])
    block = {"action": "nxdomain", "legal_basis": "UU 11/2008 Pasal 40", "reason": "Terror."}
    r = client.post("/api/v1/blocks", headers=official, json={"domain": "bad-site.com", **block})
    assert r.status_code == 201, r.text
    block_id = r.json()["id"]
    # a whole platform's name waits for a second official
    r = client.post(
        "/api/v1/blocks", headers=official, json={"domain": "bigplatform.co.id", **block}
    )
    assert r.status_code == 201, r.text
    pending = r.json()["id"]
    calls: list[tuple[str, str, dict[str, str], dict[str, Any] | None]] = [
        ("GET", "/api/v1/blocks/assess?domain=www.bigplatform.co.id", official, None),
        ("GET", f"/api/v1/blocks/{block_id}", official, None),
        ("GET", "/api/v1/blocks?limit=10", official, None),
        ("GET", "/api/v1/public/lookup?domain=www.bad-site.com", {}, None),
        ("GET", "/api/v1/public/lookup?domain=good-site.com", {}, None),
        ("POST", f"/api/v1/blocks/{pending}/approve", other, None),  # the second official
        ("DELETE", f"/api/v1/blocks/{block_id}", official, {"reason": "Taken down."}),
        ("GET", f"/api/v1/blocks/{block_id}", official, None),
        ("POST", "/api/v1/blocks/protected", official, {"name": "kominfo.go.id", "note": "state"}),
        ("GET", "/api/v1/blocks/protected", official, None),
        ("DELETE", "/api/v1/blocks/protected/kominfo.go.id", official, None),
        ("GET", "/api/v1/appeals", official, None),
    ]
    for method, path, headers, body in calls:
        r = client.request(method, path, headers=headers, json=body)
        assert r.status_code in (200, 201), (path, r.text)
    r = client.post(
        "/api/v1/public/appeals",
        json={
            "domain": "bigplatform.co.id",
            "contact_email": "a@b.co.id",
            "statement": "This is our whole service; the post was removed.",
        },
    )
    assert r.status_code == 202, r.text
    assert len(compared) >= len(calls) + 2
    for before, after in compared:
        assert after == before


def _textured_png(seed: int) -> bytes:
    """A small image with detail enough for PDQ (quality above its floor)."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(base).resize((128, 128), Image.Resampling.BICUBIC).save(buf, format="PNG")
    return buf.getvalue()


def test_hash_bank_answers_are_unchanged_by_their_models(
    db: Database, tmp_path: Any, factory: Factory, compared: list[tuple[Any, Any]]
) -> None:
    regulator = factory.regulator()
    platform = factory.platform(domains=["t.me"])
    analyst = {"Authorization": f"Bearer {factory.token(regulator, Role.ANALYST)}"}
    moderator = {"Authorization": f"Bearer {factory.token(platform, Role.MODERATOR)}"}
    image = _textured_png(7)
    md5 = "0cc175b9c0f1b6a831c399e269772661"
    with TestClient(create_app(db, Settings(data_dir=tmp_path), background=False)) as client:
        r = client.post(
            "/api/v1/banks",
            headers=analyst,
            json={"name": "propaganda", "shared": True, "thresholds": {"pdq": 31}},
        )
        assert r.status_code == 201, r.text
        r = client.post(
            "/api/v1/banks/propaganda/content",
            headers=analyst,
            files={"file": ("poster.png", image, "image/png")},
            data={"label": "poster"},
        )
        assert r.status_code == 201, r.text
        content_id = r.json()["added"][0]["id"]
        json_calls: list[tuple[str, str, dict[str, str], dict[str, Any] | None]] = [
            (
                "POST",
                "/api/v1/banks/propaganda/content",
                analyst,
                {"signal_type": "md5", "signal": md5, "label": "leaflet"},
            ),
            ("GET", "/api/v1/banks", moderator, None),
            ("GET", "/api/v1/banks/propaganda", moderator, None),
            ("PATCH", "/api/v1/banks/propaganda", analyst, {"description": "ISIS posters"}),
            ("GET", "/api/v1/banks/propaganda/content?limit=10", analyst, None),
            ("GET", f"/api/v1/match?signal_type=md5&signal={md5}", moderator, None),
            ("POST", "/api/v1/match/text", moderator, {"text": "Sebarkan! Besok serangan."}),
            ("POST", f"/api/v1/match/{content_id}/feedback", moderator, {"verdict": "confirmed"}),
            ("GET", "/api/v1/hashing/stats", analyst, None),
        ]
        for method, path, headers, body in json_calls:
            r = client.request(method, path, headers=headers, json=body)
            assert r.status_code in (200, 201), (path, r.text)
        r = client.post(
            "/api/v1/match", headers=moderator, files={"file": ("copy.png", image, "image/png")}
        )
        assert r.status_code == 200 and r.json()["matches"], r.text
        other_md5 = "92eb5ffee6ae2fec3ad71c777531578f"
        r = client.post(
            "/api/v1/banks/propaganda/import",
            headers=analyst,
            files={
                "file": ("list.csv", f"signal_type,signal,label\nmd5,{other_md5},b\n", "text/csv")
            },
            data={"format": "csv"},
        )
        assert r.status_code == 200, r.text
        r = client.delete(f"/api/v1/banks/propaganda/content/{content_id}", headers=analyst)
        assert r.status_code == 200, r.text
    assert len(compared) >= len(json_calls) + 5
    for before, after in compared:
        assert after == before


def test_rpz_answers_are_unchanged_by_their_models(
    client: TestClient, db: Database, factory: Factory, compared: list[tuple[Any, Any]]
) -> None:
    from tangkal.rpz import services as rpz

    regulator, isp = factory.regulator(), factory.isp()
    with db.unit_of_work() as s:
        rpz.add_subscriber(s, SYSTEM, isp.name, "192.0.2.53:53", ["192.0.2.0/24"])
    official = {"Authorization": f"Bearer {factory.token(regulator, Role.OFFICIAL)}"}
    operator = {"Authorization": f"Bearer {factory.token(isp, Role.ISP)}"}
    for path, headers in (
        ("/api/v1/rpz/subscribers", official),
        ("/api/v1/rpz/subscribers", operator),
        ("/api/v1/rpz/status", operator),
    ):
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
    assert len(compared) == 3
    for before, after in compared:
        assert after == before
    assert compared[0][1]["subscribers"][0]["notify"] == "192.0.2.53:53"
