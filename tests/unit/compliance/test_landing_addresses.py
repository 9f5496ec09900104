"""With the landing given as addresses (TANGKAL_RPZ_LANDING=a:...), a resolver answering
those addresses for a landing block is compliant, and one answering the real address is not;
no control is asked for the landing host's addresses."""

from __future__ import annotations

import asyncio

from tangkal.accounts.principal import SYSTEM
from tangkal.compliance import services
from tangkal.compliance.compare import Answer, Observation
from tangkal.db.session import Database
from tangkal.settings import Settings
from tests.unit.compliance.conftest import REAL, ScriptedProber, World

SETTINGS = Settings(
    landing_host="laman-labuh.tangkal.id.",
    rpz_landing="a:203.0.113.99",
    compliance_settle=2.0,
    compliance_recheck=30.0,
    compliance_interval=300.0,
    compliance_sample=5,
)


def test_an_address_landing_is_recognised_without_asking_for_the_landing_host(
    db: Database, world: World
) -> None:
    official = world.official()
    with db.unit_of_work() as s:
        for address, org, name in (
            ("192.0.2.1", world.isp_a.name, "a1"),
            ("192.0.2.11", world.isp_a.name, "a2"),
            ("192.0.2.2", world.isp_b.name, "b1"),
        ):
            services.add_resolver(s, official, address=address, org=org, name=name)
        services.add_resolver(s, official, address="192.0.2.100", control=True)
    world.block(db, "landing.telegram.org", "landing")
    landing = Observation(Answer("NOERROR", frozenset({"203.0.113.99"})), Answer("NOERROR"))
    prober = ScriptedProber(
        {
            ("192.0.2.1", "landing.telegram.org"): landing,
            ("192.0.2.11", "landing.telegram.org"): landing,
            ("192.0.2.2", "landing.telegram.org"): REAL,
        },
        serials={},
    )
    asyncio.run(services.run_round(db, SETTINGS, ["landing.telegram.org"], "manual", prober=prober))
    with db.read_only() as s:
        got = {(i["resolver"], i["domain"]): i for i in services.compliance_items(s, SYSTEM)}
    assert got[("a1", "landing.telegram.org")]["compliant"] is True
    assert got[("a2", "landing.telegram.org")]["compliant"] is True
    assert got[("b1", "landing.telegram.org")]["state"] == "not_compliant"
