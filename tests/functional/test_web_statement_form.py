"""The console's statement-of-reasons form and display over real HTTP (both backends): in
Indonesian no raw DSA code or field key shows; a refusal by the DSA rules comes back beside
its field, in Indonesian, with the text kept; ``maxlength`` is the DSA's limit."""

from __future__ import annotations

import html
import re

import httpx

from tangkal.statements import dsa
from tests.functional.browser.people import Cast, browser_client, csrf, fresh_cast, sign_in
from tests.support import LiveServer, unique

_CODE = re.compile(
    r"\b(?:DECISION_|AUTOMATED_|CONTENT_TYPE_|STATEMENT_CATEGORY_|KEYWORD_|SOURCE_|ACCOUNT_TYPE_)"
    r"[A-Z_]+\b"
)
_KEYS = re.compile(
    r"\b(?:decision_facts|decision_visibility|decision_ground|illegal_content_\w+|"
    r"automated_detection|automated_decision|territorial_scope|application_date|content_date|"
    r"content_type|source_type|source_identity|category_specification|puid)\b"
)


def _visible(page: str) -> str:
    """The text a reader sees: no tags, attributes, scripts or styles."""
    body = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _order(web: httpx.Client, people: Cast) -> str:
    form = web.get("/console/orders/new")
    channel = unique("sor_kanal").replace("-", "_")
    r = web.post(
        "/console/orders/new",
        data={
            "platform": people.platform,
            "category": "terrorism",
            "legal_basis": "UU 5/2018 Pasal 13A",
            "reason": "Instruksi merakit bom",
            "locators": f"https://t.me/{channel}/7",
            "csrf_token": csrf(form.text),
        },
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).rsplit("/", 1)[1]


def test_the_indonesian_statement_form_and_display_speak_indonesian(live: LiveServer) -> None:
    people = fresh_cast(live)
    with browser_client(live) as web:
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        oid = _order(web, people)
    with browser_client(live) as web:
        assert sign_in(web, people.platform, people.moderator).status_code == 303
        page = web.get(f"/console/orders/{oid}", params={"lang": "id"})
        assert page.status_code == 200
        text = _visible(page.text)
        assert "Fakta dan keadaan yang mendasari keputusan" in text
        assert not _CODE.findall(text) and not _KEYS.findall(text), _CODE.findall(
            text
        ) + _KEYS.findall(text)
        assert f'maxlength="{dsa.FACTS}"' in page.text
        assert f'maxlength="{dsa.LIMITS["content_type_other"]}"' in page.text

        # "other type" without saying which: refused by the DSA rules beside the field
        facts = "Kanal dihapus dalam satu jam setelah perintah diterima."
        r = web.post(
            f"/console/orders/{oid}/response",
            params={"lang": "id"},
            data={
                "action": "removed",
                "decision_facts": facts,
                "content_type": "CONTENT_TYPE_OTHER",
                "automated_detection": "no",
                "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
                "csrf_token": csrf(page.text),
            },
        )
        assert r.status_code == 422, r.text
        assert facts in r.text  # the person's text is kept
        field = r.text.split('id="content_type_other"')[1].split(">")[0]
        assert 'aria-invalid="true"' in field
        error = r.text.split('id="content_type_other-error"')[1].split("</p>")[0]
        assert "Wajib diisi untuk pilihan di atas" in error, error
        assert 'value="CONTENT_TYPE_OTHER" checked' in r.text
        assert not _CODE.findall(_visible(r.text))

        r = web.post(
            f"/console/orders/{oid}/response",
            params={"lang": "id"},
            data={
                "action": "removed",
                "decision_facts": facts,
                "content_type": "CONTENT_TYPE_VIDEO",
                "automated_detection": "no",
                "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
                "csrf_token": csrf(page.text),
            },
        )
        assert r.status_code == 303, r.text
        shown = web.get(f"/console/orders/{oid}", params={"lang": "id"})
        text = _visible(shown.text)
        assert "Penghapusan konten" in text and "Video" in text and "Konten teroris" in text
        assert not _CODE.findall(text) and not _KEYS.findall(text), _CODE.findall(
            text
        ) + _KEYS.findall(text)
        english = _visible(web.get(f"/console/orders/{oid}", params={"lang": "en"}).text)
        assert (
            "Facts and circumstances of the decision" in english and "Terrorist content" in english
        )
