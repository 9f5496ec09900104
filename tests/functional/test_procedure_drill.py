"""The 2017 Telegram case as a drill, end to end, through real HTTP and real DNS.

A live ``tangkal serve`` runs a drill profile written by the real command line (Indonesia,
3600 times faster: an urgent deadline of 4 s, warning letters 4 s apart). NSD stands in for
the internet and answers for ``t.me``, ``telegram.me`` and ``telegram.org``; two ISPs follow
the RPZ, one with Unbound (transfers admitted by address) and one with BIND (TSIG).

Nobody at Telegram answers the order: ST1, ST2 with its fine and ST3 come by themselves, and
so does the proposal to block the 11 names of 14 July 2017. One official's approval is not
enough (nor is a second token of the same official); with a second official both resolvers
answer the landing page (laman labuh) for all 11 names. Telegram objects to the fine, which
is annulled; it meets the four conditions of July 2017, asks for normalisation, and both
resolvers answer the real addresses again. The case file has every step, in time order.

Every wait is bounded and reports the tail of the server's and the resolvers' logs; no
assertion is about how fast anything was, only about the timestamps the server answers.
"""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tangkal.demo import TELEGRAM_NAMES
from tests.functional.dns import servers as S
from tests.support import LiveServer, backends, free_port, live_server, run_cli, server_database

pytestmark = pytest.mark.dns

RPZ_ZONE = "rpz.tangkal."
SPEED = 3600
INTERVAL = timedelta(seconds=4)  # the urgent deadline (4 h) / SPEED
REGULATOR, PLATFORM = "kominfo", "telegram"
ISP_UNBOUND, ISP_BIND = "isp-unbound", "isp-bind"
UNBOUND_HOST, BIND_HOST = "127.0.0.2", "127.0.0.1"

#: the 11 names Kominfo put on the national DNS filter on 14 July 2017, each with a "real"
#: address on the stand-in internet
TELEGRAM: dict[str, str] = {
    name: f"198.51.100.{i}"
    for i, name in enumerate(
        TELEGRAM_NAMES,
        start=11,
    )
}
ZONES = ("t.me", "telegram.me", "telegram.org")
CONDITIONS = {
    "government_channel": "A direct line to the ministry, answered within the hour.",
    "trusted_flagger": "The ministry's reports go to the priority queue.",
    "local_representative": "A representative in Jakarta.",
    "filtering_governance": "An Indonesian-speaking moderation team; process and tooling.",
}

LIMIT_DNS = 20.0  # seconds a resolver may take to follow a change of the zone
LIMIT_STEPS = 90.0  # seconds for the whole escalation (16 s in the drill profile)


def need(binary: str) -> None:
    S.need(binary, "the procedure drill")


# ---------------------------------------------------------------------- waiting


Log = tuple[str, Callable[[], str]]


def wait_for(
    what: str, check: Callable[[], tuple[bool, Any]], limit: float, logs: Sequence[Log]
) -> Any:
    """Poll ``check`` (which returns (done, detail)) until done, at most ``limit`` seconds;
    on failure show the last detail and the tail of every log."""
    t0 = time.monotonic()
    while True:
        done, detail = check()
        if done:
            return detail
        if time.monotonic() - t0 > limit:
            tails = "\n".join(f"--- {name} log (tail):\n{read()[-4000:]}" for name, read in logs)
            raise AssertionError(f"{what}: not within {limit} s (last: {detail!r})\n{tails}")
        time.sleep(0.1)


def answer(resolver: S.Process, name: str) -> tuple[str, list[str]]:
    try:
        return S.answer_of(resolver.query(name, "A", timeout=1))
    except Exception as exc:  # a timeout is a state to wait through, not a failure yet
        return ("no answer: " + type(exc).__name__, [])


def is_landing(result: tuple[str, list[str]]) -> bool:
    return result[0] == "NOERROR" and (
        S.LANDING_HOST in result[1] or S.LANDING_ADDRESS in result[1]
    )


def everywhere(
    resolvers: Sequence[S.Process], expect: Callable[[str, tuple[str, list[str]]], bool]
) -> Callable[[], tuple[bool, Any]]:
    """A check that every resolver answers every name as ``expect`` says; the detail
    names what does not yet."""

    def check() -> tuple[bool, Any]:
        wrong = {}
        for r in resolvers:
            for name in TELEGRAM:
                got = answer(r, name)
                if not expect(name, got):
                    wrong[f"{r.name}:{name}"] = got
        return not wrong, wrong

    return check


def real(name: str, got: tuple[str, list[str]]) -> bool:
    return got == ("NOERROR", [TELEGRAM[name]])


def landing(name: str, got: tuple[str, list[str]]) -> bool:
    return is_landing(got)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def internet() -> Iterator[S.Process]:
    """NSD as the internet: the test's own zone (with the landing page) and Telegram's."""
    need("nsd")
    zones = {S.AUTH_ZONE: S.auth_zone_text()}
    for z in ZONES:
        mine = {n: a for n, a in TELEGRAM.items() if n == z or n.endswith("." + z)}
        zones[z + "."] = S.zone_text(z, mine)
    # not on 127.0.0.1: BIND signs everything it sends to the primary's address
    with S.nsd(zones, host="127.0.0.9") as p:
        yield p


@pytest.fixture(scope="module")
def drill_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The drill profile, written by the real command line as an operator would."""
    r = run_cli(
        "sop", "derive", "indonesia", "--speed", str(SPEED), "--name", "indonesia-drill", env={}
    )
    assert r.returncode == 0, r.stderr
    path = tmp_path_factory.mktemp("sop") / "indonesia-drill.toml"
    path.write_text(r.stdout, encoding="utf-8")
    shown = run_cli("sop", "show", str(path), env={})
    assert shown.returncode == 0, shown.stderr + shown.stdout
    return path


@pytest.fixture(scope="module", params=backends())
def server(request: pytest.FixtureRequest, drill_profile: Path) -> Iterator[LiveServer]:
    env = {
        "TANGKAL_SOP_PROFILE": str(drill_profile),
        "TANGKAL_LANDING_HOST": S.LANDING_HOST,
        "TANGKAL_SCHEDULER_INTERVAL": "0.2",
    }
    with server_database(str(request.param)) as url, live_server(url, env) as srv:
        yield srv


# ---------------------------------------------------------------------- helpers


def cli(server: LiveServer, *args: str) -> str:
    r = server.cli(*args)
    assert r.returncode == 0, f"tangkal {' '.join(args)}: {r.stderr}{r.stdout}"
    return r.stdout.strip()


def person_token(server: LiveServer, user: str) -> str:
    """A new token of the named official ``user`` (a second call: a second token)."""
    return cli(server, "token", "create", "--org", REGULATOR, "--role", "official", "--user", user)


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return dict(r.json())


def start_resolvers(server: LiveServer, internet: S.Process) -> tuple[Any, Any]:
    """Unbound for one ISP (transfers allowed by address), BIND for the other (TSIG)."""
    need("unbound")
    need("named")
    ub_port, bind_port = free_port(), free_port()
    common: dict[str, Any] = {
        "rpz_zone": RPZ_ZONE,
        "primary": ("127.0.0.1", server.dns_port),
        "auth": (internet.host, internet.port),
        "extra_zones": ZONES,
    }
    cli(server, "org", "create", "--kind", "isp", "--name", ISP_UNBOUND)
    cli(
        server,
        "subscriber",
        "add",
        "--org",
        ISP_UNBOUND,
        "--notify",
        f"{UNBOUND_HOST}:{ub_port}",
        "--allow-ip",
        "127.0.0.1/32",
    )  # Unbound transfers from .1
    cli(server, "org", "create", "--kind", "isp", "--name", ISP_BIND)
    key_name, secret = cli(server, "tsig", "create", "--org", ISP_BIND).split()
    cli(server, "subscriber", "add", "--org", ISP_BIND, "--notify", f"{BIND_HOST}:{bind_port}")
    return (
        S.unbound(host=UNBOUND_HOST, port=ub_port, **common),
        S.bind(host=BIND_HOST, port=bind_port, key_name=key_name, secret=secret, **common),
    )


# ---------------------------------------------------------------------- the drill


def test_the_2017_case_from_the_order_to_normalisation(
    server: LiveServer, internet: S.Process
) -> None:
    cli(server, "org", "create", "--kind", "regulator", "--name", REGULATOR)
    cli(
        server,
        "org",
        "create",
        "--kind",
        "platform",
        "--name",
        PLATFORM,
        *[arg for name in TELEGRAM for arg in ("--domain", name)],
    )
    analyst = cli(server, "token", "create", "--org", REGULATOR, "--role", "analyst")
    moderator = cli(server, "token", "create", "--org", PLATFORM, "--role", "moderator")
    alice, alice_again, bob = (
        person_token(server, "alice"),
        person_token(server, "alice"),
        person_token(server, "bob"),
    )
    assert alice != alice_again

    unbound_cm, bind_cm = start_resolvers(server, internet)
    with unbound_cm as unbound, bind_cm as bind:
        resolvers = (unbound, bind)
        logs: list[Log] = [
            ("tangkal serve", server.log),
            ("unbound", unbound.log),
            ("bind", bind.log),
            ("nsd", internet.log),
        ]

        def http(token: str) -> Any:
            return server.client(token)

        # both ISPs have the zone, and the 11 names resolve to their real addresses
        def transferred() -> tuple[bool, Any]:
            with http(alice) as c:
                serial = c.get("/api/v1/rpz/status").json()["serial"]
                subs = {
                    s["org"]: s["last_serial"]
                    for s in c.get("/api/v1/rpz/subscribers").json()["subscribers"]
                }
            return subs.get(ISP_UNBOUND) == serial and subs.get(ISP_BIND) == serial, (serial, subs)

        wait_for("the first transfer of the RPZ to both ISPs", transferred, 40, logs)
        wait_for(
            "the 11 names resolving before the order", everywhere(resolvers, real), LIMIT_DNS, logs
        )

        # ------------------------------------------------------------ the order
        with http(analyst) as c:
            order = ok(
                c.post(
                    "/api/v1/orders",
                    json={
                        "platform": PLATFORM,
                        "category": "terrorism",
                        "locators": ["https://t.me/s/kanal_bom/101"],
                        "legal_basis": "UU 5/2018 Pasal 13A; Permenkominfo 5/2020 Pasal 15 ayat 6",
                        "reason": "Public channel posting bomb-making instructions.",
                    },
                ),
                201,
            )
        oid = order["id"]
        assert order["urgency"] == "urgent" and order["sop_profile"] == "indonesia-drill"
        # the platform is on the pull inbox; its moderator acknowledges (the clock starts)
        # and then says nothing more
        with http(moderator) as c:
            acked = ok(c.post(f"/api/v1/orders/{oid}/ack"))
        assert acked["status"] == "acknowledged" and not acked["deadline_provisional"]
        deadline = at(acked["deadline_at"])
        assert deadline - at(acked["clock_started_at"]) == INTERVAL
        assert acked["escalation"] == []
        assert acked["next_step"]["code"] == "ST1"
        assert at(acked["next_step"]["due_at"]) == deadline  # ST1 waits 0 s after the deadline

        # ------------------------------------------------------------ ST1, ST2, ST3, BLOCK
        def get_order(token: str = analyst) -> dict[str, Any]:
            with http(token) as c:
                return ok(c.get(f"/api/v1/orders/{oid}"))

        seen_next: dict[str, str] = {}

        def escalated() -> tuple[bool, Any]:
            o = get_order()
            steps = o["escalation"]
            if o["next_step"] is not None and steps:
                seen_next[steps[-1]["code"]] = (
                    o["next_step"]["code"] + " " + o["next_step"]["due_at"]
                )
            return len(steps) >= 4, o

        got = wait_for("ST1, ST2, ST3 and the sanction proposal", escalated, LIMIT_STEPS, logs)
        steps = got["escalation"]
        assert got["status"] == "overdue"
        assert [s["code"] for s in steps] == ["ST1", "ST2", "ST3", "BLOCK"]
        assert [s["kind"] for s in steps] == ["warning_letter"] * 3 + ["sanction_proposal"]
        due = [at(s["due_at"]) for s in steps]
        assert due[0] == deadline
        assert [b - a for a, b in itertools.pairwise(due)] == [INTERVAL] * 3
        st2 = steps[1]
        assert st2["fine"] == 500_000_000 and st2["currency"] == "IDR"  # per item, one item
        assert all("fine" not in s for s in steps if s["code"] != "ST2")
        assert not any(s["annulled"] for s in steps)
        assert all(at(s["at"]) >= at(s["due_at"]) for s in steps)  # never before it is due
        assert got["next_step"] is None  # the escalation is complete
        sanction_id = steps[3]["sanction_id"]
        for code, nxt in seen_next.items():  # while the letters came, next_step named the next
            i = [s["code"] for s in steps].index(code)
            assert nxt == f"{steps[i + 1]['code']} {steps[i + 1]['due_at']}", (code, nxt)

        # ------------------------------------------------------------ the sanction, proposed
        with http(alice) as c:
            listed = ok(c.get("/api/v1/sanctions", params={"platform": PLATFORM}))["sanctions"]
        assert [s["id"] for s in listed] == [sanction_id]
        sanction = listed[0]
        assert sanction["status"] == "pending_approval" and sanction["source"] == "escalation"
        assert sanction["action"] == "landing" and sanction["officials_required"] == 2
        assert [o["id"] for o in sanction["orders"]] == [oid]
        assert sorted(b["domain"] for b in sanction["blocks"]) == sorted(TELEGRAM)
        assert {b["status"] for b in sanction["blocks"]} == {"pending_approval"}

        # ------------------------------------------------------------ two people approve
        def serial() -> int:
            with http(alice) as c:
                return int(ok(c.get("/api/v1/rpz/status"))["serial"])

        before = serial()
        with http(alice) as c:
            first = ok(c.post(f"/api/v1/sanctions/{sanction_id}/approve"))
        assert first["status"] == "pending_approval" and len(first["approvals"]) == 1
        # nothing is blocked yet: the zone is unchanged, both resolvers answer the real addresses
        assert serial() == before
        ok_now, wrong = everywhere(resolvers, real)()
        assert ok_now, f"blocked after one approval: {wrong}"
        with http(alice_again) as c:
            r = c.post(f"/api/v1/sanctions/{sanction_id}/approve")
        assert r.status_code == 403, r.text
        assert "already approved" in r.json()["message"]
        with http(bob) as c:
            second = ok(c.post(f"/api/v1/sanctions/{sanction_id}/approve"))
        assert second["status"] == "active" and len(second["approvals"]) == 2
        assert {b["status"] for b in second["blocks"]} == {"active"}
        wait_for(
            "both ISPs answering the landing page for all 11 names",
            everywhere(resolvers, landing),
            LIMIT_DNS,
            logs,
        )

        # ------------------------------------------------------------ the objection to the fine
        with http(moderator) as c:
            objection = ok(
                c.post(
                    "/api/v1/objections",
                    json={
                        "subject": {"kind": "fine", "id": st2["id"]},
                        "reason": "The channels were removed as soon as the order was read.",
                    },
                ),
                201,
            )
        assert objection["status"] == "pending" and objection["decide_by"]
        with http(alice) as c:
            decided = ok(
                c.post(
                    f"/api/v1/objections/{objection['id']}/decision",
                    json={"outcome": "upheld", "reason": "The platform's logs confirm it."},
                )
            )
        assert decided["status"] == "upheld"
        st2_now = next(s for s in get_order(moderator)["escalation"] if s["code"] == "ST2")
        assert st2_now["fine"] == 500_000_000  # kept on the record ...
        assert st2_now.get("fine_annulled") is True  # ... and annulled
        # annulled by the upheld objection: the fine, not the letter itself
        assert st2_now["annulled"] is True and st2_now["annulled_what"] == "fine"
        others = [s for s in get_order(moderator)["escalation"] if s["code"] != "ST2"]
        assert not any(s["annulled"] for s in others)

        # ------------------------------------------------------------ normalisation
        with http(moderator) as c:
            norm = ok(
                c.post(
                    "/api/v1/normalisations",
                    json={
                        "platform": PLATFORM,
                        "reason": "All four conditions of July 2017 are met.",
                        "conditions": CONDITIONS,
                    },
                ),
                201,
            )
        assert norm["status"] == "pending" and norm["decide_by"]
        assert {c["name"]: c["met"] for c in norm["conditions"]} == dict.fromkeys(CONDITIONS, True)
        assert sorted(norm["domains"]) == sorted(TELEGRAM)
        with http(bob) as c:
            approved = ok(
                c.post(
                    f"/api/v1/normalisations/{norm['id']}/decision",
                    json={"outcome": "approved", "reason": "The conditions were verified."},
                )
            )
        assert approved["status"] == "approved", approved
        wait_for(
            "both ISPs answering the real addresses again",
            everywhere(resolvers, real),
            LIMIT_DNS,
            logs,
        )
        with http(alice) as c:
            lifted = ok(c.get(f"/api/v1/sanctions/{sanction_id}"))
        assert lifted["status"] == "lifted"
        assert {b["status"] for b in lifted["blocks"]} == {"restored"}

    # ---------------------------------------------------------------- the case file
    with server.client(alice) as c:
        case = ok(c.get(f"/api/v1/cases/{PLATFORM}"))
        r = c.get(f"/api/v1/cases/{PLATFORM}", params={"format": "csv"})
    verified = server.cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert case["platform"] == PLATFORM
    events = case["events"]
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["action"] for row in rows] == [e["action"] for e in events]
    assert [row["kind"] for row in rows] == [e["kind"] for e in events]
    assert [row["object_id"] for row in rows] == [e["object_id"] for e in events]
    # ST2 once as a letter, once as its fine
    assert [r["code"] for r in rows if r["kind"] in ("warning", "fine")] == [
        "ST1",
        "ST2",
        "ST2",
        "ST3",
    ]
    assert any(row["kind"] == "fine" and row["fine"] == "500000000" for row in rows)
    restored = [row["domain"] for row in rows if row["action"] == "block.restored"]
    assert sorted(restored) == sorted(TELEGRAM)
    check_case_file(events, oid, sanction_id, objection["id"], norm["id"])


def check_case_file(
    events: list[dict[str, Any]], oid: str, sanction_id: str, objection_id: str, norm_id: str
) -> None:
    """Every step of the case, each after the one before it, named by what happened."""
    keys = [(at(e["at"]), e["seq"]) for e in events]
    assert keys == sorted(keys), "the case file is not in time order"

    def first(pred: Callable[[dict[str, Any]], bool], what: str) -> int:
        for i, e in enumerate(events):
            if pred(e):
                return i
        raise AssertionError(f"the case file has no {what}: {[e['action'] for e in events]}")

    def act(action: str, **data: Any) -> Callable[[dict[str, Any]], bool]:
        return lambda e: e["action"] == action and all(e.get(k) == v for k, v in data.items())

    milestones = [
        ("order issued", act("order.issued", object_id=oid)),
        ("ST1", act("order.warning_issued", code="ST1", kind="warning")),
        ("ST2", act("order.warning_issued", code="ST2", kind="warning")),
        ("ST3", act("order.warning_issued", code="ST3", kind="warning")),
        ("blocking proposed", act("order.sanction_proposed", code="BLOCK", kind="sanction")),
        ("first approval", act("sanction.approved", approval=1)),
        ("second approval", act("sanction.approved", approval=2)),
        ("objection filed", act("objection.filed", object_id=objection_id)),
        ("objection decided", act("objection.decided", outcome="upheld")),
        ("normalisation requested", act("normalisation.requested", object_id=norm_id)),
        ("normalisation approved", act("normalisation.approved", object_id=norm_id)),
    ]
    where = [first(pred, what) for what, pred in milestones]
    assert where == sorted(where), list(zip([m[0] for m in milestones], where, strict=True))

    fine = first(lambda e: e["kind"] == "fine" and e.get("code") == "ST2", "fine")
    assert events[fine]["fine"] == 500_000_000 and events[fine]["currency"] == "IDR"
    annulled = first(act("order.fine_annulled", code="ST2"), "annulled fine")
    assert where[7] < annulled  # annulled after the objection was filed
    by_action: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_action.setdefault(e["action"], []).append(e)
    for action in ("block.approved", "block.restored"):
        assert sorted(e["domain"] for e in by_action.get(action, [])) == sorted(TELEGRAM), action
    assert all(events.index(e) > where[5] for e in by_action["block.approved"])
    assert all(events.index(e) > where[9] for e in by_action["block.restored"])
    assert {e["kind"] for e in by_action["block.restored"]} == {"restoration"}
    lifted = first(act("sanction.lifted", object_id=sanction_id), "lifted sanction")
    assert events[lifted]["kind"] == "restoration" and lifted > where[9]
    assert {
        "order",
        "warning",
        "fine",
        "sanction",
        "block",
        "objection",
        "normalisation",
        "restoration",
    } <= {e["kind"] for e in events}
    # the sanction's proposal and its 11 pending blocks, each under its own action, made
    # when the escalation proposed blocking and before the first approval
    proposal = first(act("sanction.proposed", object_id=sanction_id), "sanction.proposed")
    assert where[3] < proposal < where[5]
    created = by_action.get("block.created", [])
    assert sorted(e["domain"] for e in created) == sorted(TELEGRAM), "block.created"
    assert {e["kind"] for e in created} == {"block"}
    assert all(where[3] < events.index(e) < where[5] for e in created)
