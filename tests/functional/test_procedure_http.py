"""The procedure's endpoints over real HTTP against a running ``tangkal serve`` (SQLite and
PostgreSQL): sanctions and their two-person approval, objections, normalisation, the case
file, and the escalation carried by an order.

The session's server runs the shipped Indonesia profile (deadlines of hours), so nothing
escalates by itself during a test: the endpoints are driven directly. Every test makes its
own organisations with unique names, and restores what it blocked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support import LiveServer, unique

CONDITIONS = {
    "government_channel": "A direct line to the ministry.",
    "trusted_flagger": "The ministry's reports go to the priority queue.",
    "local_representative": "A representative in Jakarta.",
    "filtering_governance": "An Indonesian-speaking moderation team.",
}
BASIS = "Permenkominfo 5/2020 Pasal 15 ayat 9"
ORDER = {
    "category": "terrorism",
    "legal_basis": "UU 5/2018 Pasal 13A",
    "reason": "Public channel posting bomb-making instructions.",
}


@dataclass(frozen=True)
class Regulator:
    name: str
    analyst: str
    alice: str
    alice_again: str  # a second token of the same official
    bob: str
    nameless: str  # an official's token that belongs to nobody


@dataclass(frozen=True)
class Case:
    """A platform of this test alone, with its domains, and the module's regulator."""

    reg: Regulator
    platform: str
    domains: list[str]
    moderator: str

    @property
    def regulator(self) -> str:
        return self.reg.name

    @property
    def analyst(self) -> str:
        return self.reg.analyst

    @property
    def alice(self) -> str:
        return self.reg.alice

    @property
    def alice_again(self) -> str:
        return self.reg.alice_again

    @property
    def bob(self) -> str:
        return self.reg.bob

    @property
    def nameless(self) -> str:
        return self.reg.nameless


def _cli(live: LiveServer, *args: str) -> str:
    r = live.cli(*args)
    assert r.returncode == 0, f"tangkal {' '.join(args)}: {r.stderr}{r.stdout}"
    return r.stdout.strip()


def _org(live: LiveServer, kind: str, prefix: str, domains: Sequence[str] = ()) -> str:
    name = unique(prefix)
    _cli(
        live,
        "org",
        "create",
        "--kind",
        kind,
        "--name",
        name,
        *[a for d in domains for a in ("--domain", d)],
    )
    return name


def _person(live: LiveServer, org: str, user: str) -> str:
    return _cli(live, "token", "create", "--org", org, "--role", "official", "--user", user)


def _regulator(live: LiveServer) -> Regulator:
    name = _org(live, "regulator", "kominfo")
    return Regulator(
        name,
        _cli(live, "token", "create", "--org", name, "--role", "analyst"),
        _person(live, name, "alice"),
        _person(live, name, "alice"),
        _person(live, name, "bob"),
        _cli(live, "token", "create", "--org", name, "--role", "official"),
    )


@pytest.fixture(scope="module")
def reg(live: LiveServer) -> Regulator:
    """The regulator and its people, made once per server (each command is a process):
    every test has platforms of its own, so what one test files no other one sees."""
    return _regulator(live)


def _case(live: LiveServer, reg: Regulator, names: int = 3, *, moderator: bool = True) -> Case:
    tag = unique("tg").lower()
    domains = [f"{tag}.org", f"web.{tag}.org", f"{tag}.me"][:names]
    plat = _org(live, "platform", "telegram", domains)
    mod = _cli(live, "token", "create", "--org", plat, "--role", "moderator") if moderator else ""
    return Case(reg, plat, domains, mod)


def _json(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return dict(r.json())


def _refused(r: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """A refusal with ``status`` whose message names each of ``words``."""
    body = _json(r, status)
    text = (
        body.get("message", "")
        + " "
        + str(body.get("field", ""))
        + " "
        + str(body.get("problems", ""))
    )
    for w in words:
        assert w.lower() in text.lower(), f"{w!r} not in the refusal: {body}"
    return body


def _propose(live: LiveServer, c: Case, **extra: Any) -> dict[str, Any]:
    with live.client(c.alice) as h:
        r = h.post(
            "/api/v1/sanctions",
            json={
                "platform": c.platform,
                "action": "nxdomain",
                "legal_basis": BASIS,
                "reason": "Terrorist propaganda left up after three warning letters.",
                **extra,
            },
        )
    return _json(r, 201)


def _activate(live: LiveServer, c: Case) -> dict[str, Any]:
    sanction = _propose(live, c)
    for token in (c.alice, c.bob):
        with live.client(token) as h:
            body = _json(h.post(f"/api/v1/sanctions/{sanction['id']}/approve"), 200)
    assert body["status"] == "active"
    return body


def _restore(live: LiveServer, c: Case) -> None:
    """The platform asks for normalisation and an official approves it."""
    with live.client(c.moderator) as h:
        req = _json(
            h.post(
                "/api/v1/normalisations",
                json={
                    "platform": c.platform,
                    "reason": "Conditions met.",
                    "conditions": CONDITIONS,
                },
            ),
            201,
        )
    with live.client(c.alice) as h:
        done = _json(
            h.post(
                f"/api/v1/normalisations/{req['id']}/decision",
                json={"outcome": "approved", "reason": "Verified."},
            ),
            200,
        )
    assert done["status"] == "approved"


def _file_order(live: LiveServer, c: Case) -> dict[str, Any]:
    with live.client(c.analyst) as h:
        r = h.post(
            "/api/v1/orders",
            json={"platform": c.platform, "locators": ["https://t.me/s/kanal_bom/7"], **ORDER},
        )
    return _json(r, 201)


# ---------------------------------------------------------------------- sanctions


def test_an_official_proposes_a_sanction_and_two_people_approve_it(
    live: LiveServer, reg: Regulator
) -> None:
    c = _case(live, reg)
    with live.client(c.analyst) as h:
        _refused(
            h.post(
                "/api/v1/sanctions",
                json={"platform": c.platform, "legal_basis": BASIS, "reason": "x"},
            ),
            403,
        )
    proposed = _propose(live, c)
    assert proposed["status"] == "pending_approval" and proposed["source"] == "official"
    assert proposed["platform"] == c.platform and proposed["action"] == "nxdomain"
    assert proposed["officials_required"] == 2 and proposed["approvals"] == []
    assert sorted(b["domain"] for b in proposed["blocks"]) == sorted(c.domains)
    assert {b["status"] for b in proposed["blocks"]} == {"pending_approval"}
    assert all(b["id"] for b in proposed["blocks"])
    sid = proposed["id"]

    with live.client(c.alice) as h:
        listed = _json(h.get("/api/v1/sanctions", params={"platform": c.platform}), 200)
        one = _json(h.get(f"/api/v1/sanctions/{sid}"), 200)
        by_status = _json(h.get("/api/v1/sanctions", params={"status": "pending_approval"}), 200)
        _refused(h.get("/api/v1/sanctions", params={"status": "sleeping"}), 422, "status")
    assert [s["id"] for s in listed["sanctions"]] == [sid]
    assert set(listed["sanctions"][0]) == set(proposed)  # the POST answer's shape
    assert set(proposed) <= set(one) and one["id"] == sid
    assert sid in [s["id"] for s in by_status["sanctions"]]

    for token, words in ((c.analyst, ("official",)), (c.nameless, ("named official",))):
        with live.client(token) as h:
            _refused(h.post(f"/api/v1/sanctions/{sid}/approve"), 403, *words)
    with live.client(c.alice) as h:
        first = _json(h.post(f"/api/v1/sanctions/{sid}/approve"), 200)
    assert first["status"] == "pending_approval" and len(first["approvals"]) == 1
    assert {b["status"] for b in first["blocks"]} == {"pending_approval"}
    with live.client(c.alice_again) as h:  # the same person with another token
        _refused(h.post(f"/api/v1/sanctions/{sid}/approve"), 403, "already approved")
    with live.client(c.bob) as h:
        second = _json(h.post(f"/api/v1/sanctions/{sid}/approve"), 200)
        _refused(h.post(f"/api/v1/sanctions/{sid}/approve"), 409, "pending approval")
    assert second["status"] == "active" and second["activated_at"]
    assert len({a["by"] for a in second["approvals"]}) == 2
    assert {b["status"] for b in second["blocks"]} == {"active"}
    with live.client() as h:  # the public sees the block
        look = _json(h.get("/api/v1/public/lookup", params={"domain": c.domains[0]}), 200)
    assert look["blocked"] is True, look

    _restore(live, c)
    with live.client(c.alice) as h:
        ended = _json(h.get(f"/api/v1/sanctions/{sid}"), 200)
    assert ended["status"] == "lifted" and {b["status"] for b in ended["blocks"]} == {"restored"}


def test_a_sanction_is_rejected_with_its_reason(live: LiveServer, reg: Regulator) -> None:
    c = _case(live, reg, names=2, moderator=False)
    sid = _propose(live, c)["id"]
    with live.client(c.analyst) as h:
        _refused(h.post(f"/api/v1/sanctions/{sid}/reject", json={"reason": "no"}), 403)
    with live.client(c.bob) as h:
        _refused(h.post(f"/api/v1/sanctions/{sid}/reject"), 422, "reason")
        rejected = _json(
            h.post(
                f"/api/v1/sanctions/{sid}/reject",
                json={"reason": "Disproportionate: one channel, not a service."},
            ),
            200,
        )
        assert rejected["status"] == "rejected" and rejected["ended_at"]
        assert rejected["end_reason"] == "Disproportionate: one channel, not a service."
        assert {b["status"] for b in rejected["blocks"]} == {"rejected"}
        _refused(h.post(f"/api/v1/sanctions/{sid}/approve"), 409, "rejected")
        _refused(h.post(f"/api/v1/sanctions/{sid}/reject", json={"reason": "again"}), 409)
    # the names are free again: a new sanction can block them
    again = _propose(live, c)
    assert sorted(b["domain"] for b in again["blocks"]) == sorted(c.domains)
    with live.client(c.alice) as h:
        _json(h.post(f"/api/v1/sanctions/{again['id']}/reject", json={"reason": "cleanup"}), 200)


# ---------------------------------------------------------------------- refusals


def test_bad_sanction_requests_name_what_is_wrong(live: LiveServer, reg: Regulator) -> None:
    c = _case(live, reg, names=1, moderator=False)
    other = _case(live, reg, names=1, moderator=False)
    bare = _org(live, "platform", "bare")  # no registered domains
    foreign_order = _file_order(live, other)
    with live.client(c.alice) as h:

        def post(**body: Any) -> httpx.Response:
            return h.post(
                "/api/v1/sanctions",
                json={"platform": c.platform, "legal_basis": BASIS, "reason": "r", **body},
            )

        _refused(post(platform=c.regulator), 422, "not a platform", "platform")
        _refused(post(platform=unique("nobody")), 422, "platform")
        _refused(post(orders=["ORD-19700101-NOPE"]), 422, "ORD-19700101-NOPE", "orders")
        _refused(post(orders=[foreign_order["id"]]), 422, "not addressed to", "orders")
        _refused(post(action="shutdown"), 422, "shutdown", "action")
        _refused(post(platform=bare), 409, "no registered domains")
        _refused(post(bogus=1), 422, "bogus")
        _refused(h.post("/api/v1/sanctions", json={"platform": c.platform}), 422, "reason")
        for path in ("", "/approve", "/reject"):
            method = h.get if not path else h.post
            kw: dict[str, Any] = {} if path != "/reject" else {"json": {"reason": "x"}}
            _refused(method(f"/api/v1/sanctions/SN-NOPE{path}", **kw), 404, "SN-NOPE")
    with live.client(c.alice) as h:
        _json(h.get("/api/v1/sanctions", params={"platform": c.platform}), 200)
        _refused(h.get("/api/v1/sanctions", params={"platform": unique("nobody")}), 422, "platform")


def test_reject_refuses_unknown_fields(live: LiveServer, reg: Regulator) -> None:
    """Every body of the procedure refuses fields it does not know, the rejection too."""
    c = _case(live, reg, names=1, moderator=False)
    sid = _propose(live, c)["id"]
    try:
        with live.client(c.bob) as h:
            r = h.post(f"/api/v1/sanctions/{sid}/reject", json={"reason": "x", "bogus": 1})
        _refused(r, 422, "bogus")
    finally:
        with live.client(c.bob) as h:
            h.post(f"/api/v1/sanctions/{sid}/reject", json={"reason": "cleanup"})


def test_bad_objections_name_what_is_wrong(live: LiveServer, reg: Regulator) -> None:
    c = _case(live, reg, names=1)
    other = _case(live, reg, names=1, moderator=False)
    order = _file_order(live, c)
    foreign = _file_order(live, other)
    with live.client(c.moderator) as h:

        def post(kind: str, sid: str, **extra: Any) -> httpx.Response:
            return h.post(
                "/api/v1/objections",
                json={"subject": {"kind": kind, "id": sid}, "reason": "We disagree.", **extra},
            )

        _refused(post("verdict", order["id"]), 422, "subject.kind")
        for kind in ("order", "warning", "fine", "sanction", "block"):
            _refused(post(kind, "does-not-exist"), 404, "does-not-exist")
        _refused(post("order", foreign["id"]), 404)  # another platform's order
        _refused(post("order", order["id"], bogus=1), 422, "bogus")
        _refused(
            h.post(
                "/api/v1/objections",
                json={"subject": {"kind": "order", "id": order["id"], "bogus": 1}, "reason": "x"},
            ),
            422,
            "bogus",
        )
        _refused(
            h.post("/api/v1/objections", json={"subject": {"kind": "order", "id": order["id"]}}),
            422,
            "reason",
        )
        filed = _json(post("order", order["id"]), 201)
        assert filed["status"] == "pending" and filed["decide_by"]
        assert filed["subject"] == {"kind": "order", "id": order["id"]}
        _refused(post("order", order["id"]), 409, "still pending")
        held = _json(h.get(f"/api/v1/orders/{order['id']}"), 200)
        assert held["escalation_held_by"] == filed["id"] and held["next_step"] is None
    oid = filed["id"]
    with live.client(c.analyst) as h:
        _refused(
            h.post(
                f"/api/v1/objections/{oid}/decision", json={"outcome": "rejected", "reason": "no"}
            ),
            403,
        )
    with live.client(c.alice) as h:
        url = f"/api/v1/objections/{oid}/decision"
        _refused(h.post(url, json={"outcome": "maybe", "reason": "x"}), 422, "outcome")
        _refused(h.post(url, json={"outcome": "rejected", "reason": "x", "bogus": 1}), 422, "bogus")
        _refused(
            h.post(
                "/api/v1/objections/SG-NOPE/decision", json={"outcome": "rejected", "reason": "x"}
            ),
            404,
            "SG-NOPE",
        )
        decided = _json(
            h.post(url, json={"outcome": "rejected", "reason": "The content is propaganda."}), 200
        )
        assert decided["status"] == "rejected" and decided["decided_at"]
        _refused(
            h.post(url, json={"outcome": "upheld", "reason": "changed my mind"}),
            409,
            "decided already",
        )
        resumed = _json(h.get(f"/api/v1/orders/{order['id']}"), 200)
    assert resumed["escalation_held_by"] is None and resumed["next_step"]["code"] == "ST1"
    with live.client(c.moderator) as h:
        mine = _json(h.get("/api/v1/objections"), 200)["objections"]
    assert [o["id"] for o in mine] == [oid]


def test_bad_normalisation_requests_name_what_is_wrong(live: LiveServer, reg: Regulator) -> None:
    c = _case(live, reg, names=2)
    with live.client(c.moderator) as h:

        def post(**body: Any) -> httpx.Response:
            return h.post("/api/v1/normalisations", json={"reason": "Please.", **body})

        _refused(post(platform=c.platform), 409, "nothing", "restore")
        _refused(
            post(conditions={"bribe": "yes", "trusted_flagger": "yes"}), 422, "bribe", "conditions"
        )
        _refused(post(bogus=1), 422, "bogus")
    with live.client(c.alice) as h:  # a regulator does not ask for normalisation
        _refused(
            h.post("/api/v1/normalisations", json={"platform": c.platform, "reason": "x"}), 403
        )
    _activate(live, c)
    try:
        with live.client(c.moderator) as h:
            _refused(
                h.post(
                    "/api/v1/normalisations",
                    json={"platform": c.platform, "domains": [f"x.{c.domains[0]}"], "reason": "x"},
                ),
                409,
                f"x.{c.domains[0]}",
            )
            req = _json(
                h.post(
                    "/api/v1/normalisations",
                    json={
                        "platform": c.platform,
                        "reason": "Conditions met.",
                        "conditions": {"trusted_flagger": "Priority queue."},
                    },
                ),
                201,
            )
            assert req["status"] == "pending" and req["decide_by"]
            assert {x["name"]: x["met"] for x in req["conditions"]} == {
                "government_channel": False,
                "trusted_flagger": True,
                "local_representative": False,
                "filtering_governance": False,
            }
            assert sorted(req["domains"]) == sorted(c.domains)
            _refused(
                h.post("/api/v1/normalisations", json={"platform": c.platform, "reason": "again"}),
                409,
                "still pending",
            )
        with live.client(c.alice) as h:
            url = f"/api/v1/normalisations/{req['id']}/decision"
            _refused(h.post(url, json={"outcome": "granted", "reason": "x"}), 422, "outcome")
            _refused(
                h.post(url, json={"outcome": "approved", "reason": "x", "bogus": 1}), 422, "bogus"
            )
            _refused(h.post(url, json={"outcome": "refused"}), 422, "reason")
            _refused(
                h.post(
                    "/api/v1/normalisations/NM-NOPE/decision",
                    json={"outcome": "refused", "reason": "x"},
                ),
                404,
                "NM-NOPE",
            )
            refused = _json(
                h.post(url, json={"outcome": "refused", "reason": "Three conditions are not met."}),
                200,
            )
            assert refused["status"] == "refused"
            assert refused["decision_reason"] == "Three conditions are not met."
            _refused(
                h.post(url, json={"outcome": "approved", "reason": "x"}), 409, "decided already"
            )
    finally:
        _restore(live, c)


# ---------------------------------------------------------------------- who sees what


def test_another_platform_cannot_see_or_object_to_the_sanction(
    live: LiveServer, reg: Regulator
) -> None:
    c = _case(live, reg, names=1)
    other = _case(live, reg, names=1)
    other_reg = _org(live, "regulator", "bssn")
    carol = _person(live, other_reg, "carol")  # an official of another regulator
    isp = _org(live, "isp", "isp")
    isp_token = _cli(live, "token", "create", "--org", isp, "--role", "isp")
    sid = _propose(live, c)["id"]
    try:
        with live.client(other.moderator) as h:
            _refused(h.get(f"/api/v1/sanctions/{sid}"), 404)
            assert sid not in [s["id"] for s in _json(h.get("/api/v1/sanctions"), 200)["sanctions"]]
            _refused(
                h.post(
                    "/api/v1/objections",
                    json={"subject": {"kind": "sanction", "id": sid}, "reason": "Not ours."},
                ),
                404,
            )
            _refused(h.get(f"/api/v1/cases/{c.platform}"), 404)
            assert _json(h.get(f"/api/v1/cases/{other.platform}"), 200)["events"] == []
        with live.client(carol) as h:
            _refused(h.get(f"/api/v1/sanctions/{sid}"), 404)
            _refused(h.post(f"/api/v1/sanctions/{sid}/approve"), 404)
        with live.client(isp_token) as h:
            _refused(h.get(f"/api/v1/cases/{c.platform}"), 403)
        with live.client(c.moderator) as h:  # the platform itself sees it and may object
            mine = _json(h.get(f"/api/v1/sanctions/{sid}"), 200)
            assert mine["status"] == "pending_approval"
            obj = _json(
                h.post(
                    "/api/v1/objections",
                    json={
                        "subject": {"kind": "sanction", "id": sid},
                        "reason": "We removed the channels.",
                    },
                ),
                201,
            )
            case = _json(h.get(f"/api/v1/cases/{c.platform}"), 200)
        assert {"sanction", "block", "objection"} <= {e["kind"] for e in case["events"]}
        assert all(e["object_type"] != "order" for e in case["events"])  # no order of theirs
        with live.client(c.bob) as h:
            upheld = _json(
                h.post(
                    f"/api/v1/objections/{obj['id']}/decision",
                    json={"outcome": "upheld", "reason": "The channels are gone."},
                ),
                200,
            )
            assert upheld["status"] == "upheld"
            assert _json(h.get(f"/api/v1/sanctions/{sid}"), 200)["status"] == "withdrawn"
    finally:
        with live.client(c.bob) as h:
            h.post(f"/api/v1/sanctions/{sid}/reject", json={"reason": "cleanup"})


def test_the_case_file_names_each_event_by_what_happened(live: LiveServer, reg: Regulator) -> None:
    c = _case(live, reg, names=2)
    sid = _activate(live, c)["id"]
    _restore(live, c)
    with live.client(c.alice) as h:
        case = _json(h.get(f"/api/v1/cases/{c.platform}"), 200)
        csv_text = h.get(f"/api/v1/cases/{c.platform}", params={"format": "csv"}).text
        only = _json(h.get(f"/api/v1/cases/{c.platform}", params={"kind": "restoration"}), 200)
        _refused(h.get(f"/api/v1/cases/{c.platform}", params={"kind": "gossip"}), 422, "gossip")
    events = case["events"]
    actions = [e["action"] for e in events]
    assert actions.count("sanction.proposed") == 1, actions
    assert actions.count("block.created") == len(c.domains), actions
    assert actions.count("sanction.approved") == 2, actions
    assert actions.count("block.approved") == len(c.domains), actions
    assert actions.count("block.restored") == len(c.domains), actions
    assert {"normalisation.requested", "normalisation.approved", "sanction.lifted"} <= set(actions)
    proposed = next(e for e in events if e["object_type"] == "sanction")
    assert proposed["object_id"] == sid and proposed["action"] == "sanction.proposed", proposed
    assert all(e["action"] in csv_text for e in events)
    assert {e["kind"] for e in only["events"]} == {"restoration"}


def test_the_public_asks_for_one_domain_with_a_contact_address(
    live: LiveServer, reg: Regulator
) -> None:
    c = _case(live, reg, names=2)
    _activate(live, c)
    email = f"{unique('pemilik')}@contoh.co.id"
    try:
        with live.client() as h:  # no token

            def post(**body: Any) -> httpx.Response:
                return h.post(
                    "/api/v1/normalisations",
                    json={
                        "domains": [c.domains[0]],
                        "reason": "My site is not Telegram's.",
                        **body,
                    },
                )

            _refused(post(), 422, "contact_email")
            _refused(post(contact_email=email, domains=c.domains), 422, "domains")
            r = post(contact_email=email, conditions={"government_channel": "My own words"})
            body = _json(r, 201)
        assert body["status"] == "pending" and body["source"] == "public"
        assert body["domains"] == [c.domains[0]] and body["decide_by"]
        assert body.get("requested_by") is None and body.get("decided_by") is None
        assert email not in r.text and "pemilik" not in r.text
        assert all(x.get("evidence") is None for x in body["conditions"])
        with live.client(c.alice) as h:  # the regulator sees who asked
            seen = _json(h.get(f"/api/v1/normalisations/{body['id']}"), 200)
            assert seen["requested_by"] == f"public:{email}"
            done = _json(
                h.post(
                    f"/api/v1/normalisations/{body['id']}/decision",
                    json={"outcome": "refused", "reason": "The platform must ask."},
                ),
                200,
            )
            assert done["status"] == "refused"
    finally:
        _restore(live, c)
    with live.client() as h:  # restored: nothing left to ask for
        r = h.post(
            "/api/v1/normalisations",
            json={"domains": [c.domains[0]], "reason": "x", "contact_email": email},
        )
        _refused(r, 409, "not blocked")


def test_the_public_follows_a_request_by_its_reference_and_sees_no_one_elses_words(
    live: LiveServer, reg: Regulator
) -> None:
    c = _case(live, reg, names=2)
    _activate(live, c)
    email = f"{unique('pemilik')}@contoh.co.id"
    secret = "My own words about my site, for the regulator only."
    try:
        with live.client() as h:
            asked = _json(
                h.post(
                    "/api/v1/normalisations",
                    json={"domains": [c.domains[0]], "reason": secret, "contact_email": email},
                ),
                201,
            )
            ref = asked["reference"]
            followed = _json(h.get(f"/api/v1/public/normalisations/{ref.lower()}"), 200)
            assert followed["status"] == "pending" and followed["decide_by"] == asked["decide_by"]
            assert followed["domains"] == [c.domains[0]]
            r = h.get(f"/api/v1/public/normalisations/{ref}")
            assert secret not in r.text and email not in r.text and "public:" not in r.text
            _refused(h.get("/api/v1/public/normalisations/NM-20170714-000000"), 404, "reference")
        with live.client(c.alice) as h:
            _json(
                h.post(
                    f"/api/v1/normalisations/{asked['id']}/decision",
                    json={"outcome": "refused", "reason": "The platform must ask for its names."},
                ),
                200,
            )
        with live.client() as h:
            followed = _json(h.get(f"/api/v1/public/normalisations/{ref}"), 200)
            assert followed["status"] == "refused" and followed["decided_at"]
            assert followed["decision_reason"] == "The platform must ask for its names."
            assert [b["domain"] for b in followed["blocks"]] == [c.domains[0]]
            page = h.get("/public/normalisation/follow", params={"reference": ref, "lang": "id"})
            assert page.status_code == 200
            assert "Alasan regulator" in page.text and "The platform must ask" in page.text
            assert secret not in page.text and email not in page.text
            missing = h.get(
                "/public/normalisation/follow", params={"reference": "NM-X", "lang": "id"}
            )
            assert missing.status_code == 404 and "Tidak ada permohonan normalisasi" in missing.text
    finally:
        _restore(live, c)


# ---------------------------------------------------------------------- orders, OpenAPI


def test_an_order_carries_its_escalation_and_next_step(live: LiveServer, reg: Regulator) -> None:
    c = _case(live, reg, names=1)
    order = _file_order(live, c)
    oid = order["id"]
    assert order["escalation"] == []
    with live.client(c.analyst) as h:
        got = _json(h.get(f"/api/v1/orders/{oid}"), 200)
    assert got["escalation"] == []
    nxt = got["next_step"]
    assert nxt["code"] == "ST1" and nxt["kind"] == "warning_letter"
    assert datetime.fromisoformat(nxt["due_at"]) >= datetime.fromisoformat(got["issued_at"])
    with live.client(c.moderator) as h:
        acked = _json(h.post(f"/api/v1/orders/{oid}/ack"), 200)
        # ST1 comes at the missed deadline itself
        assert acked["next_step"]["code"] == "ST1"
        assert acked["next_step"]["due_at"] == acked["deadline_at"]
        done = _json(
            h.post(
                f"/api/v1/orders/{oid}/response",
                json={"action": "removed", "statement": "The channel was removed."},
            ),
            200,
        )
    assert done["escalation"] == [] and done["next_step"] is None
    with live.client(c.analyst) as h:
        listed = _json(h.get("/api/v1/orders", params={"platform": c.platform}), 200)["orders"]
    assert [o["id"] for o in listed] == [oid]
    assert listed[0]["escalation"] == [] and listed[0]["next_step"] is None


def _schema(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


@pytest.mark.parametrize(
    ("method", "path", "status", "fields"),
    [
        ("post", "/api/v1/sanctions", "201", {"id", "status", "blocks"}),
        ("get", "/api/v1/sanctions", "200", {"sanctions"}),
        ("get", "/api/v1/sanctions/{sanction_id}", "200", {"id", "status", "blocks", "approvals"}),
        ("post", "/api/v1/sanctions/{sanction_id}/approve", "200", {"id", "status", "blocks"}),
        ("post", "/api/v1/sanctions/{sanction_id}/reject", "200", {"id", "status", "blocks"}),
        ("post", "/api/v1/objections", "201", {"id", "status", "decide_by"}),
        ("post", "/api/v1/objections/{objection_id}/decision", "200", {"id", "status"}),
        ("post", "/api/v1/normalisations", "201", {"id", "status", "decide_by", "conditions"}),
        ("post", "/api/v1/normalisations/{nid}/decision", "200", {"id", "status"}),
        ("get", "/api/v1/cases/{platform}", "200", {"platform", "events"}),
    ],
)
def test_openapi_documents_the_answers_of_the_procedure(
    live: LiveServer, method: str, path: str, status: str, fields: set[str]
) -> None:
    with live.client() as h:
        spec = _json(h.get("/openapi.json"), 200)
    op = spec["paths"][path][method]
    content = op["responses"][status]["content"]["application/json"]
    schema = _schema(spec, content["schema"])
    assert fields <= set(schema.get("properties", {})), (path, schema)
    if "blocks" in fields:
        item = _schema(spec, schema["properties"]["blocks"]["items"])
        assert {"id", "domain", "status"} <= set(item["properties"])
    if "conditions" in fields:
        item = _schema(spec, schema["properties"]["conditions"]["items"])
        assert {"name", "met"} <= set(item["properties"])
    if "events" in fields:
        item = _schema(spec, schema["properties"]["events"]["items"])
        assert {"at", "kind"} <= set(item["properties"])
        assert "text/csv" in op["responses"][status]["content"]
