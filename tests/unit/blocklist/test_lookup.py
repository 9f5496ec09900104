"""The public lookup on SQLite and PostgreSQL: a pasted URL is looked up by its host, a name
beneath a block is blocked by it, the order's reference and legal basis are named (never its
items), and the ISPs' verification is the probes of the name whose decision applies."""

from __future__ import annotations

import pytest

from tangkal.blocklist import lookup, services
from tangkal.compliance.models import ProbeResult, ProbeState, Resolver
from tangkal.db.session import Database
from tangkal.errors import InvalidInput
from tangkal.orders.schemas import OrderIn
from tangkal.orders.services import file_order
from tests.unit.blocklist.conftest import People


def test_a_pasted_url_names_the_order_and_the_isps_checks_of_the_block(
    db: Database, people: People
) -> None:
    platform = people.factory.platform()
    isp_a, isp_b = people.factory.isp(), people.factory.isp()
    with db.unit_of_work() as s:
        order = file_order(
            s,
            people.analyst(),
            OrderIn(
                platform=platform.name,
                category="terrorism",
                locators=["https://manual.example.com/bom.pdf"],
                legal_basis="UU 5/2018 Pasal 13A",
                reason="propaganda",
            ),
        )
        ref = order.reference
    req = services.BlockRequest.build(
        domain="manual.example.com",
        action="nxdomain",
        legal_basis="UU ITE Pasal 40 ayat 2b",
        reason="still up",
        order_id=ref,
    )
    with db.unit_of_work() as s:
        services.create_block(s, people.official(), req)
        for n, org, state in (
            (1, isp_a, ProbeState.COMPLIANT),
            (2, isp_b, ProbeState.NOT_COMPLIANT),
        ):
            r = Resolver(org_id=org.id, name="r1", host=f"192.0.2.{n}", created_by="test")
            s.add(r)
            s.flush()
            s.add(
                ProbeResult(
                    resolver_id=r.id,
                    domain="manual.example.com",
                    expected="nxdomain",
                    observed="NXDOMAIN",
                    state=state,
                )
            )
    with db.read_only() as s:
        a = lookup.lookup(s, "https://cdn.Manual.example.com:8443/bom.pdf?x=1", base_url="http://h")
    assert a["domain"] == "cdn.manual.example.com" and a["matched"] == "manual.example.com"
    assert a["blocked"] and a["via_parent"] and a["covers_subdomains"]
    assert a["order"]["reference"] == ref and a["order"]["legal_basis"] == "UU 5/2018 Pasal 13A"
    assert "locators" not in a["order"] and a["order_reference"] == ref
    assert a["legal_basis"] == "UU ITE Pasal 40 ayat 2b" and a["sanction"] is None
    v = a["verification"]
    assert v["domain"] == "manual.example.com"  # the parent's probes decide the name
    assert (v["isps_checked"], v["isps_compliant"], v["isps_not_compliant"]) == (2, 1, 1)
    assert "192.0.2." not in str(a)  # no resolver addresses


def test_what_cannot_be_looked_up_names_the_field(db: Database) -> None:
    with db.read_only() as s:
        for text in ("", "http://8.8.8.8/x", "not a domain", "co.id"):
            with pytest.raises(InvalidInput) as exc:
                lookup.lookup(s, text, base_url="http://h")
            assert exc.value.field == "domain", text
        # a Telegram link the order grammar refuses still names its host
        assert lookup.lookup(s, "t.me/x", base_url="http://h")["domain"] == "t.me"
