"""A landing block with a landing page of its own reaches the zone with it, however it takes
effect (at once, on approval, when its time comes); only landing blocks take one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tangkal.blocklist import services
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.errors import InvalidInput
from tangkal.rpz.models import RpzEntry
from tests.unit.blocklist.conftest import People
from tests.unit.blocklist.test_services import create, req

OWN = "a:192.0.2.50,aaaa:2001:db8::50"


def landings(db: Database) -> dict[str, str | None]:
    with db.read_only() as s:
        return dict(s.execute(select(RpzEntry.name, RpzEntry.landing)).all())


def test_a_landing_of_its_own_is_kept_on_the_block_and_in_the_zone(
    db: Database, people: People
) -> None:
    entry = create(db, people.official(), "own.example.com", action="landing", landing=OWN)
    assert services.to_dict(entry)["landing"] == OWN
    plain = create(db, people.official(), "plain.example.com", action="landing")
    assert services.to_dict(plain)["landing"] is None
    assert landings(db) == {"own.example.com": OWN, "plain.example.com": None}


def test_an_approved_or_scheduled_block_takes_its_landing_along(
    db: Database, people: People
) -> None:
    pending = create(db, people.analyst(), "later.example.net", action="landing", landing=OWN)
    with db.unit_of_work() as s:
        services.approve(s, people.official(), pending.id)
    soon = utcnow() + timedelta(minutes=5)
    create(
        db,
        people.official(),
        "timed.example.net",
        action="landing",
        landing="cname:Own.Example",
        effective_at=soon,
    )
    assert landings(db) == {"later.example.net": OWN}
    with db.unit_of_work() as s:
        services.run_due(s, now=soon + timedelta(seconds=1))
    assert landings(db)["timed.example.net"] == "cname:own.example."


@pytest.mark.parametrize(
    "kw",
    [
        {"action": "nxdomain", "landing": OWN},
        {"action": "landing", "landing": "a:300.1.1.1"},
        {"action": "landing", "landing": "cname:laman.example,a:192.0.2.1"},
    ],
)
def test_a_landing_is_refused_naming_the_field(kw: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as err:
        req("x.example.com", **kw)
    assert err.value.field == "landing"
