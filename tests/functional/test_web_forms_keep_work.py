"""Forms that never lose work, over real HTTP: a refused form comes back on its page with
the person's text, the error beside its field in the page's language, a prompt to choose
files again; the limits a page states are the limits enforced; an official is not offered
an approval the two-person rule would refuse, and if they send one anyway the refusal is in
their language."""

from __future__ import annotations

import html
import re

import httpx

from tangkal import limits
from tests.functional.browser.people import (
    PASSWORD,
    Cast,
    browser_client,
    csrf,
    fresh_cast,
    sign_in,
)
from tests.support import LiveServer, unique

_TAG = re.compile(r"<[^>]+>")


def _textarea(page: str, name: str) -> str:
    """The text a textarea of the page holds (first one with that name)."""
    m = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert m, f"no textarea {name}"
    return html.unescape(m.group(1))


def _error(page: str, field_id: str) -> str:
    """The error shown beside a field (``<p class="error" id="FIELD-error">``), as text."""
    m = re.search(rf'<p class="error" id="{re.escape(field_id)}-error"[^>]*>(.*?)</p>', page, re.S)
    assert m, f"no error beside {field_id}"
    return html.unescape(_TAG.sub("", m.group(1)))


def _file_order(web: httpx.Client, people: Cast, channel: str) -> str:
    form = web.get("/console/orders/new")
    r = web.post(
        "/console/orders/new",
        data={
            "platform": people.platform,
            "category": "terrorism",
            "legal_basis": "UU 5/2018 Pasal 13A",
            "reason": "Instruksi perakitan bom",
            "locators": f"https://t.me/{channel}/101",
            "csrf_token": csrf(form.text),
        },
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).rsplit("/", 1)[1]


def test_a_refused_order_form_keeps_the_text_and_asks_for_the_files_again(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    reason = "Instruksi perakitan bom\r\nbaris kedua"
    too_long = "Pasal 40 " * (limits.ORDER_LEGAL_BASIS // 9 + 20)
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.analyst)
        form = web.get("/console/orders/new", params={"lang": "id"}).text
        # the limits the page states are the ones the form and the API enforce
        assert f'maxlength="{limits.ORDER_REASON}"' in form
        assert f'maxlength="{limits.ORDER_LEGAL_BASIS}"' in form
        assert "Paling banyak 20.000 karakter." in form
        r = web.post(
            "/console/orders/new",
            data={
                "platform": people.platform,
                "category": "terrorism",
                "legal_basis": too_long,
                "reason": reason,
                "locators": "https://t.me/kanal_x/1",
                "csrf_token": csrf(form),
            },
            files=[
                ("evidence", ("tangkapan-layar.png", b"\x89PNG fake", "image/png")),
                ("evidence", ("arsip.pdf", b"%PDF-1.4 fake", "application/pdf")),
            ],
        )
        assert r.status_code == 422, r.text
        page = r.text
        assert _textarea(page, "reason") == reason.replace("\r\n", "\n")
        assert _textarea(page, "locators") == "https://t.me/kanal_x/1"
        assert _textarea(page, "legal_basis") == too_long
        beside = _error(page, "legal_basis")
        assert f"Paling banyak {limits.ORDER_LEGAL_BASIS} karakter" in beside, beside
        again = re.search(r'<p class="error" id="evidence-again"[^>]*>(.*?)</p>', page, re.S)
        assert again, "no prompt to choose the files again"
        assert "tangkapan-layar.png, arsip.pdf" in again.group(1)
        assert "Pilih lagi berkas bukti" in again.group(1)
        assert 'aria-describedby="evidence-again"' in page
        # a text at the limit, its line breaks sent as a browser sends them, is accepted
        at_limit = ("a\r\n" * (limits.ORDER_REASON // 2))[: limits.ORDER_REASON]
        ok = web.post(
            "/console/orders/new",
            data={
                "platform": people.platform,
                "category": "terrorism",
                "legal_basis": "UU 5/2018 Pasal 13A",
                "reason": at_limit,
                "locators": f"https://t.me/{unique('kanal').replace('-', '_')}/1",
                "csrf_token": csrf(form),
            },
        )
        assert ok.status_code == 303, ok.text


def test_an_objection_without_a_reason_comes_back_with_the_error_beside_it(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    with browser_client(live) as regulator:
        sign_in(regulator, people.regulator, people.analyst)
        order_id = _file_order(regulator, people, unique("kanal").replace("-", "_"))
    with browser_client(live) as platform:
        sign_in(platform, people.platform, people.moderator)
        page = platform.get(f"/console/orders/{order_id}", params={"lang": "id"}).text
        evidence = "https://contoh.id/bukti-1\nSurat kuasa hukum"
        r = platform.post(
            f"/console/orders/{order_id}/objection",
            data={
                "kind": "order",
                "subject_id": order_id,
                "reason": "   ",
                "evidence": evidence,
                "csrf_token": csrf(page),
            },
        )
        assert r.status_code == 422
        assert '<h1 id="err-title">' not in r.text  # the order page, not an error page
        fid = f"obj-order-{order_id}-reason"
        assert "Jelaskan alasan sanggahan Anda" in _error(r.text, fid)
        assert f'id="{fid}" name="reason" rows="3" required' in r.text
        assert _textarea(r.text, "evidence") == evidence
        assert f'maxlength="{limits.OBJECTION_REASON}"' in r.text


def test_an_over_long_question_comes_back_on_the_order_page_with_its_text(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    with browser_client(live) as regulator:
        sign_in(regulator, people.regulator, people.analyst)
        order_id = _file_order(regulator, people, unique("kanal").replace("-", "_"))
    with browser_client(live) as platform:
        sign_in(platform, people.platform, people.moderator)
        page = platform.get(f"/console/orders/{order_id}", params={"lang": "id"}).text
        assert f'maxlength="{limits.CLARIFICATION}"' in page
        question = "Apakah tangkapan layar tersedia? " * (limits.CLARIFICATION // 30)
        assert len(question) > limits.CLARIFICATION
        r = platform.post(
            f"/console/orders/{order_id}/clarification",
            data={"question": question, "csrf_token": csrf(page)},
        )
        assert r.status_code == 422
        assert _textarea(r.text, "question") == question
        assert f"Paling banyak {limits.CLARIFICATION} karakter" in _error(r.text, "question")
        empty = platform.post(
            f"/console/orders/{order_id}/clarification",
            data={"question": "", "csrf_token": csrf(page)},
            params={"lang": "en"},
        )
        assert empty.status_code == 422
        assert "Write the question for the regulator." in _error(empty.text, "question")


def _whole_service_block(live: LiveServer, people: Cast) -> str:
    """A block on a platform's own domain: the rails ask for two officials."""
    platform = unique("platform")
    domain = f"{platform}.example.org"
    made = live.cli("org", "create", "--kind", "platform", "--name", platform, "--domain", domain)
    assert made.returncode == 0, made.stderr
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        token = csrf(analyst.get("/console/blocks/new").text)
        r = analyst.post(
            "/console/blocks/new",
            data={
                "domain": f"web.{domain}",
                "assessed": f"web.{domain}",
                "action": "nxdomain",
                "legal_basis": "UU 11/2008 Pasal 40",
                "reason": "Propaganda terorisme",
                "csrf_token": token,
            },
        )
        assert r.status_code == 303, r.text
        return str(r.headers["location"])


def test_the_official_who_approved_is_not_offered_approve_again_and_a_resend_is_in_indonesian(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    url = _whole_service_block(live, people)
    with browser_client(live) as official:
        sign_in(official, people.regulator, people.official)
        before = official.get(url, params={"lang": "id"}).text
        assert f'action="{url}/approve"' in before
        assert official.post(f"{url}/approve", data={"csrf_token": csrf(before)}).status_code == 303
        page = official.get(url).text
        assert f'action="{url}/approve"' not in page  # not offered again
        assert f'action="{url}/reject"' in page  # rejecting stays possible
        assert "Anda telah menyetujui pemblokiran ini" in page
        listing = official.get("/console/blocks").text
        assert f'action="{url}/approve"' not in listing
        # an old tab sends it anyway: a 403 page wholly in Indonesian, naming nobody by code
        again = official.post(f"{url}/approve", data={"csrf_token": csrf(page)})
        assert again.status_code == 403
        text = html.unescape(_TAG.sub(" ", again.text.split("<main", 1)[1]))
        assert "Anda sudah menyetujui pemblokiran ini" in text
        assert "Tidak diizinkan" in text
        assert not re.search(r"\b(approved|official|already|must|needs)\b|\(\w+\)", text), text
    second = unique("pejabat")
    live.user(people.regulator, second, "official", PASSWORD)
    with browser_client(live) as other:
        sign_in(other, people.regulator, second)
        assert f'action="{url}/approve"' in other.get(url).text


def test_a_block_rejected_without_a_reason_comes_back_with_the_error_beside_it(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    url = _whole_service_block(live, people)
    block_id = url.rsplit("/", 1)[1]
    with browser_client(live) as official:
        sign_in(official, people.regulator, people.official)
        page = official.get(url, params={"lang": "id"}).text
        r = official.post(f"{url}/reject", data={"reason": " ", "csrf_token": csrf(page)})
        assert r.status_code == 422
        assert "Sebutkan alasan pemblokiran ditolak." in _error(r.text, f"rr-{block_id}")
        long = "x" * (limits.BLOCK_DECISION_REASON + 1)
        r = official.post(f"{url}/reject", data={"reason": long, "csrf_token": csrf(page)})
        assert r.status_code == 422
        assert _textarea(r.text, "reason") == long
        assert "Paling banyak" in _error(r.text, f"rr-{block_id}")


def test_a_form_refused_before_its_page_could_show_it_keeps_the_text_on_the_error_page(
    live: LiveServer,
) -> None:
    """A field far beyond any limit is refused before the route runs (FastAPI's bound): the
    422 page still shows what was typed, by the form's labels, and links back to the form."""
    people = fresh_cast(live)
    with browser_client(live) as regulator:
        sign_in(regulator, people.regulator, people.analyst)
        order_id = _file_order(regulator, people, unique("kanal").replace("-", "_"))
    with browser_client(live) as platform:
        sign_in(platform, people.platform, people.moderator)
        url = f"/console/orders/{order_id}"
        page = platform.get(url, params={"lang": "id"}).text
        reason = "Kanal ini milik lembaga berita; tautannya salah.\nMohon ditinjau."
        r = platform.post(
            f"{url}/objection",
            data={
                "kind": "order",
                "subject_id": order_id,
                "reason": reason,
                "evidence": "x" * 200_000,
                "csrf_token": csrf(page),
            },
            headers={"Referer": f"{live.url}{url}"},
        )
        assert r.status_code == 422
        assert "Apa yang Anda kirim" in r.text
        assert "readonly>" + html.escape(reason, quote=False) + "</textarea>" in r.text
        assert "Apa alasan sanggahan Anda?" in r.text
        assert f'href="{url}"' in r.text
        sent = r.text.split('id="sent"', 1)[1].split("</section>", 1)[0]
        assert csrf(page) not in sent and order_id not in sent  # no secret nor plumbing


def test_the_appeal_statement_limit_stated_is_the_limit_enforced(live: LiveServer) -> None:
    """It said 20,000 characters and refused 19,000 as "at most 5000": one constant now."""
    from tangkal.blocklist import appeals
    from tests.functional.browser.people import cast

    people = cast(live)
    name = f"{unique('banding')}.example.com"
    with live.client(live.token(people.regulator, "official")) as api:
        r = api.post(
            "/api/v1/blocks",
            json={"domain": name, "action": "nxdomain", "category": "terrorism",
                  "legal_basis": "UU 5/2018", "reason": "Propaganda terorisme"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
    with browser_client(live) as web:
        form = web.get("/public/appeal", params={"domain": name, "lang": "id"}).text
        assert f'maxlength="{appeals.MAX_STATEMENT}"' in form
        assert "Paling banyak 20.000 karakter." in form
        statement = "Situs ini adalah portal berita, bukan propaganda. " * 380
        assert 19_000 <= len(statement) <= appeals.MAX_STATEMENT
        r = web.post(
            "/public/appeal",
            data={"domain": name, "contact_email": "warga@contoh.co.id",
                  "statement": statement, "csrf_token": csrf(form)},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        # over the limit: refused, and what was written is not lost
        over = "x" * (appeals.MAX_STATEMENT + 1)
        r = web.post(
            "/public/appeal",
            data={"domain": name, "contact_email": "warga2@contoh.co.id",
                  "statement": over, "csrf_token": csrf(form)},
        )  # fmt: skip
        assert r.status_code == 422
        assert "20000" in r.text or "20.000" in r.text
        assert over in r.text
