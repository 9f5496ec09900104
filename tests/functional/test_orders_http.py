"""Orders over real HTTP against a running ``tangkal serve`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tangkal.delivery.signing import verify
from tests.support import LiveServer, free_port, unique

TERROR = {
    "category": "terrorism",
    "legal_basis": "UU 5/2018 Pasal 13A",
    "reason": "Public channel posting bomb-making instructions.",
}


@dataclass
class Parties:
    regulator: str
    platform: str
    analyst: str
    official: str
    moderator: str
    admin: str


def _parties(live: LiveServer, webhook: str | None = None) -> Parties:
    reg, plat = unique("kominfo"), unique("telegram")
    assert live.cli("org", "create", "--kind", "regulator", "--name", reg).returncode == 0
    args = ["org", "create", "--kind", "platform", "--name", plat]
    assert live.cli(*args).returncode == 0
    return Parties(
        reg,
        plat,
        live.token(reg, "analyst"),
        live.token(reg, "official"),
        live.token(plat, "moderator"),
        live.token(plat, "admin"),
    )


def _file(live: LiveServer, p: Parties, locators: list[str], **extra: Any) -> dict[str, Any]:
    with live.client(p.analyst) as c:
        r = c.post(
            "/api/v1/orders", json={"platform": p.platform, "locators": locators, **TERROR, **extra}
        )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_order_lifecycle_over_http(live: LiveServer) -> None:
    p = _parties(live)
    order = _file(live, p, ["https://t.me/s/kanal_bom/101"])
    assert order["status"] == "issued" and order["deadline_provisional"]
    assert order["locators"][0]["canonical"] == "telegram:post/kanal_bom/101"
    with live.client(p.moderator) as c:
        inbox = c.get("/api/v1/inbox").json()["messages"]
        assert [m["order_id"] for m in inbox] == [order["id"]]
        assert c.get("/api/v1/inbox").json()["messages"] == []  # fetched once
        got = c.get(f"/api/v1/orders/{order['id']}").json()
        assert got["status"] == "delivered" and got["receipt_basis"] == "inbox"
        assert not got["deadline_provisional"]
        assert c.post(f"/api/v1/orders/{order['id']}/ack").json()["status"] == "acknowledged"
        r = c.post(f"/api/v1/orders/{order['id']}/clarification", json={"question": "Which?"})
        assert r.json()["status"] == "clarification_requested" and r.json()["clock_paused"]
    with live.client(p.analyst) as c:
        r = c.post(
            f"/api/v1/orders/{order['id']}/clarification/answer", json={"answer": "Post 101."}
        )
        assert r.json()["status"] == "acknowledged" and not r.json()["clock_paused"]
    body = {
        "action": "removed",
        "statement": {
            "decision_facts": "Channel removed.",
            "automated_detection": False,
            "content_type": ["CONTENT_TYPE_TEXT"],
        },
    }
    with live.client(p.moderator) as c:
        first = c.post(
            f"/api/v1/orders/{order['id']}/response",
            json=body,
            headers={"Idempotency-Key": "resp-1"},
        )
        again = c.post(
            f"/api/v1/orders/{order['id']}/response",
            json=body,
            headers={"Idempotency-Key": "resp-1"},
        )
        other = c.post(
            f"/api/v1/orders/{order['id']}/response",
            json={**body, "action": "partially_done"},
            headers={"Idempotency-Key": "resp-1"},
        )
    assert first.status_code == 200 and first.json()["status"] == "complied"
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["responses"] == first.json()["responses"]
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["message"]
    sor = first.json()["responses"][0]["statement"]
    for key in (
        "decision_visibility",
        "decision_ground",
        "illegal_content_legal_ground",
        "decision_facts",
        "automated_detection",
        "automated_decision",
        "application_date",
        "category",
        "content_date",
        "puid",
    ):
        assert key in sor
    # a second order about the same item shows the first
    second = _file(live, p, ["tg://resolve?domain=KANAL_BOM&post=101"])
    assert [r["id"] for r in second["related_orders"]] == [order["id"]]
    assert live.cli("audit", "verify").returncode == 0


class _Receiver:
    """A platform's webhook endpoint: checks signatures, fails the first attempts, and
    applies each delivery id once."""

    def __init__(self, fail_first: int) -> None:
        self.secret = ""
        self.fail_first = fail_first
        self.calls = 0
        self.bad_signatures = 0
        self.applied: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/hook"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.calls += 1
                    if not verify(receiver.secret, self.headers.get("Tangkal-Signature", ""), body):
                        receiver.bad_signatures += 1
                        self.send_response(401)
                        self.end_headers()
                        return
                    if receiver.calls <= receiver.fail_first:
                        self.send_response(503)
                        self.end_headers()
                        return
                    receiver.applied.setdefault(self.headers["Tangkal-Delivery"], json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _attempts(live: LiveServer) -> dict[str, float]:
    """``tangkal_delivery_attempts_total`` by outcome, from the server's ``/metrics``."""
    text = httpx.get(live.url + "/metrics", timeout=30).text
    counts = {"delivered": 0.0, "failed": 0.0, "refused": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "tangkal_delivery_attempts_total":
                counts[sample.labels["outcome"]] = sample.value
    return counts


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver(fail_first=2)
    yield r
    r.close()


def test_webhook_delivery_is_signed_retried_and_applied_once(
    live: LiveServer, receiver: _Receiver
) -> None:
    p = _parties(live)
    with live.client(p.admin) as c:
        r = c.put("/api/v1/orgs/me/delivery", json={"webhook_url": receiver.url})
    assert r.status_code == 200, r.text
    receiver.secret = r.json()["webhook_secret"]
    before = _attempts(live)
    ids = [_file(live, p, [f"t.me/kanal_{i}_x/{i + 1}"])["id"] for i in range(3)]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with receiver.lock:
            done = {m["data"]["id"] for m in receiver.applied.values()} >= set(ids)
        if done:
            break
        time.sleep(0.2)
    assert {m["data"]["id"] for m in receiver.applied.values()} == set(ids)
    assert receiver.bad_signatures == 0 and receiver.calls >= 3 + 2
    # the operator sees them too (other tests' retries may add to the same counters)
    after = _attempts(live)
    assert after["delivered"] - before["delivered"] >= 3
    assert after["failed"] - before["failed"] >= 2
    with live.client(p.analyst) as c:
        for oid in ids:
            o = c.get(f"/api/v1/orders/{oid}").json()
            deliveries = c.get(f"/api/v1/orders/{oid}/deliveries").json()["deliveries"]
            assert o["receipt_basis"] == "webhook" and o["status"] == "delivered"
            assert deliveries[-1]["status"] == "delivered"
        # the failures are on the record too
        events = c.get("/api/v1/audit", params={"limit": 1000})
    assert events.status_code == 403  # an analyst does not read the audit trail
    with live.client(p.official) as c:
        evs = c.get("/api/v1/audit", params={"limit": 1000}).json()["events"]
    attempts = [e for e in evs if e["action"] == "delivery.attempt" and e["object_id"] in ids]
    assert sum(1 for e in attempts if not e["data"]["delivered"]) == 2
    assert sum(1 for e in attempts if e["data"]["delivered"]) == 3


def test_standard_webhooks_verifies_a_real_delivery(live: LiveServer) -> None:
    """A platform that chose the Standard Webhooks scheme verifies tangkal's push with that
    scheme's own library (``standardwebhooks``), the secret as tangkal showed it."""
    from standardwebhooks.webhooks import Webhook

    received: list[tuple[dict[str, str], bytes]] = []
    port = free_port()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        p = _parties(live)
        with live.client(p.admin) as c:
            r = c.put(
                "/api/v1/orgs/me/delivery",
                json={"webhook_url": f"http://127.0.0.1:{port}/hook", "signature": "standard"},
            )
        assert r.status_code == 200, r.text
        assert r.json()["webhook_signature"] == "standard"
        secret = r.json()["webhook_secret"]
        assert secret.startswith("whsec_")
        order = _file(live, p, ["t.me/kanal_standar/7"])
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.shutdown()
        server.server_close()
    headers, body = received[0]
    message = Webhook(secret).verify(body, headers)
    assert message["event"] == "order.issued" and message["data"]["id"] == order["id"]
    assert {k.lower() for k in headers} >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert "tangkal-signature" not in {k.lower() for k in headers}
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(body + b" ", headers)
    with live.client(p.analyst) as c:  # the 2xx is recorded just after it is answered
        basis = None
        while basis != "webhook" and time.monotonic() < deadline + 30:
            basis = c.get(f"/api/v1/orders/{order['id']}").json()["receipt_basis"]
            time.sleep(0.1)
    assert basis == "webhook"


def test_one_platform_never_sees_another_platforms_orders(live: LiveServer) -> None:
    a = _parties(live)
    b_name = unique("other-platform")
    assert live.cli("org", "create", "--kind", "platform", "--name", b_name).returncode == 0
    b_mod, b_admin = live.token(b_name, "moderator"), live.token(b_name, "admin")
    isp = unique("isp")
    assert live.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
    isp_tok = live.token(isp, "isp")
    order = _file(live, a, ["t.me/rahasia_a/1"])
    oid = order["id"]
    for tok in (b_mod, b_admin, isp_tok):
        with live.client(tok) as c:
            assert c.get("/api/v1/orders").json()["orders"] == []
            assert c.get("/api/v1/orders", params={"platform": a.platform}).json()["orders"] == []
            for method, path, body in [
                ("GET", f"/api/v1/orders/{oid}", None),
                ("GET", f"/api/v1/orders/{oid}/deliveries", None),
                ("POST", f"/api/v1/orders/{oid}/ack", None),
                ("POST", f"/api/v1/orders/{oid}/clarification", {"question": "?"}),
                ("POST", f"/api/v1/orders/{oid}/response", {"action": "removed", "statement": "x"}),
                ("POST", f"/api/v1/orders/{oid}/clarification/answer", {"answer": "x"}),
                ("POST", f"/api/v1/orders/{oid}/withdraw", {"reason": "x"}),
            ]:
                r = c.request(method, path, json=body)
                assert r.status_code in (403, 404), (path, r.status_code, r.text)
                assert "rahasia" not in r.text
            inbox = c.get("/api/v1/inbox")
            assert inbox.status_code == 403 or inbox.json()["messages"] == []
            r = c.post(f"/api/v1/orders/{oid}/evidence", files={"file": ("a.txt", b"x")})
            assert r.status_code in (403, 404)
    with live.client(a.moderator) as c:  # the owner still sees it untouched
        got = c.get(f"/api/v1/orders/{oid}").json()
        assert got["status"] == "issued" and got["acknowledged_at"] is None


def test_bad_input_gets_a_clear_4xx_and_writes_nothing(live: LiveServer) -> None:
    p = _parties(live)
    with live.client(p.analyst) as c:
        before = len(c.get("/api/v1/orders").json()["orders"])
        cases = {
            "malformed json": c.post(
                "/api/v1/orders",
                content=b'{"platform": ',
                headers={"Content-Type": "application/json"},
            ),
            "form instead of json": c.post(
                "/api/v1/orders",
                content=b"platform=Telegram&locators=t.me/abcd_e",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            "json array": c.post("/api/v1/orders", json=[{"platform": p.platform}]),
            "empty body": c.post(
                "/api/v1/orders", content=b"", headers={"Content-Type": "application/json"}
            ),
            "unknown platform": c.post(
                "/api/v1/orders",
                json={"platform": "no-such-platform", "locators": ["t.me/abcd_e"], **TERROR},
            ),
            "t.me..": c.post(
                "/api/v1/orders", json={"platform": p.platform, "locators": ["t.me.."], **TERROR}
            ),
            "64-char label": c.post(
                "/api/v1/orders",
                json={"platform": p.platform, "locators": ["a" * 64 + ".example.com"], **TERROR},
            ),
            "public suffix": c.post(
                "/api/v1/orders", json={"platform": p.platform, "locators": ["co.id"], **TERROR}
            ),
            "no locators": c.post(
                "/api/v1/orders", json={"platform": p.platform, "locators": [], **TERROR}
            ),
            "unknown category": c.post(
                "/api/v1/orders",
                json={
                    "platform": p.platform,
                    "locators": ["t.me/abcd_e"],
                    **TERROR,
                    "category": "jaywalking",
                },
            ),
            "empty evidence": c.post(
                "/api/v1/orders",
                json={
                    "platform": p.platform,
                    "locators": ["t.me/abcd_e"],
                    **TERROR,
                    "evidence": [{"filename": "e.png", "content_base64": ""}],
                },
            ),
            "bad base64": c.post(
                "/api/v1/orders",
                json={
                    "platform": p.platform,
                    "locators": ["t.me/abcd_e"],
                    **TERROR,
                    "evidence": [{"filename": "e.png", "content_base64": "!!!"}],
                },
            ),
            "oversized evidence": c.post(
                "/api/v1/orders",
                json={
                    "platform": p.platform,
                    "locators": ["t.me/abcd_e"],
                    **TERROR,
                    "evidence": [
                        {
                            "filename": "big.bin",
                            "content_base64": base64.b64encode(b"\0" * (21 * 1024 * 1024)).decode(),
                        }
                    ],
                },
            ),
            "bad status filter": c.get("/api/v1/orders", params={"status": "lost"}),
        }
        after = len(c.get("/api/v1/orders").json()["orders"])
    for name, r in cases.items():
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
        body = r.json()
        assert body.get("message") and "Traceback" not in r.text, (name, body)
    assert cases["oversized evidence"].status_code == 413
    assert "not valid JSON" in cases["malformed json"].json()["message"]
    assert "Content-Type: application/json" in cases["form instead of json"].json()["message"]
    assert cases["json array"].status_code == 422 and cases["empty body"].status_code == 422
    assert "public suffix" in cases["public suffix"].json()["message"]
    assert "empty" in cases["empty evidence"].json()["message"]
    assert after == before
    # no token, a garbage token, and a token of the wrong kind
    assert httpx.get(live.url + "/api/v1/orders").status_code == 401
    with live.client("tk_000000000000_nope") as c:
        assert c.get("/api/v1/orders").status_code == 401
    with live.client(p.moderator) as c:
        r = c.post(
            "/api/v1/orders", json={"platform": p.platform, "locators": ["t.me/abcd_e"], **TERROR}
        )
        assert r.status_code == 403 and "analyst" in r.json()["message"]


def test_evidence_upload_is_hashed_and_size_checked(live: LiveServer) -> None:
    p = _parties(live)
    order = _file(
        live,
        p,
        ["t.me/bukti_kanal/9"],
        evidence=[
            {
                "filename": "shot.png",
                "content_type": "image/png",
                "content_base64": base64.b64encode(b"\x89PNG fake").decode(),
            }
        ],
    )
    assert len(order["evidence"]) == 1 and len(order["evidence"][0]["sha256"]) == 64
    with live.client(p.analyst) as c:
        ok = c.post(
            f"/api/v1/orders/{order['id']}/evidence",
            files={"file": ("note.txt", b"evidence text", "text/plain")},
        )
        empty = c.post(
            f"/api/v1/orders/{order['id']}/evidence",
            files={"file": ("empty.txt", b"", "text/plain")},
        )
    assert ok.status_code == 201 and ok.json()["size"] == 13
    assert empty.status_code == 422 and "empty" in empty.json()["message"]


def test_concurrent_orders_are_each_committed_once_and_see_each_other(live: LiveServer) -> None:
    """Forty clients at once: the group commit answers every one with its own order,
    each order exists once with its audit event, and orders about the same channel
    filed together list one another."""
    p = _parties(live)
    channel = unique("rekrut").replace("-", "_")
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    keys = [f"conc-{i}" for i in range(40)]

    def one(i: int) -> None:
        with live.client(p.analyst) as c:
            r = c.post(
                "/api/v1/orders",
                json={"platform": p.platform, "locators": [f"t.me/{channel}/{i + 1}"], **TERROR},
                headers={"Idempotency-Key": keys[i]},
            )
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in answers) == [201] * 40
    ids = {r.json()["id"] for r in answers}
    assert len(ids) == 40
    with live.client(p.analyst) as c:
        listed = c.get("/api/v1/orders", params={"platform": p.platform, "limit": 100}).json()
        assert {o["id"] for o in listed["orders"]} == ids
        last = answers[-1].json()
        related = c.get(f"/api/v1/orders/{last['id']}").json()["related_orders"]
        assert len(related) == 39  # the same channel, filed in the same second
        # a retry of one of them is answered from the record, not filed again
        again = c.post(
            "/api/v1/orders",
            json={"platform": p.platform, "locators": [f"t.me/{channel}/1"], **TERROR},
            headers={"Idempotency-Key": keys[0]},
        )
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] in ids
    with live.client(p.moderator) as c:
        inbox = c.get("/api/v1/inbox", params={"limit": 1000}).json()["messages"]
    assert sorted(m["order_id"] for m in inbox if m["event"] == "order.issued") == sorted(ids)
    verify_out = live.cli("audit", "verify")
    assert verify_out.returncode == 0, verify_out.stdout + verify_out.stderr
