"""The console's board as the service computes it: per ISP and name the worst resolver's
state, past the grace or not, escalated or not; the filters; who sees which rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tangkal.accounts.models import Role
from tangkal.accounts.principal import SYSTEM
from tangkal.compliance import escalation, services
from tangkal.compliance.models import ProbeState
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.errors import Forbidden, InvalidInput
from tests.unit.compliance.conftest import World
from tests.unit.compliance.test_escalation import GRACE, NAMES, blocking_at, probe, setup


def test_the_board_per_isp_and_name_with_its_filters_and_scope(db: Database, world: World) -> None:
    setup(db, world)
    for n in NAMES:
        world.block(db, n)
    probe(db, blocking_at("192.0.2.1"))  # A follows, B does not
    now = utcnow()
    with db.read_only() as s:
        b = services.board(s, SYSTEM, GRACE, now=now)
        assert [i.name for i in b.isps] == sorted([world.isp_a.name, world.isp_b.name])
        counts = {i.name: i.counts for i in b.isps}
        assert counts[world.isp_a.name]["compliant"] == 2
        assert counts[world.isp_b.name]["not_compliant"] == 2
        assert b.names == sorted(NAMES) and b.total_names == 2
        cell = b.cells[(world.isp_b.id, "t.me")]
        assert (cell.state, cell.expected, cell.overdue, cell.escalated) == (
            ProbeState.NOT_COMPLIANT,
            "nxdomain",
            False,
            False,
        )
        # not compliant now: B's cells only; past the grace: none yet
        now_bad = services.board(s, SYSTEM, GRACE, only="not_compliant", now=now)
        assert {k[0] for k in now_bad.cells} == {world.isp_b.id}
        assert services.board(s, SYSTEM, GRACE, only="overdue", now=now).cells == {}
        later = now + timedelta(hours=4, seconds=1)
        late = services.board(s, SYSTEM, GRACE, only="overdue", now=later)
        assert sorted(late.cells) == sorted((world.isp_b.id, n) for n in NAMES)
        # paged by name in the database, the filters counted over every page
        first = services.board(s, SYSTEM, GRACE, limit=1, now=now)
        second = services.board(s, SYSTEM, GRACE, limit=1, offset=1, now=now)
        assert (first.names, second.names) == (["t.me"], ["web.telegram.org"])
        assert first.total_names == second.total_names == 2
        assert {k[1] for k in second.cells} == {"web.telegram.org"}
        assert services.board(s, SYSTEM, GRACE, only="overdue", now=later).total_names == 2
        # one name, and its subdomains
        assert services.board(s, SYSTEM, GRACE, domain="telegram.org").names == ["web.telegram.org"]
        # an ISP sees its own row only; a platform nothing; a wrong filter is refused
        mine = services.board(s, world.person(world.isp_a, Role.ISP), GRACE, now=later)
        assert [i.name for i in mine.isps] == [world.isp_a.name]
        assert {k[0] for k in mine.cells} == {world.isp_a.id}
        with pytest.raises(Forbidden):
            services.board(s, world.person(world.platform, Role.MODERATOR), GRACE)
        with pytest.raises(InvalidInput) as exc:
            services.board(s, SYSTEM, GRACE, only="sometimes")
        assert exc.value.field == "only"
    escalation.escalate_due(db, GRACE, now + timedelta(hours=5))
    with db.read_only() as s:
        b = services.board(s, SYSTEM, GRACE, now=now + timedelta(hours=5))
        assert b.cells[(world.isp_b.id, "t.me")].escalated
        assert {i.name: i.escalated for i in b.isps}[world.isp_b.name] == 2
