"""The procedure's console pages over real HTTP against a running ``tangkal serve`` (SQLite and
PostgreSQL): the escalation queue, sanctions with their two-person approval, objections,
normalisation with the SOP's checklist, the case file and its CSV, the public request to
restore one domain, and who may open or do what, in Indonesian and in English.

The session's server runs the shipped Indonesia profile (deadlines of hours): sanctions are
proposed through the API. The escalation itself is watched on a drill server of its own
(Indonesia 3600 times faster, written by ``tangkal sop derive``), where an unanswered order
gets ST1, ST2 with its fine, ST3 and the proposal to block by itself within seconds.
"""

from __future__ import annotations

import csv
import html
import io
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.browser.people import PASSWORD, browser_client, csrf, sign_in
from tests.support import LiveServer, backends, live_server, run_cli, server_database, unique

BASIS = "Permenkominfo 5/2020 Pasal 15 ayat 9 dan Pasal 16"
CONDITIONS = {
    "government_channel": "Jalur langsung ke Kementerian, dijawab dalam satu jam.",
    "trusted_flagger": "Laporan Kementerian masuk antrean prioritas.",
    "local_representative": "Perwakilan di Jakarta sejak 1 Agustus.",
    "filtering_governance": "Tim moderasi berbahasa Indonesia; proses dan perangkat.",
}

#: API words that must never reach an Indonesian page as they are
RAW = re.compile(
    r"\b(pending_approval|pending|upheld|rejected|approved|refused|lifted|withdrawn|active|"
    r"warning_letter|sanction_proposal|restoration|normalisation|"
    r"(?:sanction|objection|normalisation|order|block)\.[a-z_]+|"
    r"government_channel|trusted_flagger|local_representative|filtering_governance|"
    r"official|moderator|analyst|admin)\b"
)
#: English words of these pages that must not be left in an Indonesian one
ENGLISH = (
    "Approve",
    "Approvals",
    "Reject",
    "Sanction",
    "Objection",
    "Escalation",
    "Waiting",
    "Awaiting",
    "Decide by",
    "Conditions",
    "met",
    "Case file",
    "Evidence",
    "Names",
)


def visible(page: str) -> str:
    """The words a reader sees in the page's main part (no tags, attributes or code)."""
    body = page.split('<main id="main"', 1)[-1].split("</main>", 1)[0]
    body = re.sub(r"<(script|style|code)[^>]*>.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body.split(">", 1)[-1])
    return re.sub(r"\s+", " ", html.unescape(body))


def assert_indonesian(page: str, *allowed: str) -> None:
    """No API word and none of the pages' English is left in an Indonesian page."""
    text = visible(page)
    for word in allowed:
        text = text.replace(word, " ")
    raw = RAW.findall(text)
    assert not raw, (raw, text[:3000])
    english = [w for w in ENGLISH if re.search(rf"\b{re.escape(w)}\b", text)]
    assert not english, (english, text[:3000])


def article_with(page: str, text: str) -> str:
    """The one ``<article>`` of a list page that mentions ``text``."""
    found = [a for a in re.findall(r"<article\b.*?</article>", page, flags=re.S) if text in a]
    assert len(found) == 1, (text, len(found))
    return found[0]


def lead(page: str) -> str:
    m = re.search(r'role="alert"[^>]*>(.*?)</div>', page, flags=re.S)
    assert m, "no alert on the page"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", m.group(1)))).strip()


# ------------------------------------------------------------------ people and data


def _cli(live: LiveServer, *args: str, input: str | None = None) -> str:
    r = live.cli(*args, input=input)
    assert r.returncode == 0, f"tangkal {' '.join(args)}: {r.stderr}{r.stdout}"
    return r.stdout.strip()


@dataclass(frozen=True)
class Ministry:
    """One regulator per server with two officials (the two-person rule's two people) and an
    analyst, each signed in once: every CLI call starts a Python process, and sign-in is
    rate limited per account, so tests share these and keep their data apart by their own
    platforms."""

    regulator: str
    alice: str
    bob: str
    analyst: str
    official_token: str  # for proposing and blocking through the API
    analyst_token: str


@dataclass
class Case:
    regulator: str
    platform: str
    domains: list[str]
    alice: str
    bob: str
    analyst: str
    moderator: str
    official_token: str
    analyst_token: str


_ministries: dict[str, Ministry] = {}
_signed_in: dict[tuple[str, str, str], httpx.Client] = {}


def _ministry(live: LiveServer) -> Ministry:
    if live.url not in _ministries:
        reg = unique("kominfo")
        _cli(live, "org", "create", "--kind", "regulator", "--name", reg)
        names = {"alice": unique("alice"), "bob": unique("bob"), "analyst": unique("analis")}
        for key, role in (("alice", "official"), ("bob", "official"), ("analyst", "analyst")):
            live.user(reg, names[key], role, PASSWORD)
        _ministries[live.url] = Ministry(
            reg,
            names["alice"],
            names["bob"],
            names["analyst"],
            _cli(live, "token", "create", "--org", reg, "--role", "official"),
            _cli(live, "token", "create", "--org", reg, "--role", "analyst"),
        )
    return _ministries[live.url]


def _case(live: LiveServer, *, domains: list[str] | None = None) -> Case:
    """A Telegram-like platform of this test's own, whose registered names lie under a real
    public suffix, with a moderator who signs in to the console."""
    m = _ministry(live)
    tag = unique("telegram-uji").lower()
    names = domains or [f"{tag}.co.id", f"web-{tag}.co.id"]
    plat, moderator = unique("telegram"), unique("mod")
    _cli(
        live,
        "org",
        "create",
        "--kind",
        "platform",
        "--name",
        plat,
        *[a for d in names for a in ("--domain", d)],
    )
    live.user(plat, moderator, "moderator", PASSWORD)
    return Case(
        m.regulator,
        plat,
        names,
        m.alice,
        m.bob,
        m.analyst,
        moderator,
        m.official_token,
        m.analyst_token,
    )


def _propose(
    live: LiveServer,
    c: Case,
    reason: str = "Propaganda teror dibiarkan setelah tiga surat teguran.",
    orders: list[str] | None = None,
) -> dict[str, Any]:
    with live.client(c.official_token) as api:
        r = api.post(
            "/api/v1/sanctions",
            json={
                "platform": c.platform,
                "action": "landing",
                "legal_basis": BASIS,
                "reason": reason,
                "orders": orders or [],
            },
        )
    assert r.status_code == 201, r.text
    return dict(r.json())


@contextmanager
def _console(live: LiveServer, org: str, user: str) -> Iterator[httpx.Client]:
    """This person's browser, signed in once per server and kept (cookies and all)."""
    key = (live.url, org, user)
    web = _signed_in.get(key)
    if web is None:
        web = browser_client(live)
        r = sign_in(web, org, user)
        assert r.status_code == 303, r.text
        _signed_in[key] = web
    web.cookies.delete("tangkal_lang")  # each request says its language
    yield web


def _approve_in_console(live: LiveServer, c: Case, user: str, sid: str) -> httpx.Response:
    with _console(live, c.regulator, user) as web:
        token = csrf(web.get(f"/console/sanctions/{sid}").text)
        return web.post(f"/console/sanctions/{sid}/approve", data={"csrf_token": token})


def _activate(live: LiveServer, c: Case) -> dict[str, Any]:
    s = _propose(live, c)
    for user in (c.alice, c.bob):
        assert _approve_in_console(live, c, user, s["id"]).status_code == 303
    return s


def _checklist(
    token: str, reason: str, domains: list[str], conditions: dict[str, str] = CONDITIONS
) -> dict[str, Any]:
    return {
        "csrf_token": token,
        "reason": reason,
        "domains": domains,
        "condition": list(conditions),
        "evidence": list(conditions.values()),
    }


# ------------------------------------------------------------------ sanctions


def test_two_officials_approve_a_sanction_from_the_queue_one_after_the_other(
    live: LiveServer,
) -> None:
    c = _case(live)
    s = _propose(live, c)
    sid = s["id"]
    approve = f'action="/console/sanctions/{sid}/approve"'
    with _console(live, c.regulator, c.alice) as web:
        queue = web.get("/console/escalations", params={"lang": "id"})
        assert queue.status_code == 200
        card = queue.text.split(f'id="s-{sid}"', 1)[1].split("</article>", 1)[0]
        assert approve in card and f'action="/console/sanctions/{sid}/reject"' in card
        assert "Persetujuan: 0 dari 2" in card and "Menunggu persetujuan" in card
        for d in c.domains:
            assert re.search(rf'href="/console/blocks/[0-9a-f-]{{36}}">{re.escape(d)}<', card)
        assert_indonesian(queue.text, c.platform, *c.domains)
        token = csrf(queue.text)
        r = web.post(
            f"/console/sanctions/{sid}/approve", data={"csrf_token": token, "next": "queue"}
        )
        assert r.status_code == 303 and r.headers["location"] == "/console/escalations"
        after = web.get("/console/escalations", params={"lang": "id"}).text
        assert (
            f"Persetujuan Anda atas {s['reference']} telah dicatat (1 dari 2); pejabat lain "
            "juga harus menyetujuinya."
        ) in after
        card = after.split(f'id="s-{sid}"', 1)[1].split("</article>", 1)[0]
        assert approve not in card  # the state says she approved: Approve is not offered
        assert "Persetujuan: 1 dari 2" in card and f"{c.alice} ({c.regulator})" in card
        assert "Anda sudah menyetujui sanksi ini" in card
        # a second approval by the same person is refused by the service, in her language
        again = web.post(
            f"/console/sanctions/{sid}/approve", data={"csrf_token": token, "next": "queue"}
        )
        assert again.status_code == 403
        assert lead(again.text).startswith("Tindakan itu tidak dapat dilakukan.")
        assert f"Anda sudah menyetujui sanksi {s['reference']}" in lead(again.text)
        assert "<h1>Escalations" not in again.text and "Eskalasi" in again.text
        english = web.post(
            f"/console/sanctions/{sid}/approve", params={"lang": "en"}, data={"csrf_token": token}
        )
        assert english.status_code == 403
        assert f"You have already approved sanction {s['reference']}" in english.text
        assert "Approvals: 1 of 2" in english.text
    with _console(live, c.regulator, c.analyst) as web:
        page = web.get(f"/console/sanctions/{sid}", params={"lang": "id"})
        assert page.status_code == 200 and approve not in page.text
        assert "Hanya pejabat yang dapat menyetujui atau menolak." in page.text
        refused = web.post(
            f"/console/sanctions/{sid}/approve", data={"csrf_token": csrf(page.text)}
        )
        assert refused.status_code == 403 and "memerlukan peran" in lead(refused.text)
        assert "This action needs" not in refused.text
    with _console(live, c.regulator, c.bob) as web:
        page = web.get(f"/console/sanctions/{sid}", params={"lang": "en"})
        assert approve in page.text
        r = web.post(f"/console/sanctions/{sid}/approve", data={"csrf_token": csrf(page.text)})
        assert r.status_code == 303 and r.headers["location"] == f"/console/sanctions/{sid}"
        done = web.get(f"/console/sanctions/{sid}", params={"lang": "id"}).text
        # the confirmation speaks the language the approval was given in
        assert f"Sanction {s['reference']} is in force" in done
        assert 'class="badge st-active">Berlaku<' in done and approve not in done
        assert "Sanksi disetujui oleh pejabat" in done  # the history, twice
        assert done.count("Sanksi disetujui oleh pejabat") == 2
        block_id = re.findall(r'href="/console/blocks/([0-9a-f-]{36})"', done)[0]
        block = web.get(f"/console/blocks/{block_id}", params={"lang": "id"}).text
        assert f'href="/console/sanctions/{sid}"' in block and s["reference"] in block
        again = web.get(f"/console/sanctions/{sid}", params={"lang": "id"}).text
        assert_indonesian(again, c.platform, *c.domains, s["reference"])
        queue = web.get("/console/escalations", params={"lang": "en"}).text
        assert f'id="s-{sid}"' not in queue
    with live.client() as public:
        look = public.get("/public/lookup", params={"domain": c.domains[0], "lang": "en"})
        assert f"{c.domains[0]} is blocked" in look.text


def test_rejecting_a_sanction_needs_a_reason_and_keeps_the_form(live: LiveServer) -> None:
    c = _case(live)
    s = _propose(live, c)
    sid = s["id"]
    with _console(live, c.regulator, c.alice) as web:
        page = web.get(f"/console/sanctions/{sid}", params={"lang": "id"})
        token = csrf(page.text)
        empty = web.post(
            f"/console/sanctions/{sid}/reject", data={"csrf_token": token, "reason": "  "}
        )
        assert empty.status_code == 422
        assert re.search(
            rf'id="sr-{sid}-reason-error"[^>]*>Jelaskan mengapa sanksi ditolak', empty.text
        )
        assert re.search(r"<details class=\"sub\" open>", empty.text)  # the form stays open
        r = web.post(
            f"/console/sanctions/{sid}/reject",
            params={"lang": "en"},
            data={"csrf_token": token, "reason": "Platform sudah patuh.", "next": "queue"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/console/escalations"
        page = web.get(f"/console/sanctions/{sid}", params={"lang": "id"}).text
        assert 'class="badge st-rejected">Ditolak<' in page and "Platform sudah patuh." in page
        assert f'action="/console/sanctions/{sid}/reject"' not in page
        late = web.post(
            f"/console/sanctions/{sid}/reject", data={"csrf_token": token, "reason": "lagi"}
        )
        assert late.status_code == 409
        assert (
            f"Sanksi {s['reference']} berstatus “Ditolak”; hanya sanksi yang menunggu "
            "persetujuan yang dapat ditolak."
        ) in lead(late.text)


def test_the_platform_objects_to_its_sanction_and_an_official_upholds_the_objection(
    live: LiveServer,
) -> None:
    c = _case(live)
    s = _activate(live, c)
    sid = s["id"]
    with _console(live, c.platform, c.moderator) as web:
        listing = web.get("/console/sanctions", params={"lang": "id"})
        assert s["reference"] in listing.text and 'href="/console/sanctions"' in listing.text
        page = web.get(f"/console/sanctions/{sid}", params={"lang": "id"})
        assert page.status_code == 200
        assert "/console/blocks/" not in page.text  # a platform cannot open block pages
        assert f"Sanggah sanksi {s['reference']}" in page.text
        assert_indonesian(page.text, c.platform, *c.domains, s["reference"])
        token = csrf(page.text)
        evidence = "https://contoh.example/laporan-moderasi.pdf\nKanal dihapus 15 Juli"
        empty = web.post(
            f"/console/sanctions/{sid}/objection",
            data={"csrf_token": token, "reason": "", "evidence": evidence},
        )
        assert empty.status_code == 422
        assert re.search(
            rf'id="obj-sanction-{sid}-reason-error"[^>]*>Jelaskan alasan sanggahan', empty.text
        )
        assert "https://contoh.example/laporan-moderasi.pdf\nKanal dihapus 15 Juli" in empty.text
        r = web.post(
            f"/console/sanctions/{sid}/objection",
            data={
                "csrf_token": token,
                "reason": "Semua kanal sudah dihapus.",
                "evidence": evidence,
            },
        )
        assert r.status_code == 303
        page = web.get(f"/console/sanctions/{sid}", params={"lang": "id"}).text
        assert re.search(r"Sanggahan SG-\d{8}-[0-9A-F]{6} telah diajukan", page)
        assert "menunggu keputusan regulator" in page  # no second form while one waits
        mine = web.get("/console/objections", params={"lang": "en"}).text
        assert "Semua kanal sudah dihapus." in mine and "Awaiting decision" in mine
        assert 'action="/console/objections/' not in mine  # the platform does not decide
    with _console(live, c.regulator, c.alice) as web:
        page = web.get("/console/objections", params={"lang": "id"})
        article = article_with(page.text, f'href="/console/sanctions/{sid}"')
        oid = re.search(r'id="o-([0-9a-f-]{36})"', article)
        assert oid, article
        oid_ = oid.group(1)
        assert "Putuskan paling lambat" in article and re.search(r"sisa \d+", article)
        assert "https://contoh.example/laporan-moderasi.pdf" in article
        assert_indonesian(page.text, c.platform, *c.domains)
        token = csrf(page.text)
        no_outcome = web.post(
            f"/console/objections/{oid_}/decision",
            data={"csrf_token": token, "reason": "Terbukti."},
        )
        assert no_outcome.status_code == 422
        assert re.search(rf'id="od-{oid_}-outcome-error"[^>]*>Pilih keputusannya', no_outcome.text)
        assert ">Terbukti.</textarea>" in no_outcome.text  # the reason is kept
        r = web.post(
            f"/console/objections/{oid_}/decision",
            data={"csrf_token": token, "outcome": "upheld", "reason": "Terbukti."},
        )
        assert r.status_code == 303
        after = web.get("/console/objections", params={"lang": "id"}).text
        assert "diterima: hal yang disanggah dibatalkan" in after
        sanction = web.get(f"/console/sanctions/{sid}", params={"lang": "en"}).text
        assert 'class="badge st-lifted">Lifted<' in sanction
    with live.client() as public:
        look = public.get("/public/lookup", params={"domain": c.domains[0], "lang": "en"})
        assert f"{c.domains[0]} is not blocked" in look.text


def test_the_platform_objects_to_an_order_and_the_rejection_resumes_its_escalation(
    live: LiveServer,
) -> None:
    c = _case(live)
    with live.client(c.analyst_token) as api:
        r = api.post(
            "/api/v1/orders",
            json={
                "platform": c.platform,
                "category": "terrorism",
                "legal_basis": "UU 5/2018",
                "reason": "Instruksi merakit bom.",
                "locators": ["https://t.me/kanal_uji/7"],
            },
        )
        assert r.status_code == 201, r.text
        oid = r.json()["id"]
    with _console(live, c.platform, c.moderator) as web:
        page = web.get(f"/console/orders/{oid}", params={"lang": "id"})
        esc = page.text.split('id="escalation"', 1)[1].split("</section>", 1)[0]
        assert "Tahap berikutnya:" in esc and "ST1" in esc
        assert "(jika perintah tidak dijawab sampai tenggatnya)" in esc
        assert 'value="order"' in esc and f'name="subject_id" value="{oid}"' in esc
        assert_indonesian(esc.split('<h3 id="object-title"', 1)[0], "ST1")
        token = csrf(page.text)
        r = web.post(
            f"/console/orders/{oid}/objection",
            data={
                "csrf_token": token,
                "kind": "order",
                "subject_id": oid,
                "reason": "Kanal ini bukan milik kami.",
                "evidence": "",
            },
        )
        assert r.status_code == 303
        page = web.get(f"/console/orders/{oid}", params={"lang": "id"}).text
        assert "Eskalasi ditangguhkan sampai sanggahan diputus." in page
        assert "Tahap berikutnya:" not in page
        dup = web.post(
            f"/console/orders/{oid}/objection",
            data={"csrf_token": token, "kind": "order", "subject_id": oid, "reason": "lagi"},
        )
        assert dup.status_code == 409 and "masih menunggu keputusan" in dup.text
        bogus = web.post(
            f"/console/orders/{oid}/objection",
            data={"csrf_token": token, "kind": "sanction", "subject_id": oid, "reason": "x"},
        )
        assert bogus.status_code == 422 and "tidak dikenal; muat ulang halaman" in bogus.text
    with _console(live, c.regulator, c.alice) as web:
        page = web.get("/console/objections", params={"lang": "id"})
        article = article_with(page.text, f'href="/console/orders/{oid}"')
        oid_ = re.findall(r'id="o-([0-9a-f-]{36})"', article)[0]
        r = web.post(
            f"/console/objections/{oid_}/decision",
            data={
                "csrf_token": csrf(page.text),
                "outcome": "rejected",
                "reason": "Kanal terbukti.",
            },
        )
        assert r.status_code == 303
        order = web.get(f"/console/orders/{oid}", params={"lang": "en"}).text
        assert "Next step:" in order and "The escalation waits" not in order
        assert 'class="badge st-rejected">Rejected<' in order


# ------------------------------------------------------------------ normalisation


def test_the_platform_asks_for_normalisation_with_the_four_conditions_and_an_official_approves(
    live: LiveServer,
) -> None:
    c = _case(live)
    s = _activate(live, c)
    with _console(live, c.platform, c.moderator) as web:
        form = web.get("/console/normalisations/new", params={"lang": "id"})
        assert form.status_code == 200
        for label in (
            "Jalur khusus pemerintah untuk komunikasi cepat",
            "Status trusted flagger bagi Kementerian",
            "Perwakilan di Indonesia",
            "Tata kelola penapisan: proses, organisasi, teknologi, SDM",
        ):
            assert label in form.text
        assert_indonesian(form.text, *c.domains, "trusted flagger")
        token = csrf(form.text)
        # a refused request comes back as typed, with the error beside its field
        bad = web.post("/console/normalisations/new", data=_checklist(token, "", c.domains))
        assert bad.status_code == 422
        assert re.search(
            r'id="reason-error"[^>]*>Jelaskan mengapa akses perlu dipulihkan', bad.text
        )
        assert CONDITIONS["trusted_flagger"] in bad.text
        long = dict(CONDITIONS, trusted_flagger="x" * 5001)
        too_long = web.post(
            "/console/normalisations/new",
            data=_checklist(token, "Syarat dipenuhi.", c.domains, long),
        )
        assert too_long.status_code == 422
        assert re.search(
            r'id="cond-trusted_flagger-error"[^>]*>Bukti untuk trusted_flagger', too_long.text
        )
        assert "Syarat dipenuhi." in too_long.text
        r = web.post(
            "/console/normalisations/new",
            data=_checklist(token, "Keempat syarat dipenuhi.", c.domains),
        )
        assert r.status_code == 303
        assert r.headers["location"].startswith("/console/normalisations#n-")
        nid = r.headers["location"].rsplit("#n-", 1)[1]
        mine = web.get("/console/normalisations", params={"lang": "id"}).text
        assert re.search(r"Permohonan NM-\d{8}-[0-9A-F]{6} telah dikirim", mine)
        assert f'action="/console/normalisations/{nid}/decision"' not in mine
    with _console(live, c.regulator, c.alice) as web:
        queue = web.get("/console/normalisations", params={"lang": "id"})
        item = queue.text.split(f'id="n-{nid}"', 1)[1].split("</article>", 1)[0]
        assert "Putuskan paling lambat" in item and re.search(r"sisa \d+ (jam|hari)", item)
        assert item.count('class="met"') == 4 and "terpenuhi" in item
        for evidence in CONDITIONS.values():
            assert evidence in item
        assert "Perlu pejabat kedua" not in item
        assert_indonesian(queue.text, c.platform, *c.domains, "trusted flagger", "tangkal")
        english = web.get("/console/normalisations", params={"lang": "en"}).text
        assert "A government channel for fast communication — met" in visible(english)
        token = csrf(queue.text)
        r = web.post(
            f"/console/normalisations/{nid}/decision",
            params={"lang": "id"},
            data={"csrf_token": token, "outcome": "approved", "reason": "Syarat terverifikasi."},
        )
        assert r.status_code == 303
        done = web.get("/console/normalisations", params={"lang": "id"}).text
        assert "dipulihkan dan RPZ telah diperbarui" in done
        assert 'class="badge st-approved">Disetujui<' in done
        sanction = web.get(f"/console/sanctions/{s['id']}", params={"lang": "id"}).text
        assert 'class="badge st-lifted">Dicabut<' in sanction
    with live.client() as public:
        for d in c.domains:
            look = public.get("/public/lookup", params={"domain": d, "lang": "en"})
            assert f"{d} is not blocked" in look.text


def test_restoring_a_name_blocked_more_than_three_times_needs_a_second_official(
    live: LiveServer,
) -> None:
    tag = unique("telegram-uji").lower()
    name = f"{tag}.co.id"
    with live.client(_ministry(live).official_token) as api:
        for _ in range(3):  # blocked and restored three times before it became a platform's
            r = api.post(
                "/api/v1/blocks",
                json={"domain": name, "action": "nxdomain", "legal_basis": BASIS, "reason": "Judi"},
            )
            assert r.status_code == 201, r.text
            assert (
                api.request(
                    "DELETE", f"/api/v1/blocks/{r.json()['id']}", json={"reason": "Dipulihkan"}
                ).status_code
                == 200
            )
    c = _case(live, domains=[name])
    s = _activate(live, c)
    with _console(live, c.platform, c.moderator) as web:
        token = csrf(web.get("/console/normalisations/new").text)
        r = web.post("/console/normalisations/new", data=_checklist(token, "Sudah patuh.", [name]))
        assert r.status_code == 303, r.text
        nid = r.headers["location"].rsplit("#n-", 1)[1]
    decide = f'action="/console/normalisations/{nid}/decision"'
    with _console(live, c.regulator, c.alice) as web:
        page = web.get("/console/normalisations", params={"lang": "id"}).text
        item = page.split(f'id="n-{nid}"', 1)[1].split("</article>", 1)[0]
        assert "Perlu pejabat kedua:" in item and 'value="approved"' in item
        r = web.post(
            f"/console/normalisations/{nid}/decision",
            data={"csrf_token": csrf(page), "outcome": "approved", "reason": "Terverifikasi."},
        )
        assert r.status_code == 303
        page = web.get("/console/normalisations", params={"lang": "id"}).text
        assert "adalah yang pertama dari dua; pejabat lain juga harus menyetujuinya" in page
        item = page.split(f'id="n-{nid}"', 1)[1].split("</article>", 1)[0]
        assert 'value="approved"' not in item and 'value="refused"' in item and decide in item
        assert "Anda telah memberikan persetujuan pertama" in item
        again = web.post(
            f"/console/normalisations/{nid}/decision",
            data={"csrf_token": csrf(page), "outcome": "approved", "reason": "Lagi."},
        )
        assert again.status_code == 403
        assert "persetujuan kedua harus diberikan oleh pejabat lain" in again.text
    with _console(live, c.regulator, c.bob) as web:
        page = web.get("/console/normalisations", params={"lang": "en"}).text
        item = page.split(f'id="n-{nid}"', 1)[1].split("</article>", 1)[0]
        assert "First approval:" in item and c.alice in item and 'value="approved"' in item
        r = web.post(
            f"/console/normalisations/{nid}/decision",
            data={"csrf_token": csrf(page), "outcome": "approved", "reason": "Kedua."},
        )
        assert r.status_code == 303
        assert 'class="badge st-lifted">' in web.get(f"/console/sanctions/{s['id']}").text


def test_the_public_asks_to_restore_one_blocked_domain_from_the_lookup(live: LiveServer) -> None:
    m = _ministry(live)
    regulator, official = m.regulator, m.alice
    name = f"{unique('toko-uji')}.co.id"
    with live.client(m.official_token) as api:
        r = api.post(
            "/api/v1/blocks",
            json={
                "domain": name,
                "action": "nxdomain",
                "legal_basis": BASIS,
                "reason": "Judi daring",
            },
        )
        assert r.status_code == 201, r.text
    # its own address, so the rate limit of the session's other public requests is not shared
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=live.url, timeout=30, transport=transport) as web:
        look = web.get("/public/lookup", params={"domain": f"www.{name}", "lang": "id"})
        assert f'href="/public/normalisation?domain={name}"' in look.text
        form = web.get("/public/normalisation", params={"domain": name, "lang": "id"})
        assert form.status_code == 200 and "Ajukan pemulihan akses" in form.text
        assert "Jalur khusus pemerintah untuk komunikasi cepat" in form.text
        assert_indonesian(form.text, name)
        token = csrf(form.text)
        data = {
            "csrf_token": token,
            "domain": name,
            "contact_email": "",
            "reason": "Toko kami tidak menjual judi.",
            "condition": list(CONDITIONS),
            "evidence": [""] * len(CONDITIONS),
        }
        bad = web.post("/public/normalisation", data=data)
        assert bad.status_code == 422
        assert re.search(r'id="contact_email-error"[^>]*>Cantumkan alamat surel', bad.text)
        assert "Toko kami tidak menjual judi." in bad.text
        wrong = web.post("/public/normalisation", data={**data, "contact_email": "bukan-surel"})
        assert wrong.status_code == 422
        assert re.search(r'id="contact_email-error"[^>]*>', wrong.text)
        done = web.post(
            "/public/normalisation", data={**data, "contact_email": "pemilik@contoh.co.id"}
        )
        assert done.status_code == 200, done.text
        m = re.search(r"Nomor permohonan Anda (NM-\d{8}-[0-9A-F]{6})\.", done.text)
        assert m and "WIB" in done.text
        english = web.post(
            "/public/normalisation",
            params={"lang": "en"},
            data={**data, "contact_email": "pemilik@contoh.co.id"},
        )
        assert english.status_code == 409
        assert "is still pending; its decision is due by" in english.text
        assert "Toko kami tidak menjual judi." in english.text
    with _console(live, regulator, official) as web:
        page = web.get("/console/normalisations", params={"lang": "id"}).text
        item = page.split(m.group(1), 1)[1].split("</article>", 1)[0]
        assert "pemilik domain (formulir publik)" in item and "pemilik@contoh.co.id" in item
        nid = re.search(r'action="/console/normalisations/([0-9a-f-]{36})/decision"', item)
        assert nid
        r = web.post(
            f"/console/normalisations/{nid.group(1)}/decision",
            data={"csrf_token": csrf(page), "outcome": "approved", "reason": "Bukan situs judi."},
        )
        assert r.status_code == 303
    with live.client() as public:
        look = public.get("/public/lookup", params={"domain": name, "lang": "en"})
        assert f"{name} is not blocked" in look.text


def test_public_requests_are_rate_limited_per_address(live: LiveServer) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.3")
    name = f"{unique('tidak-diblokir')}.co.id"
    with httpx.Client(base_url=live.url, timeout=30, transport=transport) as web:
        token = csrf(web.get("/public/normalisation").text)
        data = {
            "csrf_token": token,
            "domain": name,
            "contact_email": "a@contoh.co.id",
            "reason": "Mohon dipulihkan.",
        }
        codes = [web.post("/public/normalisation", data=data).status_code for _ in range(6)]
        assert codes[:5] == [409] * 5, codes  # not blocked: nothing to restore
        assert codes[5] == 429
        last = web.post("/public/normalisation", data=data)
        assert last.status_code == 429 and "Terlalu banyak permohonan dari alamat Anda" in last.text
        assert "Mohon dipulihkan." in last.text


# ------------------------------------------------------------------ case file, access


def test_the_case_file_lists_the_events_filters_them_and_downloads_as_csv(live: LiveServer) -> None:
    c = _case(live)
    s = _activate(live, c)
    with _console(live, c.regulator, c.alice) as web:
        index = web.get("/console/cases", params={"lang": "id"})
        assert f'href="/console/cases/{c.platform}"' in index.text
        page = web.get(f"/console/cases/{c.platform}", params={"lang": "id"})
        assert page.status_code == 200
        rows = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        assert "Sanksi diusulkan" in rows and rows.count("Sanksi disetujui oleh pejabat") == 2
        assert "Pemblokiran diajukan" in rows and "Pemblokiran disetujui" in rows
        assert f'href="/console/sanctions/{s["id"]}"' in rows
        times = re.findall(r'<time datetime="([^"]+)"', rows)
        assert times == sorted(times) and len(times) >= 4
        assert_indonesian(page.text, c.platform, *c.domains, s["reference"], "tangkal")
        only = web.get(
            f"/console/cases/{c.platform}", params=[("kind", "block"), ("lang", "id")]
        ).text
        only_rows = only.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        assert "Sanksi diusulkan" not in only_rows and "Pemblokiran disetujui" in only_rows
        assert 'value="block" checked' in only
        assert f'href="/console/cases/{c.platform}/csv?kind=block"' in only
        bad = web.get(f"/console/cases/{c.platform}", params=[("kind", "nope")])
        assert bad.status_code == 422 and "tidak dikenal" in bad.text
        got = web.get(f"/console/cases/{c.platform}/csv")
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert "attachment" in got.headers["content-disposition"]
        table = list(csv.DictReader(io.StringIO(got.text)))
        assert {r["action"] for r in table} >= {
            "sanction.proposed",
            "sanction.approved",
            "block.created",
            "block.approved",
        }
        assert [r["at"] for r in table] == sorted(r["at"] for r in table)
        blocks_only = list(
            csv.DictReader(
                io.StringIO(
                    web.get(f"/console/cases/{c.platform}/csv", params={"kind": "block"}).text
                )
            )
        )
        assert blocks_only and {r["kind"] for r in blocks_only} == {"block"}
    with _console(live, c.platform, c.moderator) as web:
        r = web.get("/console/cases")
        assert r.status_code == 303 and r.headers["location"] == f"/console/cases/{c.platform}"
        own = web.get(f"/console/cases/{c.platform}", params={"lang": "en"}).text
        assert "Sanction approved by an official" in own and c.alice not in own
        assert web.get(f"/console/cases/{c.platform}/csv").status_code == 200


def test_who_may_open_the_procedure_pages(live: LiveServer) -> None:
    c = _case(live)
    other = _case(live)
    s = _propose(live, c)
    isp = unique("isp")
    _cli(live, "org", "create", "--kind", "isp", "--name", isp)
    live.user(isp, "noc", "isp", PASSWORD)
    with _console(live, other.platform, other.moderator) as web:
        assert web.get(f"/console/sanctions/{s['id']}").status_code == 404
        assert s["reference"] not in web.get("/console/sanctions").text
        assert web.get(f"/console/cases/{c.platform}").status_code == 404
        assert web.get("/console/escalations").status_code == 403
        home = web.get("/console/orders", params={"lang": "en"}).text
        for href in (
            "/console/sanctions",
            "/console/objections",
            "/console/normalisations",
            "/console/cases",
        ):
            assert f'href="{href}"' in home
        assert 'href="/console/escalations"' not in home
        token = csrf(home)
        r = web.post(
            f"/console/sanctions/{s['id']}/objection",
            data={"csrf_token": token, "reason": "bukan urusan kami"},
        )
        assert r.status_code == 404
    with _console(live, c.regulator, c.analyst) as web:
        home = web.get("/console/orders", params={"lang": "id"}).text
        for href in (
            "/console/escalations",
            "/console/objections",
            "/console/normalisations",
            "/console/cases",
        ):
            assert f'href="{href}"' in home
        assert web.get("/console/normalisations/new").status_code == 403
        assert web.get("/console/escalations").status_code == 200
    with _console(live, isp, "noc") as web:
        for path in (
            "/console/escalations",
            "/console/sanctions",
            "/console/objections",
            "/console/normalisations",
            f"/console/cases/{c.platform}",
        ):
            assert web.get(path).status_code == 403, path
    with browser_client(live) as stranger:
        r = stranger.get("/console/escalations")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with _console(live, c.regulator, c.alice) as web:
        r = web.post(f"/console/sanctions/{s['id']}/approve", data={"csrf_token": "guess"})
        assert r.status_code == 403
        assert "Persetujuan: 0 dari 2" in web.get(f"/console/sanctions/{s['id']}").text
        token = csrf(web.get("/console/escalations").text)
        web.post(
            f"/console/sanctions/{s['id']}/reject",
            data={"csrf_token": token, "reason": "Selesai uji."},
        )


# ------------------------------------------------------------------ the escalation, live


SPEED = 3600  # Indonesia's urgent 4 hours become 4 seconds


@pytest.fixture(scope="module", params=backends())
def drill(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("drill")
    with server_database(request.param) as url:
        env = {"TANGKAL_DATABASE_URL": url, "TANGKAL_DATA_DIR": str(folder)}
        made = run_cli(
            "sop",
            "derive",
            "indonesia",
            "--speed",
            str(SPEED),
            "--name",
            "indonesia-web-drill",
            env=env,
            cwd=str(folder),
        )
        assert made.returncode == 0, made.stderr
        profile = Path(folder) / "drill.toml"
        profile.write_text(made.stdout, encoding="utf-8")
        with live_server(url, {"TANGKAL_SOP_PROFILE": str(profile)}) as server:
            yield server


def _wait_for(check: Any, what: str, limit: float = 90.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_unanswered_order_escalates_into_the_queue_and_its_fine_is_annulled(
    drill: LiveServer,
) -> None:
    c = _case(drill)
    analyst = c.analyst_token
    moderator_token = _cli(drill, "token", "create", "--org", c.platform, "--role", "moderator")
    with drill.client(analyst) as api:
        r = api.post(
            "/api/v1/orders",
            json={
                "platform": c.platform,
                "category": "terrorism",
                "legal_basis": "UU 5/2018",
                "reason": "Instruksi merakit bom.",
                "locators": ["https://t.me/kanal_uji/7"],
            },
        )
        assert r.status_code == 201, r.text
        oid, ref = r.json()["id"], r.json()["reference"]
    with drill.client(moderator_token) as api:
        assert api.post(f"/api/v1/orders/{oid}/ack").status_code == 200

    def finished() -> dict[str, Any] | None:
        with drill.client(analyst) as api:
            body = api.get(f"/api/v1/orders/{oid}").json()
        codes = [s["code"] for s in body["escalation"]]
        return body if codes == ["ST1", "ST2", "ST3", "BLOCK"] else None

    order = _wait_for(finished, "ST1, ST2, ST3 and the proposal to block")
    st2 = next(s for s in order["escalation"] if s["code"] == "ST2")
    sid = next(s for s in order["escalation"] if s["code"] == "BLOCK")["sanction_id"]
    with _console(drill, c.regulator, c.alice) as web:
        queue = web.get("/console/escalations", params={"lang": "id"}).text
        row = queue.split(f'id="o-{oid}"', 1)[1].split("</tr>", 1)[0]
        assert ref in row and f'href="/console/sanctions/{sid}"' in row
        assert "Menunggu persetujuan" in row and "0 dari 2 persetujuan" in row
        assert "Usulan pemutusan akses" in row  # the profile's own words for the step
        assert f'id="s-{sid}"' in queue
        page = web.get(f"/console/orders/{oid}", params={"lang": "id"}).text
        esc = page.split('id="escalation"', 1)[1].split("</section>", 1)[0]
        assert [m for m in re.findall(r'<span class="tag overdue">([A-Z0-9]+)</span>', esc)] == [
            "ST1",
            "ST2",
            "ST3",
            "BLOCK",
        ]
        assert "Surat Teguran 2 dan denda" in esc and "IDR 500.000.000" in esc
        assert "Eskalasi telah menjalani seluruh 4 tahap SOP." in esc
        assert f'href="/console/sanctions/{sid}"' in esc
        assert esc.count("WIB") >= 8  # due and taken, in the profile's zone
    with _console(drill, c.platform, c.moderator) as web:
        page = web.get(f"/console/orders/{oid}", params={"lang": "id"}).text
        for kind, subject in (("order", oid), ("warning", st2["id"]), ("fine", st2["id"])):
            assert f'id="obj-{kind}-{subject}"' in page
        assert "Sanggah denda " in page and "Sanggah surat teguran " in page
        token = csrf(page)
        r = web.post(
            f"/console/orders/{oid}/objection",
            data={
                "csrf_token": token,
                "kind": "fine",
                "subject_id": st2["id"],
                "reason": "Denda dihitung dari butir yang sudah dihapus.",
                "evidence": "https://contoh.example/bukti-penghapusan",
            },
        )
        assert r.status_code == 303, r.text
    with _console(drill, c.regulator, c.bob) as web:
        page = web.get("/console/objections", params={"lang": "id"}).text
        item = article_with(page, f"{ref} ST2")
        assert "Denda" in item
        objection = re.search(r'action="/console/objections/([0-9a-f-]{36})/decision"', item)
        assert objection
        r = web.post(
            f"/console/objections/{objection.group(1)}/decision",
            data={
                "csrf_token": csrf(page),
                "outcome": "upheld",
                "reason": "Terbukti sudah dihapus.",
            },
        )
        assert r.status_code == 303
        esc = (
            web.get(f"/console/orders/{oid}", params={"lang": "id"})
            .text.split('id="escalation"', 1)[1]
            .split("</section>", 1)[0]
        )
        assert '<span class="struck">IDR 500.000.000</span>' in esc and "denda dibatalkan" in esc
        case = web.get(
            f"/console/cases/{c.platform}",
            params=[("kind", "fine"), ("kind", "objection"), ("lang", "id")],
        ).text
        rows = case.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        assert "Denda dikenakan" in rows or "Surat teguran diterbitkan" in rows
        assert "Denda dibatalkan (sanggahan diterima)" in rows
        # the officials reject the escalation's sanction: the order waits for a decision
        queue = web.get("/console/escalations").text
        r = web.post(
            f"/console/sanctions/{sid}/reject",
            data={"csrf_token": csrf(queue), "reason": "Tunggu klarifikasi.", "next": "queue"},
        )
        assert r.status_code == 303
        queue = web.get("/console/escalations", params={"lang": "id"}).text
        row = queue.split(f'id="o-{oid}"', 1)[1].split("</tr>", 1)[0]
        assert "Menunggu keputusan" in row and 'action="/console/escalations/propose"' in row
        empty = web.post(
            "/console/escalations/propose",
            data={"csrf_token": csrf(queue), "order_id": oid, "reason": ""},
        )
        assert empty.status_code == 422
        assert re.search(
            rf'id="pr-{oid}-error"[^>]*>Jelaskan mengapa akses ke platform', empty.text
        )
        r = web.post(
            "/console/escalations/propose",
            data={"csrf_token": csrf(queue), "order_id": oid, "reason": "Tetap tidak patuh."},
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/console/sanctions/")
        page = web.get(r.headers["location"], params={"lang": "id"}).text
        assert "Tetap tidak patuh." in page and ref in page and "Persetujuan: 0 dari 2" in page
