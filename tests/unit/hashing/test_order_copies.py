"""Copies of an order's banked evidence: recorded per find with the audit event, shown whole to
the order's regulator, to its platform its own finds and a count of the others', read in a
fixed number of statements however many finds there are; the API's model passes it unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from tests.evidence import banked_order, resized_jpeg, sample_png
from tests.factories import Factory
from tests.support import statements_sent

from tangkal.accounts.models import Role
from tangkal.accounts.principal import Principal
from tangkal.audit.services import events_for
from tangkal.db.session import Database
from tangkal.errors import NotFound
from tangkal.hashing import banks, evidence, matching, order_copies
from tangkal.hashing.content import hash_content
from tangkal.hashing.matcher import BankIndexes
from tangkal.hashing.models import FindVia, OrderCopy
from tangkal.orders import services as orders
from tangkal.orders.responses import OrderMatchesOut


@pytest.fixture(scope="module")
def photo() -> bytes:
    return sample_png("astronaut")


@pytest.fixture
def world(db: Database, factory: Factory, tmp_path: Path, photo: bytes) -> dict[str, Any]:
    """An order with a photo as evidence, banked in the regulator's shared bank."""
    reg, plat, other = factory.regulator(), factory.platform(), factory.platform()
    w: dict[str, Any] = {
        "analyst": factory.principal(reg, Role.ANALYST),
        "auditor": factory.principal(reg, Role.AUDITOR),
        "mod": factory.principal(plat, Role.MODERATOR),
        "other": factory.principal(other, Role.MODERATOR),
        "stranger_reg": factory.principal(factory.regulator(), Role.ANALYST),
        "idx": BankIndexes(db, tmp_path),
        "other_name": other.display_name,
        "plat_name": plat.display_name,
    }
    banked = banked_order(
        db,
        w["analyst"],
        w["idx"],
        platform=plat.name,
        bank="evidence-bank",
        filename="poster.png",
        content=photo,
        locator="https://t.me/poster_kanal/1",
        reason="propaganda poster",
    )
    w["order_id"], w["evidence_id"] = banked.order_id, banked.evidence_id
    return w


def _look_up(db: Database, w: dict[str, Any], who: Principal, content: bytes) -> list[OrderCopy]:
    with db.unit_of_work() as s:
        queries = [
            matching.Query(r.signal_type, r.signal) for r in hash_content(content) if r.signal
        ]
        found = matching.match(s, who, w["idx"], queries)
        return order_copies.record_finds(
            s, who, found, via=FindVia.API_FILE, upload_sha256=hashlib.sha256(content).hexdigest()
        )


def _view(db: Database, w: dict[str, Any], who: Principal) -> dict[str, Any]:
    with db.unit_of_work() as s:
        order = orders.get_order(s, who, w["order_id"])
        related = orders.related_orders(s, who, order)
        return order_copies.for_order(s, who, order, related).as_dict()


def test_a_find_is_a_row_and_an_audit_event_with_the_bank_threshold_and_lookup(
    db: Database, world: dict[str, Any], photo: bytes
) -> None:
    copy = resized_jpeg(photo)
    rows = _look_up(db, world, world["mod"], copy)
    assert len(rows) == 1  # the resized copy matches by PDQ only
    r = rows[0]
    assert (r.order_id, r.signal_type, r.bank_name) == (world["order_id"], "pdq", "evidence-bank")
    assert r.evidence_id == world["evidence_id"]
    assert 0 < r.distance <= 31 and r.threshold == 31
    assert r.query_signal and len(r.query_signal) == 64
    assert r.upload_sha256 == hashlib.sha256(copy).hexdigest()
    assert r.via is FindVia.API_FILE and r.found_by_org_id == world["mod"].org_id
    with db.unit_of_work() as s:
        matched = [
            e for e in events_for(s, "order", world["order_id"]) if e.action == "order.copy_matched"
        ]
    assert len(matched) == 1
    assert matched[0].data["via"] == "api_file"
    assert matched[0].data["matches"][0]["find_id"] == r.id


def test_the_regulator_sees_every_find_and_the_platform_its_own_and_a_count(
    db: Database, world: dict[str, Any], photo: bytes
) -> None:
    _look_up(db, world, world["mod"], resized_jpeg(photo))
    _look_up(db, world, world["other"], photo)  # the exact file: PDQ, MD5 and SHA-256
    regulator = _view(db, world, world["analyst"])
    assert regulator["copies_found"]["total"] == 4
    assert regulator["copies_found"]["by_other_organisations"] is None
    assert {f["found_by_org"] for f in regulator["copies_found"]["finds"]} == {
        world["plat_name"],
        world["other_name"],
    }
    assert {b["signal_type"] for b in regulator["banked"]} == {"pdq", "md5", "sha256"}
    assert {b["bank"] for b in regulator["banked"]} == {"evidence-bank"}
    assert _view(db, world, world["auditor"])["copies_found"]["total"] == 4  # the regulator's

    platform = _view(db, world, world["mod"])
    found = platform["copies_found"]
    assert (found["total"], found["shown_in_full"], found["by_other_organisations"]) == (4, 1, 3)
    assert [f["found_by_org_id"] for f in found["finds"]] == [world["mod"].org_id]
    assert world["other_name"] not in repr(platform)
    assert {b["bank"] for b in platform["banked"]} == {"evidence-bank"}  # a shared bank


def test_nobody_outside_the_orders_parties_sees_it(
    db: Database, world: dict[str, Any], photo: bytes
) -> None:
    _look_up(db, world, world["mod"], resized_jpeg(photo))
    for outsider in (world["other"], world["stranger_reg"]):
        with pytest.raises(NotFound):
            _view(db, world, outsider)


def test_a_private_bank_is_not_named_to_the_platform(
    db: Database, world: dict[str, Any], photo: bytes
) -> None:
    with db.unit_of_work() as s:
        banks.create_bank(s, world["analyst"], "private-bank", kind="order", shared=False)
        evidence.bank_order_evidence(
            s,
            world["analyst"],
            world["idx"],
            world["order_id"],
            world["evidence_id"],
            "private-bank",
        )
    names = {b["bank"] for b in _view(db, world, world["mod"])["banked"]}
    assert names == {"evidence-bank", None}
    assert {b["bank"] for b in _view(db, world, world["analyst"])["banked"]} == {
        "evidence-bank",
        "private-bank",
    }


def test_allow_list_and_suppressed_matches_and_other_content_are_not_finds(
    db: Database, world: dict[str, Any]
) -> None:
    base = {"bank": "evidence-bank", "content_id": 1, "signal_type": "md5", "distance": 0}
    matches = [
        {**base, "order_id": None, "allowlist": False, "suppressed_by_allowlist": False},
        {
            **base,
            "order_id": world["order_id"],
            "allowlist": True,
            "suppressed_by_allowlist": False,
        },
        {
            **base,
            "order_id": world["order_id"],
            "allowlist": False,
            "suppressed_by_allowlist": True,
        },
    ]
    with db.unit_of_work() as s:
        assert order_copies.record_finds(s, world["mod"], matches, via=FindVia.API_SIGNAL) == []
    assert _view(db, world, world["analyst"])["copies_found"]["total"] == 0


def _statements_for_view(db: Database, w: dict[str, Any], who: Principal) -> int:
    """Statements sent while the view of an already loaded order is read."""
    with db.unit_of_work() as s:
        order = orders.get_order(s, who, w["order_id"])
        with statements_sent(db.engine) as seen:
            order_copies.for_order(s, who, order, [])
    return len(seen)


def test_reading_costs_the_same_for_one_find_and_for_many(
    db: Database, world: dict[str, Any], photo: bytes
) -> None:
    _look_up(db, world, world["mod"], resized_jpeg(photo))
    one = {who: _statements_for_view(db, world, world[who]) for who in ("analyst", "mod")}
    for _ in range(12):
        _look_up(db, world, world["mod"], photo)
        _look_up(db, world, world["other"], photo)
    many = {who: _statements_for_view(db, world, world[who]) for who in ("analyst", "mod")}
    assert one == many == {"analyst": 2, "mod": 2}
    assert _view(db, world, world["analyst"])["copies_found"]["total"] == 1 + 12 * 6


def test_only_the_newest_rows_are_listed_and_the_counts_cover_all(
    db: Database, world: dict[str, Any], photo: bytes
) -> None:
    for _ in range(3):
        _look_up(db, world, world["mod"], photo)  # three finds each
    with db.unit_of_work() as s:
        order = orders.get_order(s, world["mod"], world["order_id"])
        page = order_copies.for_order(s, world["mod"], order, [], rows=4)
    assert (page.total, page.shown_total, len(page.finds)) == (9, 9, 4)
    assert [f.found_at for f in page.finds] == sorted(
        (f.found_at for f in page.finds), reverse=True
    )


def test_the_api_model_passes_the_answer_unchanged(
    db: Database, world: dict[str, Any], photo: bytes
) -> None:
    _look_up(db, world, world["mod"], resized_jpeg(photo))
    for who in ("analyst", "mod"):
        answer = {"order_id": world["order_id"], **_view(db, world, world[who])}
        out = OrderMatchesOut.model_validate(answer).model_dump(mode="json", exclude_unset=True)
        assert out == answer
