"""Input at the edge (issue 12, finding 6 and the statement-of-reasons part of 7): control
characters, deep JSON and unknown statement fields are a 422 naming the field, never a 500,
on every endpoint that takes text, and a refused request never disturbs another.

Each request below is otherwise valid: on the old code the NUL reached PostgreSQL (a 500)
and the extra statement fields were stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

from tests.functional.browser.people import browser_client
from tests.functional.test_orders_http import TERROR, Parties, _file, _parties
from tests.support import LiveServer, unique

NUL = "\u0000"


def _user() -> str:
    return unique("kanal").replace("-", "_")


def _refused(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    body = r.json()
    assert body["error"] == "invalid_input"
    assert body["problems"][0]["field"] == field, body
    assert "control character" in body["message"] or "nested" in body["message"], body


def _block(live: LiveServer, official: str) -> str:
    domain = f"{unique('nul')}.example.com"
    with live.client(official) as c:
        r = c.post(
            "/api/v1/blocks",
            json={
                "domain": domain,
                "action": "nxdomain",
                "legal_basis": "UU ITE Pasal 40 ayat 2b",
                "reason": "terrorist propaganda",
            },
        )
    assert r.status_code == 201, r.text
    return domain


def _requests(live: LiveServer, p: Parties) -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(token, method, path, body, field) of an otherwise valid request with a NUL in one
    text field, one per endpoint that takes text."""
    order = _file(live, p, [f"https://t.me/s/{_user()}/1"])["id"]
    other = _file(live, p, [f"https://t.me/s/{_user()}/2"])["id"]
    domain = _block(live, p.official)
    return [
        (p.analyst, "POST", "/api/v1/orders",
         {"platform": p.platform, "locators": ["https://t.me/s/kanal/9"], **TERROR,
          "reason": "bom" + NUL}, "reason"),
        (p.moderator, "POST", f"/api/v1/orders/{order}/clarification",
         {"question": "Which" + NUL + "?"}, "question"),
        (p.moderator, "POST", f"/api/v1/orders/{order}/response",
         {"action": "removed", "statement": "taken down" + NUL}, "statement"),
        (p.moderator, "POST", f"/api/v1/orders/{order}/response",
         {"action": "removed", "statement": {"decision_facts": "gone" + NUL}},
         "statement.decision_facts"),
        (p.analyst, "POST", f"/api/v1/orders/{other}/withdraw",
         {"reason": "mistake" + NUL}, "reason"),
        (p.moderator, "POST", "/api/v1/objections",
         {"subject": {"kind": "order", "id": other}, "reason": "not unlawful" + NUL},
         "reason"),
        (p.official, "POST", "/api/v1/sanctions",
         {"platform": p.platform, "legal_basis": "PP 71/2019" + NUL}, "legal_basis"),
        (p.moderator, "POST", "/api/v1/normalisations",
         {"reason": "fixed" + NUL, "domains": [domain]}, "reason"),
        ("", "POST", "/api/v1/public/appeals",
         {"domain": domain, "contact_email": "warga@contoh.co.id",
          "statement": "This is a news site, not propaganda." + NUL}, "statement"),
        (p.official, "POST", "/api/v1/blocks",
         {"domain": f"{unique('b')}.example.com", "action": "nxdomain",
          "legal_basis": "UU ITE", "reason": "C1 \u0085 control"}, "reason"),
    ]  # fmt: skip


def _send(live: LiveServer, token: str, method: str, path: str, body: Any) -> httpx.Response:
    with live.client(token or None) as c:
        return c.request(method, path, json=body)


def test_control_characters_are_refused_naming_the_field(live: LiveServer) -> None:
    p = _parties(live)
    for token, method, path, body, field in _requests(live, p):
        _refused(_send(live, token, method, path, body), field)
    with live.client(p.analyst) as c:
        _refused(c.get("/api/v1/orders", params={"status": "issued" + NUL}), "status")
        _refused(c.get("/api/v1/orders", params={"q": "x\x7f"}), "q")
        _refused(c.get("/api/v1/public/normalisations/NR-" + "%00"), "path")
        # a lone surrogate only a JSON escape can carry (no encoding can store it)
        raw = '{"domain": "a.example.com", "contact_email": "w@contoh.co.id", "statement": '
        raw += '"lone \\ud800 surrogate"}'
        r = c.post(
            "/api/v1/public/appeals", content=raw, headers={"content-type": "application/json"}
        )
        _refused(r, "statement")
        # tab, line feed and carriage return are text: a multi-line reason is filed
        r = c.post(
            "/api/v1/orders",
            json={"platform": p.platform, "locators": ["https://t.me/s/kanal/10"], **TERROR,
                  "reason": "line one\n\tline two\r\n"},
        )  # fmt: skip
        assert r.status_code == 201, r.text


def test_deep_json_is_refused_not_a_server_error(live: LiveServer) -> None:
    p = _parties(live)
    for depth in (65, 500, 1000):
        nested = "[" * depth + "]" * depth
        body = '{"platform": "x", "locators": ' + nested + "}"
        with live.client(p.analyst) as c:
            r = c.post("/api/v1/orders", content=body, headers={"content-type": "application/json"})
            _refused(r, "body")
            assert "64" in r.json()["message"]
            r = c.post(
                "/api/v1/public/appeals",
                content='{"domain": ' + nested + "}",
                headers={"content-type": "application/json"},
            )
            _refused(r, "body")
    # brackets inside strings are text, not nesting
    with live.client(p.analyst) as c:
        r = c.post(
            "/api/v1/orders",
            json={"platform": p.platform, "locators": ["https://t.me/s/kanal/11"], **TERROR,
                  "reason": "[" * 200 + "{" * 200},
        )  # fmt: skip
        assert r.status_code == 201, r.text


def test_paging_bounds_are_refused(live: LiveServer) -> None:
    p = _parties(live)
    with live.client(p.analyst) as c:
        r = c.get("/api/v1/orders", params={"offset": str(2**64)})
        assert r.status_code == 422 and r.json()["problems"][0]["field"] == "offset", r.text
        r = c.get("/api/v1/banks/any/content", params={"after": str(2**63)})
        assert r.status_code == 422 and r.json()["problems"][0]["field"] == "after", r.text


def test_statement_of_reasons_refuses_unknown_fields(live: LiveServer) -> None:
    p = _parties(live)
    order = _file(live, p, [f"https://t.me/s/{_user()}/3"])["id"]
    with live.client(p.moderator) as c:
        r = c.post(
            f"/api/v1/orders/{order}/response",
            json={"action": "removed",
                  "statement": {"decision_facts": "removed", "padding": "x" * 100_000}},
        )  # fmt: skip
        assert r.status_code == 422, r.text
        assert any(pr["field"].endswith("padding") for pr in r.json()["problems"]), r.text
        assert "padding" in r.json()["message"]
        got = c.get(f"/api/v1/orders/{order}").json()
        assert got.get("responses", []) == []
        r = c.post(
            f"/api/v1/orders/{order}/response",
            json={"action": "removed", "statement": {"decision_facts": "removed"}},
        )
        assert r.status_code == 200, r.text


def test_a_refused_request_never_disturbs_another(live: LiveServer) -> None:
    """NUL bodies fired together with valid orders: every valid one is filed (on the old code
    the NUL failed the group commit's batch and cost its neighbours their answer)."""
    p = _parties(live)
    results: list[tuple[str, int]] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(kind: str, n: int) -> Callable[[], None]:
        def run() -> None:
            start.wait(timeout=30)
            with live.client(p.analyst) as c:
                for i in range(5):
                    reason = "bom" + (NUL if kind == "bad" else "") + f" {n}.{i}"
                    r = c.post(
                        "/api/v1/orders",
                        json={"platform": p.platform, **TERROR, "reason": reason,
                              "locators": [f"https://t.me/s/edge{n}/{i + 1}"]},
                    )  # fmt: skip
                    with lock:
                        results.append((kind, r.status_code))
                        if kind == "good" and r.status_code != 201:
                            errors.append(r.text)

        return run

    threads = [threading.Thread(target=worker("bad" if n % 2 else "good", n)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 40
    assert sorted({code for kind, code in results if kind == "good"}) == [201], errors
    assert sorted({code for kind, code in results if kind == "bad"}) == [422]


def test_web_forms_refuse_control_characters_in_the_readers_language(live: LiveServer) -> None:
    p = _parties(live)
    domain = _block(live, p.official)
    with browser_client(live) as web:
        form = web.get("/public/appeal", params={"domain": domain})
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = web.post(
            "/public/appeal",
            data={"domain": domain, "contact_email": "warga@contoh.co.id",
                  "statement": "Situs berita" + NUL + ", bukan propaganda.", "csrf_token": token},
        )  # fmt: skip
        assert r.status_code == 422, r.text
        assert "berisi karakter kendali" in r.text  # Indonesian, the public pages' default
        # the form again, as typed, the statement marked as the field in error
        assert 'id="statement"' in r.text and "Situs berita, bukan propaganda." in r.text
        statement = r.text.split('id="statement"')[1].split(">")[0]
        assert 'aria-invalid="true"' in statement
        r = web.get("/public/lookup", params={"domain": "a\x01b.example.com", "lang": "en"})
        assert r.status_code == 422, r.text
        assert "contains a control character" in r.text and "<html" in r.text
