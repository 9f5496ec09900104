"""Resolvers (who may register what, bad addresses, duplicates), rounds with scripted
answers (states, since, history, serial lag, a filtering control), what the worker probes
next, and the public verification; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tangkal.accounts.models import Role
from tangkal.accounts.principal import SYSTEM
from tangkal.blocklist.lookup import lookup
from tangkal.compliance import services
from tangkal.compliance.compare import Answer, Observation
from tangkal.compliance.models import ProbeCursor, ProbeHistory, ProbeResult, Resolver
from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.errors import Conflict, Forbidden, InvalidInput, NotFound
from tangkal.settings import Settings
from tests.unit.compliance.conftest import NX, REAL, TIMEOUT, ScriptedProber, World

SETTINGS = Settings(
    landing_host="laman-labuh.tangkal.id.",
    compliance_settle=2.0,
    compliance_recheck=30.0,
    compliance_interval=300.0,
    compliance_sample=5,
)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("192.0.2.53", ("192.0.2.53", 53)),
        (" 192.0.2.53:5353 ", ("192.0.2.53", 5353)),
        ("127.0.0.2:1", ("127.0.0.2", 1)),
        ("2001:db8::53", ("2001:db8::53", 53)),
        ("[2001:DB8::53]:65535", ("2001:db8::53", 65535)),
        ("[::1]", ("::1", 53)),
    ],
)
def test_an_address_is_an_ip_with_an_optional_port(text: str, parsed: tuple[str, int]) -> None:
    assert services.parse_address(text) == parsed


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Give the resolver's address"),
        ("dns.example.net", "is not an IP address"),
        ("dns.example.net:53", "is not an IP address"),
        ("192.0.2.300", "is not an IP address"),
        ("192.0.2.53:0", "out of range"),
        ("192.0.2.53:65536", "out of range"),
        ("192.0.2.53:-1", "is not a number"),
        ("192.0.2.53:dns", "is not a number"),
        ("[2001:db8::53]:99999", "out of range"),
        ("0.0.0.0", "cannot be a resolver"),
        ("224.0.0.1", "cannot be a resolver"),
    ],
)
def test_a_bad_address_is_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.parse_address(text)
    assert says in exc.value.message and exc.value.field == "address"


def count(db: Database) -> int:
    with db.read_only() as s:
        return int(s.scalar(select(func.count()).select_from(Resolver)) or 0)


def test_who_may_register_which_resolvers(db: Database, world: World) -> None:
    official = world.official()
    isp_a = world.person(world.isp_a, Role.ISP)
    with db.unit_of_work() as s:
        a = services.add_resolver(s, official, address="192.0.2.1", org=world.isp_a.name)
        own = services.add_resolver(s, isp_a, address="192.0.2.2:5353", name="resolver-2")
        ctl = services.add_resolver(
            s, world.person(world.regulator, Role.ADMIN), address="[2001:db8::100]", control=True
        )
    assert (a.isp, a.name, a.address) == (world.isp_a.name, "192.0.2.1:53", "192.0.2.1:53")
    assert (own.isp, own.name, own.address) == (world.isp_a.name, "resolver-2", "192.0.2.2:5353")
    assert (ctl.isp, ctl.control, ctl.address) == (None, True, "[2001:db8::100]:53")

    refused = [
        (isp_a, {"address": "192.0.2.3", "org": world.isp_b.name}, Forbidden, "its own"),
        (isp_a, {"address": "192.0.2.3", "control": True}, Forbidden, "regulator's"),
        (world.person(world.platform, Role.ADMIN), {"address": "192.0.2.3"}, Forbidden, "platform"),
        (
            world.person(world.regulator, Role.ANALYST),
            {"address": "192.0.2.3", "org": world.isp_b.name},
            Forbidden,
            "role",
        ),
        (world.person(world.isp_a, Role.AUDITOR), {"address": "192.0.2.3"}, Forbidden, "role"),
        (official, {"address": "192.0.2.3"}, InvalidInput, "Name the ISP"),
        (
            official,
            {"address": "192.0.2.3", "org": world.platform.name},
            InvalidInput,
            "ISP organisations",
        ),
        (official, {"address": "192.0.2.3", "org": "no-such-isp"}, NotFound, "No organisation"),
        (
            official,
            {"address": "192.0.2.3", "org": world.isp_b.name, "control": True},
            InvalidInput,
            "belongs to no ISP",
        ),
        (
            official,
            {"address": "isp.example.net", "org": world.isp_b.name},
            InvalidInput,
            "not an IP address",
        ),
        (
            official,
            {"address": "192.0.2.1:53", "org": world.isp_b.name},
            Conflict,
            f"a resolver of {world.isp_a.name}",
        ),
        (
            world.person(world.isp_b, Role.ISP),
            {"address": "192.0.2.1"},
            Conflict,
            "Ask the regulator",
        ),
        (
            official,
            {"address": "192.0.2.9", "org": world.isp_a.name, "name": "resolver-2"},
            Conflict,
            "already a resolver named",
        ),
        (
            official,
            {"address": "192.0.2.9", "org": world.isp_a.name, "name": "x" * 101},
            InvalidInput,
            "at most 100",
        ),
    ]
    for who, args, error, says in refused:
        with pytest.raises(error) as exc, db.unit_of_work() as s:
            services.add_resolver(s, who, **args)  # type: ignore[arg-type]
        assert says in exc.value.message, (args, exc.value.message)
    assert count(db) == 3  # nothing half-written
    # another ISP's duplicate does not learn whose address it is
    with pytest.raises(Conflict) as exc, db.unit_of_work() as s:
        services.add_resolver(s, world.person(world.isp_b, Role.ISP), address="192.0.2.1")
    assert world.isp_a.name not in exc.value.message


def test_an_isp_sees_and_removes_only_its_own_resolvers(db: Database, world: World) -> None:
    official = world.official()
    with db.unit_of_work() as s:
        a = services.add_resolver(s, official, address="192.0.2.1", org=world.isp_a.name)
        b = services.add_resolver(s, official, address="192.0.2.2", org=world.isp_b.name)
        services.add_resolver(s, official, address="192.0.2.100", control=True)
    with db.read_only() as s:
        assert len(services.list_resolvers(s, world.person(world.regulator, Role.AUDITOR))) == 3
        assert [
            v.id for v in services.list_resolvers(s, world.person(world.isp_a, Role.AUDITOR))
        ] == [a.id]
        with pytest.raises(Forbidden):
            services.list_resolvers(s, world.person(world.platform, Role.MODERATOR))
    with pytest.raises(NotFound), db.unit_of_work() as s:
        services.remove_resolver(s, world.person(world.isp_a, Role.ADMIN), b.id)
    with db.unit_of_work() as s:
        services.remove_resolver(s, world.person(world.isp_a, Role.ADMIN), a.id)
    assert count(db) == 2


def setup_round(db: Database, world: World) -> dict[str, str]:
    official = world.official()
    with db.unit_of_work() as s:
        ids = {
            "a": services.add_resolver(
                s, official, address="192.0.2.1", org=world.isp_a.name, name="a1"
            ).id,
            "a2": services.add_resolver(
                s, official, address="192.0.2.11", org=world.isp_a.name, name="a2"
            ).id,
            "b": services.add_resolver(
                s, official, address="192.0.2.2", org=world.isp_b.name, name="b1"
            ).id,
            "control": services.add_resolver(s, official, address="192.0.2.100", control=True).id,
        }
    return ids


def round_(
    db: Database, prober: ScriptedProber, names: list[str], trigger: str = "manual"
) -> services.RoundSummary:
    return asyncio.run(services.run_round(db, SETTINGS, names, trigger, prober=prober))


def items(db: Database, **kw: str) -> dict[tuple[str, str], dict[str, object]]:
    with db.read_only() as s:
        return {
            (i["resolver"], i["domain"]): i  # type: ignore[misc]
            for i in services.compliance_items(s, SYSTEM, **kw)
        }


def test_a_round_stores_the_state_per_resolver_and_name_with_since_and_history(
    db: Database, world: World
) -> None:
    ids = setup_round(db, world)
    blocked = world.block(db, "web.telegram.org")
    world.block(db, "landing.telegram.org", "landing")
    names = ["web.telegram.org", "landing.telegram.org", "open.telegram.org"]
    landing = Observation(
        Answer("NOERROR", frozenset({"203.0.113.99"}), ("laman-labuh.tangkal.id.",)),
        Answer("NOERROR"),
    )
    prober = ScriptedProber(
        {
            ("192.0.2.1", "web.telegram.org"): NX,
            ("192.0.2.11", "web.telegram.org"): NX,
            ("192.0.2.1", "landing.telegram.org"): landing,
            ("192.0.2.11", "landing.telegram.org"): landing,
            ("192.0.2.2", "web.telegram.org"): REAL,  # B does not block
            ("192.0.2.2", "landing.telegram.org"): TIMEOUT,
            ("192.0.2.100", "laman-labuh.tangkal.id"): landing,  # the landing's address
        },
        serials={"192.0.2.1": 0, "192.0.2.11": None},
    )
    with db.read_only() as s:
        from tangkal.rpz.journal import latest_seq

        _seq, primary = latest_seq(s)
    prober.serials["192.0.2.1"] = primary - 1  # one change set behind
    first = round_(db, prober, names)
    assert first.counts == {"compliant": 7, "not_compliant": 1, "unreachable": 1}
    assert first.changed == 9 and first.probes == 4 * 3 and not first.warnings
    got = items(db)
    assert got[("a1", "web.telegram.org")]["state"] == "compliant"
    assert got[("a1", "web.telegram.org")]["expected"] == "nxdomain"
    assert got[("a1", "landing.telegram.org")]["compliant"] is True
    assert got[("b1", "web.telegram.org")]["state"] == "not_compliant"
    assert got[("b1", "web.telegram.org")]["observed"] == "A 149.154.167.99; AAAA NODATA"
    assert got[("b1", "landing.telegram.org")]["state"] == "unreachable"
    assert got[("a1", "open.telegram.org")]["expected"] == "open"
    assert got[("a1", "open.telegram.org")]["state"] == "compliant"
    assert got[("a1", "web.telegram.org")]["serial_lag"] == 1
    assert got[("a2", "web.telegram.org")]["serial_lag"] is None
    assert ("control", "web.telegram.org") not in got  # controls have no rows

    # B starts blocking; A unchanged: only B's row changes its since, one history row more
    since_a = got[("a1", "web.telegram.org")]["since"]
    prober.answers[("192.0.2.2", "web.telegram.org")] = NX
    second = round_(db, prober, ["web.telegram.org"])
    assert second.changed == 1
    got = items(db)
    assert got[("a1", "web.telegram.org")]["since"] == since_a
    assert got[("b1", "web.telegram.org")]["since"] == got[("b1", "web.telegram.org")]["checked_at"]
    with db.read_only() as s:
        hist = services.compliance_history(
            s, SYSTEM, domain="web.telegram.org", isp=world.isp_b.name
        )
    assert [(h["from_state"], h["to_state"]) for h in hist] == [
        ("not_compliant", "compliant"),
        (None, "not_compliant"),
    ]

    # restored: the name is open, and a resolver still answering NXDOMAIN is not compliant
    world.restore(db, blocked)
    prober.answers[("192.0.2.1", "web.telegram.org")] = REAL
    prober.answers[("192.0.2.11", "web.telegram.org")] = REAL
    round_(db, prober, ["web.telegram.org"])
    got = items(db, domain="web.telegram.org")
    assert {k[0]: (v["expected"], v["state"]) for k, v in got.items()} == {
        "a1": ("open", "compliant"),
        "a2": ("open", "compliant"),
        "b1": ("open", "not_compliant"),
    }

    # the public sees counts per ISP, no addresses and no names of ISPs
    with db.read_only() as s:
        answer = lookup(s, "web.telegram.org", base_url="http://x")
        via_parent = lookup(s, "www.landing.telegram.org", base_url="http://x")
        never = lookup(s, "never.example.com", base_url="http://x")
    v = answer["verification"]
    assert (v["isps_checked"], v["isps_compliant"], v["isps_not_compliant"]) == (2, 1, 1)
    assert v["checked_at"] is not None
    assert "192.0.2" not in str(v) and world.isp_a.name not in str(v)
    assert via_parent["verification"]["domain"] == "landing.telegram.org"
    assert (
        via_parent["verification"]["isps_compliant"],
        via_parent["verification"]["isps_unreachable"],
    ) == (1, 1)
    assert never["verification"] == {
        "isps_checked": 0,
        "isps_compliant": 0,
        "isps_not_compliant": 0,
        "isps_unreachable": 0,
        "checked_at": None,
        "domain": "never.example.com",
    }

    # scoping of the results: an ISP sees its own rows
    with db.read_only() as s:
        mine = services.compliance_items(s, world.person(world.isp_b, Role.ISP))
        other = services.compliance_items(
            s, world.person(world.isp_b, Role.ISP), isp=world.isp_a.name
        )
        assert {i["isp"] for i in mine} == {world.isp_b.name} and other == []
        with pytest.raises(Forbidden):
            services.compliance_items(s, world.person(world.platform, Role.AUDITOR))
        with pytest.raises(InvalidInput):
            services.compliance_items(s, SYSTEM, state="blocked")

    # removing a resolver drops its current rows and keeps its history
    with db.unit_of_work() as s:
        services.remove_resolver(s, SYSTEM, ids["b"])
    with db.read_only() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(ProbeResult)
                .where(ProbeResult.resolver_id == ids["b"])
            )
            == 0
        )
        assert (
            s.scalar(
                select(func.count())
                .select_from(ProbeHistory)
                .where(ProbeHistory.resolver_id == ids["b"])
            )
            == 5
        )


def test_a_control_that_filters_is_reported_and_not_used(db: Database, world: World) -> None:
    setup_round(db, world)
    world.block(db, "web.telegram.org")
    prober = ScriptedProber(
        {
            ("192.0.2.100", "web.telegram.org"): NX,  # the control filters
            ("192.0.2.100", "open.telegram.org"): NX,
            ("192.0.2.1", "web.telegram.org"): NX,
            ("192.0.2.11", "web.telegram.org"): NX,
            ("192.0.2.2", "web.telegram.org"): REAL,  # B leaks the real answer
        }
    )
    summary = round_(db, prober, ["web.telegram.org", "open.telegram.org"])
    assert any("192.0.2.100:53" in w and "not used as a control" in w for w in summary.warnings), (
        summary.warnings
    )
    assert any("No usable control" in w for w in summary.warnings)
    # open.telegram.org has addresses at the ISPs: without the filtering control as
    # reference they are compliant (the control's NXDOMAIN would have made them not)
    got = items(db, domain="open.telegram.org")
    assert {v["state"] for v in got.values()} == {"compliant"}
    with db.read_only() as s:
        listed = {v.name: v for v in services.list_resolvers(s, SYSTEM)}
        assert listed["192.0.2.100:53"].filtering is not None
        assert services.control_warnings(s, SYSTEM)
        assert services.control_warnings(s, world.person(world.isp_a, Role.ISP)) == []
    # it stops filtering: cleared by the next round that sees it answer the blocked name
    del prober.answers[("192.0.2.100", "web.telegram.org")]
    summary = round_(db, prober, ["web.telegram.org"])
    assert not summary.warnings
    with db.read_only() as s:
        assert services.control_warnings(s, SYSTEM) == []


def test_a_round_without_resolvers_probes_nothing(db: Database, world: World) -> None:
    prober = ScriptedProber()
    summary = round_(db, prober, ["web.telegram.org"])
    assert prober.asked == [] and summary.id is None
    assert "No ISP resolver" in summary.warnings[0]


def test_the_worker_probes_changes_once_settled_then_rechecks_then_samples(
    db: Database, world: World
) -> None:
    # no resolver yet: the cursor follows the journal, so no backlog waits for the first
    world.block(db, "old.telegram.org")
    assert services.next_job(db, SETTINGS) is None
    setup_round(db, world)
    t0 = utcnow()
    world.block(db, "web.telegram.org")
    world.block(db, "core.telegram.org")
    assert services.next_job(db, SETTINGS, now=t0) is None  # not settled yet
    job = services.next_job(db, SETTINGS, now=utcnow() + timedelta(seconds=3))
    assert job is not None and job.trigger == "change"
    assert sorted(job.names) == ["core.telegram.org", "web.telegram.org"]
    prober = ScriptedProber({("192.0.2.2", "web.telegram.org"): REAL}, default=NX)
    round_(db, prober, job.names, "change")
    services.finish_job(db, job)
    later = utcnow() + timedelta(seconds=3)
    nothing = services.next_job(db, SETTINGS, now=later)
    assert nothing is None  # B's not-compliant row is not yet due for another look
    recheck = services.next_job(db, SETTINGS, now=later + timedelta(seconds=30))
    assert recheck is not None and recheck.trigger == "recheck"
    assert recheck.names == ["web.telegram.org"]
    prober.answers.clear()
    prober.answers[("192.0.2.2", "web.telegram.org")] = NX
    round_(db, prober, recheck.names, "recheck")
    periodic = services.next_job(db, SETTINGS, now=later + timedelta(seconds=400))
    assert periodic is not None and periodic.trigger == "periodic"
    assert set(periodic.names) == {"core.telegram.org", "old.telegram.org", "web.telegram.org"}
    services.finish_job(db, periodic)
    with db.read_only() as s:
        cur = s.get(ProbeCursor, 1)
        assert cur is not None and cur.sample_after == periodic.sample_after


def test_the_sample_rotates_through_the_list(db: Database, world: World) -> None:
    for i in range(7):
        world.block(db, f"n{i}.telegram.org")
    with db.read_only() as s:
        first, after = services.sample_of_list(s, "", 5)
        second, after2 = services.sample_of_list(s, after, 5)
    assert first == [f"n{i}.telegram.org" for i in range(5)]
    assert second == [
        "n5.telegram.org",
        "n6.telegram.org",
        "n0.telegram.org",
        "n1.telegram.org",
        "n2.telegram.org",
    ]
    assert after2 == "n2.telegram.org"
