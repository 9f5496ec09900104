"""The signed-in console over real HTTP: sign-in, CSRF, and who may see which order."""

from __future__ import annotations

import re

import httpx

from tests.functional.browser.people import (
    PASSWORD,
    Cast,
    browser_client,
    cast,
    csrf,
    fresh_cast,
    sign_in,
)
from tests.support import LiveServer, unique


def _file_order(web: httpx.Client, people: Cast, channel: str) -> str:
    form = web.get("/console/orders/new")
    assert form.status_code == 200
    r = web.post(
        "/console/orders/new",
        data={
            "platform": people.platform,
            "category": "terrorism",
            "legal_basis": "UU 5/2018 Pasal 13A",
            "reason": "Bomb-making instructions",
            "locators": f"https://t.me/{channel}/101\nt.me/{channel}/102",
            "csrf_token": csrf(form.text),
        },
        files=[("evidence", ("screenshot.png", b"\x89PNG fake", "image/png"))],
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).rsplit("/", 1)[1]


def test_wrong_password_says_so_and_sets_no_signed_in_session(live: LiveServer) -> None:
    people = cast(live)
    with browser_client(live) as web:
        r = sign_in(web, people.regulator, people.analyst, "not-the-password")
        assert r.status_code == 401
        assert "Organisasi, nama pengguna, atau kata sandi salah." in r.text
        assert web.get("/console/orders").status_code == 303  # still sent to /login


def test_sign_in_gives_an_httponly_lax_cookie_and_the_dashboard(live: LiveServer) -> None:
    people = cast(live)
    with browser_client(live) as web:
        r = sign_in(web, people.regulator, people.analyst)
        assert r.status_code == 303 and r.headers["location"] == "/console"
        cookie = r.headers["set-cookie"].lower()
        assert "tangkal_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        dash = web.get("/console/orders", params={"lang": "en"})
        assert dash.status_code == 200
        assert "Orders filed by" in dash.text
        assert web.get("/").headers["location"] == "/console"


def test_console_sends_strangers_to_sign_in_and_back(live: LiveServer) -> None:
    with browser_client(live) as web:
        r = web.get("/console/orders/new")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=%2Fconsole%2Forders%2Fnew"


def test_sign_in_refuses_to_redirect_off_site(live: LiveServer) -> None:
    people = cast(live)
    with browser_client(live) as web:
        token = csrf(web.get("/login").text)
        r = web.post(
            "/login",
            data={
                "org": people.regulator,
                "username": people.analyst,
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/steal",
            },
        )
        assert r.headers["location"] == "/console"


def test_forms_without_the_csrf_token_are_refused(live: LiveServer) -> None:
    people = cast(live)
    with browser_client(live) as web:
        r = web.post(
            "/login",
            data={
                "org": people.regulator,
                "username": people.analyst,
                "password": PASSWORD,
                "csrf_token": "guess",
            },
        )
        assert r.status_code == 403
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        channel = unique("csrf_case").replace("-", "_")
        r = web.post(
            "/console/orders/new",
            data={
                "platform": people.platform,
                "category": "terrorism",
                "legal_basis": "x",
                "reason": "y",
                "locators": f"t.me/{channel}/1",
            },
        )
        assert r.status_code == 403
        listing = web.get("/console/orders").text
        assert channel not in listing


def test_the_json_api_ignores_the_console_cookie(live: LiveServer) -> None:
    people = cast(live)
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.analyst)
        assert web.get("/api/v1/me").status_code == 401


def test_order_form_shows_each_bad_locator_line(live: LiveServer) -> None:
    people = cast(live)
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.analyst)
        form = web.get("/console/orders/new", params={"lang": "en"})
        r = web.post(
            "/console/orders/new",
            data={
                "platform": people.platform,
                "category": "terrorism",
                "legal_basis": "UU 5/2018",
                "reason": "propaganda",
                "locators": "https://t.me/valid_channel/1\nco.id\nbad domain",
                "csrf_token": csrf(form.text),
            },
        )
        assert r.status_code == 422
        assert re.findall(r'class="lineno">([^<]+)<', r.text) == ["line 2", "line 3"]
        assert "public suffix" in r.text
        assert "https://t.me/valid_channel/1" in r.text  # what was typed is kept


def test_a_platform_cannot_open_another_platforms_order(live: LiveServer) -> None:
    people = cast(live)
    channel = unique("propaganda").replace("-", "_")
    with browser_client(live) as regulator:
        sign_in(regulator, people.regulator, people.analyst)
        order_id = _file_order(regulator, people, channel)
        detail = regulator.get(f"/console/orders/{order_id}", params={"lang": "en"})
        assert detail.status_code == 200
        assert "Order issued" in detail.text and "screenshot.png" in detail.text
    with browser_client(live) as stranger:
        sign_in(stranger, people.other_platform, people.moderator)
        r = stranger.get(f"/console/orders/{order_id}")
        assert r.status_code == 404
        assert channel not in r.text
        assert order_id not in stranger.get("/console/orders").text
        token = csrf(stranger.get("/console/orders").text)
        assert (
            stranger.post(f"/console/orders/{order_id}/ack", data={"csrf_token": token}).status_code
            == 404
        )
    with browser_client(live) as addressee:
        sign_in(addressee, people.platform, people.moderator)
        assert order_id in addressee.get("/console/orders").text
        page = addressee.get(f"/console/orders/{order_id}", params={"lang": "en"})
        assert "Acknowledge receipt" in page.text
        r = addressee.post(f"/console/orders/{order_id}/ack", data={"csrf_token": csrf(page.text)})
        assert r.status_code == 303
        r = addressee.post(
            f"/console/orders/{order_id}/response",
            data={
                "csrf_token": csrf(page.text),
                "action": "removed",
                "decision_facts": "Both posts removed; channel banned.",
                "automated_detection": "no",
                "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
            },
        )
        assert r.status_code == 303
        done = addressee.get(f"/console/orders/{order_id}", params={"lang": "en"}).text
        assert "Complied" in done and "Both posts removed; channel banned." in done


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(live: LiveServer) -> None:
    people = fresh_cast(live)
    with browser_client(live) as web, browser_client(live) as thief:
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        thief.cookies.set("tangkal_session", web.cookies["tangkal_session"])
        assert thief.get("/console/orders").status_code == 200  # the copy works for now
        page = web.get("/console/orders")
        r = web.post("/logout", data={"csrf_token": csrf(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        r = thief.get("/console/orders")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_sign_out_everywhere_ends_the_other_browsers_sessions(live: LiveServer) -> None:
    people = fresh_cast(live)
    with (
        browser_client(live) as laptop,
        browser_client(live) as phone,
        browser_client(live) as colleague,
    ):
        for web, user in (
            (laptop, people.analyst),
            (phone, people.analyst),
            (colleague, people.official),
        ):
            assert sign_in(web, people.regulator, user).status_code == 303
        page = laptop.get("/console/orders", params={"lang": "en"})
        assert "Sign out everywhere" in page.text
        r = laptop.post("/logout/everywhere", data={"csrf_token": csrf(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert (
            "You are signed out on every device."
            in laptop.get("/login", params={"lang": "en"}).text
        )
        for web in (laptop, phone):
            assert web.get("/console/orders").status_code == 303
        assert colleague.get("/console/orders").status_code == 200  # someone else's stays


def test_sign_out_everywhere_needs_the_csrf_token(live: LiveServer) -> None:
    people = fresh_cast(live)
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.analyst)
        assert web.post("/logout/everywhere", data={}).status_code == 403
        assert web.get("/console/orders").status_code == 200


def _audit(live: LiveServer, org: str) -> list[dict[str, object]]:
    """Every audit event, read page by page as a regulator's auditor reads them."""
    events: list[dict[str, object]] = []
    with live.client(live.token(org, "auditor")) as c:
        while True:
            after = int(events[-1]["seq"]) if events else 0  # type: ignore[call-overload]
            page = c.get("/api/v1/audit", params={"after": after, "limit": 1000}).json()
            if not page["events"]:
                return events
            events += page["events"]


def test_sign_ins_and_sign_outs_are_on_the_audit_record_but_unknown_names_are_not(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    stranger = unique("siapa")
    with browser_client(live) as web:
        assert sign_in(web, people.regulator, people.analyst, "tebakan-salah").status_code == 401
        assert sign_in(web, people.regulator, stranger, "tebakan-salah").status_code == 401
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        page = web.get("/console/orders")
        assert web.post("/logout", data={"csrf_token": csrf(page.text)}).status_code == 303
    mine = [
        (e["action"], e["data"])
        for e in _audit(live, people.regulator)
        if str(e["action"]).startswith("session.")
        and isinstance(e["data"], dict)
        and e["data"].get("username") in (people.analyst, stranger)
    ]
    assert [a for a, _ in mine] == [
        "session.sign_in_failed",
        "session.signed_in",
        "session.signed_out",
    ]
    assert all("tebakan-salah" not in str(d) for _, d in mine)
    assert live.cli("audit", "verify").returncode == 0


def test_a_bad_locator_is_explained_in_indonesian_on_the_indonesian_order_form(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    with browser_client(live) as web:
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        form = web.get("/console/orders/new", params={"lang": "id"})
        r = web.post(
            "/console/orders/new",
            data={
                "platform": people.platform,
                "category": "terrorism",
                "legal_basis": "UU 5/2018 Pasal 13A",
                "reason": "Instruksi bom",
                "locators": "https://t.me/kanal/101\nlocalhost\nhttps://10.0.0.1/x",
                "csrf_token": csrf(form.text),
            },
        )
        assert r.status_code == 422, r.text
        assert "adalah nama satu label (seperti localhost)" in r.text
        assert "menunjuk ke 10.0.0.1, alamat privat" in r.text
        assert "single-label name" not in r.text
        english = web.post(
            "/console/orders/new",
            params={"lang": "en"},
            data={
                "platform": people.platform,
                "category": "terrorism",
                "legal_basis": "UU 5/2018 Pasal 13A",
                "reason": "Bomb instructions",
                "locators": "localhost",
                "csrf_token": csrf(form.text),
            },
        )
        assert "is a single-label name (like localhost)" in english.text


def test_a_refused_state_change_is_explained_in_indonesian_on_the_console(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    channel = unique("klarifikasi").replace("-", "_")
    with browser_client(live) as regulator:
        sign_in(regulator, people.regulator, people.analyst)
        order_id = _file_order(regulator, people, channel)
    with browser_client(live) as platform:
        sign_in(platform, people.platform, people.moderator)
        page = platform.get(f"/console/orders/{order_id}", params={"lang": "id"})
        token = csrf(page.text)
        asked = platform.post(
            f"/console/orders/{order_id}/clarification",
            data={"question": "Pos yang mana?", "csrf_token": token},
        )
        assert asked.status_code == 303, asked.text
        again = platform.post(
            f"/console/orders/{order_id}/clarification",
            data={"question": "Dan yang ini?", "csrf_token": token},
        )
        assert again.status_code == 409, again.text
        # the order page again (the question form is no longer offered): the refusal above,
        # with the question kept
        above = re.search(r'id="order-problem">.*?<p>([^<]*)</p>', again.text, re.S)
        assert above is not None, again.text
        assert (
            "berstatus “Meminta klarifikasi”; klarifikasi hanya dapat diajukan selama "
            "perintah masih terbuka"
        ) in above.group(1)
        assert "clarification_requested" not in above.group(1)
        assert "a clarification can be asked" not in again.text
        assert 'id="kept-text" rows="3" readonly>Dan yang ini?</textarea>' in again.text
        english = platform.post(
            f"/console/orders/{order_id}/clarification",
            params={"lang": "en"},
            data={"question": "And this one?", "csrf_token": token},
        )
        assert english.status_code == 409
        assert (
            "is clarification_requested; a clarification can be asked only while it is "
            "open and no other question is pending."
        ) in english.text


def test_an_over_long_field_is_refused_in_indonesian_and_named_by_its_label(
    live: LiveServer,
) -> None:
    """FastAPI refuses a field over its ``max_length`` before the route runs; the page says so
    in the reader's language, not in pydantic's English."""
    people = fresh_cast(live)
    channel = unique("terlalu_panjang").replace("-", "_")
    with browser_client(live) as web:
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        form = web.get("/console/orders/new", params={"lang": "id"})
        data = {
            "platform": people.platform,
            "category": "terrorism",
            "legal_basis": "UU 5/2018 Pasal 13A " + "x" * 6000,
            "reason": "Instruksi bom",
            "locators": f"https://t.me/{channel}/1",
            "csrf_token": csrf(form.text),
        }
        r = web.post("/console/orders/new", data=data)
        # just over the limit: the form again, the limit stated beside the field
        assert r.status_code == 422, r.text
        assert "Paling banyak 5000 karakter; teks ini 6020 karakter." in r.text
        # far beyond it: refused before the route runs, still named by its label and the
        # limit the form states (not the bound the route reads the field with)
        data["legal_basis"] = "x" * 20_000
        r = web.post("/console/orders/new", data=data)
        assert r.status_code == 422, r.text
        assert (
            "“Dasar hukum” terlalu panjang; persingkat menjadi paling banyak 5000 karakter."
            in r.text
        )
        assert "String should have" not in r.text and "legal_basis" not in r.text
        english = web.post("/console/orders/new", params={"lang": "en"}, data=data)
        assert english.status_code == 422
        assert "“Legal basis” is too long; shorten it to at most 5000 characters." in english.text
        assert channel not in web.get("/console/orders").text  # nothing was filed


def test_the_delivery_log_names_messages_and_their_state_in_indonesian(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    channel = unique("log_kirim").replace("-", "_")
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.analyst)
        order_id = _file_order(web, people, channel)
        page = web.get(f"/console/orders/{order_id}", params={"lang": "id"})
        assert page.status_code == 200
        log = page.text.split('id="dl-title"', 1)[1].split("</table>", 1)[0]
        # the platform pulls (no webhook), so the order's message waits in its inbox
        assert re.search(
            r'<td title="order\.issued">Perintah diterbitkan</td>'
            r'<td title="inbox">Menunggu di kotak masuk platform</td>',
            log,
        ), log
        english = web.get(f"/console/orders/{order_id}", params={"lang": "en"}).text
        assert '<td title="inbox">Waiting in the platform' in english
