"""The block pages over real HTTP: the form with its assessment, restoring access, two
officials for a whole-service block, protected names, appeals, and who may open them."""

from __future__ import annotations

import re

import httpx

from tests.functional.browser.people import PASSWORD, browser_client, csrf, fresh_cast, sign_in
from tests.support import LiveServer, unique

BLOCK = {
    "action": "nxdomain",
    "legal_basis": "UU 5/2018 Pasal 13A",
    "reason": "Terrorist propaganda",
    "category": "terrorism",
}


def _official(live: LiveServer, regulator: str) -> str:
    """A further official of the regulator, for the two-person rule."""
    name = unique("pejabat")
    live.user(regulator, name, "official", PASSWORD)
    return name


def _create(web: httpx.Client, name: str) -> httpx.Response:
    token = csrf(web.get("/console/blocks/new").text)
    return web.post(
        "/console/blocks/new", data={**BLOCK, "domain": name, "assessed": name, "csrf_token": token}
    )


def test_official_sees_the_assessment_creates_a_block_and_restores_access(live: LiveServer) -> None:
    people = fresh_cast(live)
    name = f"{unique('bom')}.example.net"
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.official)
        form = web.get("/console/blocks/new", params={"lang": "en"})
        assert form.status_code == 200 and 'hx-get="/console/blocks/assess"' in form.text
        panel = web.get(
            "/console/blocks/assess", params={"domain": name}, headers={"HX-Request": "true"}
        )
        assert panel.status_code == 200
        assert "one official may decide" in panel.text
        assert f'name="assessed" form="block-form" value="{name}"' in panel.text
        token = csrf(form.text)
        # without the assessment having been shown, the first submit only shows it
        first = web.post("/console/blocks/new", data={**BLOCK, "domain": name, "csrf_token": token})
        assert first.status_code == 200
        assert "Proportionality assessment" in first.text
        assert "submit again to create the block" in first.text
        r = web.post(
            "/console/blocks/new",
            data={**BLOCK, "domain": name, "assessed": name, "csrf_token": token},
        )
        assert r.status_code == 303, r.text
        detail_url = r.headers["location"]
        page = web.get(detail_url, params={"lang": "en"})
        assert "is blocked; the RPZ was updated" in page.text
        assert "Restore access (normalisasi)" in page.text
        assert f"History of {name}" in page.text
        assert (
            web.get("/public/lookup", params={"domain": name, "lang": "en"}).text.count(
                f"{name} is blocked"
            )
            == 1
        )
        # a restore without a reason is refused in the page, next to the field
        refused = web.post(
            f"{detail_url}/restore",
            data={"csrf_token": token, "reason": " "},
            params={"lang": "en"},
        )
        assert refused.status_code == 422
        assert re.search(r'id="restore-error"[^>]*>[^<]*reason for restoring access', refused.text)
        done = web.post(
            f"{detail_url}/restore",
            data={"csrf_token": token, "reason": "The platform removed the channels."},
        )
        assert done.status_code == 303
        after = web.get(detail_url, params={"lang": "en"}).text
        assert "Access to" in after and "is restored" in after
        assert "The platform removed the channels." in after
        assert "Restore access (normalisasi)" not in after
        assert (
            f"{name} is not blocked"
            in web.get("/public/lookup", params={"domain": name, "lang": "en"}).text
        )
        # blocking it again makes a second entry; the history shows both
        again = _create(web, name)
        assert again.status_code == 303
        history = web.get(again.headers["location"], params={"lang": "en"}).text
        assert history.count('class="badge st-restored"') == 1
        assert history.count('class="badge st-active"') >= 2  # header and history row
        assert "Earlier blocks of this name: 1" in history


def test_a_whole_service_block_needs_two_officials(live: LiveServer) -> None:
    people = fresh_cast(live)
    platform = unique("platform")
    domain = f"{platform}.example.org"
    made = live.cli("org", "create", "--kind", "platform", "--name", platform, "--domain", domain)
    assert made.returncode == 0, made.stderr
    second = _official(live, people.regulator)
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        panel = analyst.get(
            "/console/blocks/assess",
            params={"domain": f"web.{domain}", "lang": "en"},
            headers={"HX-Request": "true"},
        ).text
        assert "Whole-service block:" in panel and "needs a second official" in panel
        assert f"{platform} ({domain})" in panel
        r = _create(analyst, f"web.{domain}")
        assert r.status_code == 303
        url = r.headers["location"]
        assert "waits for approval" in analyst.get(url, params={"lang": "en"}).text
    with browser_client(live) as first:
        sign_in(first, people.regulator, people.official)
        listing = first.get("/console/blocks", params={"lang": "en"}).text
        assert "Waiting for an official" in listing and f"web.{domain}" in listing
        assert f'action="{url}/approve"' in listing and f'action="{url}/reject"' in listing
        assert '<input type="hidden" name="next" value="list">' in listing
        token = csrf(listing)
        assert first.post(f"{url}/approve", data={"csrf_token": token}).status_code == 303
        page = first.get(url, params={"lang": "en"}).text
        assert 'class="badge st-pending_approval"' in page
        again = first.post(f"{url}/approve", data={"csrf_token": token}, params={"lang": "en"})
        assert again.status_code == 403
        assert "a different official must give the second approval" in again.text
    with browser_client(live) as other:
        sign_in(other, people.regulator, second)
        detail = other.get(url).text
        assert f'action="{url}/approve"' in detail and f'action="{url}/reject"' in detail
        token = csrf(detail)
        assert other.post(f"{url}/approve", data={"csrf_token": token}).status_code == 303
        assert 'class="badge st-active"' in other.get(url).text


def test_bad_block_input_is_shown_in_the_form_never_a_500(live: LiveServer) -> None:
    people = fresh_cast(live)
    name = f"{unique('dup')}.example.net"
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.official)
        token = csrf(web.get("/console/blocks/new").text)
        r = web.post(
            "/console/blocks/new",
            params={"lang": "en"},
            data={
                **BLOCK,
                "domain": "co.id",
                "assessed": "co.id",
                "expires_at": "next tuesday",
                "legal_basis": "",
                "csrf_token": token,
            },
        )
        assert r.status_code == 422
        assert "The block was not created" in r.text
        assert 'id="domain-error"' in r.text and "public suffix" in r.text
        assert 'id="expires_at-error"' in r.text and 'id="legal_basis-error"' in r.text
        r = web.post(
            "/console/blocks/new",
            params={"lang": "en"},
            data={
                **BLOCK,
                "domain": name,
                "assessed": name,
                "expires_at": "2001-01-01T10:00",
                "csrf_token": token,
            },
        )
        assert r.status_code == 422 and "expires_at must be later" in r.text
        assert _create(web, name).status_code == 303
        dup = _create(web, name)
        assert dup.status_code == 409 and "already has block entry" in dup.text
        bad_status = web.get("/console/blocks", params={"status": "whatever"})
        assert bad_status.status_code == 422 and "Unknown block status" in bad_status.text
        assert web.get("/console/blocks/not-an-id").status_code == 404
        panel = web.get("/console/blocks/assess", params={"domain": "github.io"})
        assert panel.status_code == 422 and 'class="error"' in panel.text


def test_block_list_filters_by_status_and_searches_names(live: LiveServer) -> None:
    people = fresh_cast(live)
    stem = unique("cari")
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.official)
        for label in ("a", "b"):
            assert _create(web, f"{label}.{stem}.example.com").status_code == 303
        found = web.get("/console/blocks", params={"q": stem}).text
        assert f"a.{stem}.example.com" in found and f"b.{stem}.example.com" in found
        beneath = web.get("/console/blocks", params={"q": f"a.{stem}.example.com"}).text
        assert f"b.{stem}.example.com" not in beneath and f"a.{stem}.example.com" in beneath
        restored = web.get("/console/blocks", params={"q": stem, "status": "restored"}).text
        assert f"a.{stem}.example.com" not in restored


def test_protected_names_are_kept_by_officials_only(live: LiveServer) -> None:
    people = fresh_cast(live)
    name = f"{unique('pemda')}.example.id"
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        page = analyst.get("/console/protected", params={"lang": "en"})
        assert page.status_code == 200 and "Protect a name" not in page.text
        r = analyst.post(
            "/console/protected", data={"name": name, "note": "x", "csrf_token": csrf(page.text)}
        )
        assert r.status_code == 403
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.official)
        token = csrf(web.get("/console/protected").text)
        r = web.post(
            "/console/protected",
            data={"name": name, "note": "Provincial services", "csrf_token": token},
        )
        assert r.status_code == 303
        listing = web.get("/console/protected", params={"lang": "en"}).text
        assert name in listing and "Provincial services" in listing
        dup = web.post(
            "/console/protected",
            params={"lang": "en"},
            data={"name": name, "note": "again", "csrf_token": token},
        )
        assert dup.status_code == 409 and "already on the protected list" in dup.text
        empty = web.post(
            "/console/protected", data={"name": "x..y", "note": "", "csrf_token": token}
        )
        assert empty.status_code == 422 and 'class="alert"' in empty.text
        panel = web.get(
            "/console/blocks/assess",
            params={"domain": f"www.{name}", "lang": "en"},
            headers={"HX-Request": "true"},
        ).text
        assert "Protected names touched:" in panel
        r = web.post("/console/protected/remove", data={"name": name, "csrf_token": token})
        assert r.status_code == 303
        after = web.get("/console/protected", params={"lang": "en"}).text
        assert f"{name} was removed from the protected list." in after
        assert f'<th scope="row" class="mono">{name}</th>' not in after


def test_officials_read_the_publics_appeals(live: LiveServer) -> None:
    people = fresh_cast(live)
    name = f"{unique('banding')}.example.net"
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.official)
        block_url = _create(web, name).headers["location"]
    with live.client() as public:
        r = public.post(
            "/api/v1/public/appeals",
            json={
                "domain": f"www.{name}",
                "contact_email": "pemilik@contoh.co.id",
                "statement": "This is our shop's site; it has nothing to do with terrorism.",
            },
        )
        assert r.status_code == 202, r.text
        reference = r.json()["reference"]
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.official)
        page = web.get("/console/appeals", params={"lang": "en"})
        assert page.status_code == 200
        row = next(tr for tr in page.text.split("<tr>") if reference in tr)
        assert name in row and "pemilik@contoh.co.id" in row
        assert "nothing to do with terrorism" in row and block_url in row
        assert f"appealed for www.{name}" in row
        assert reference in web.get(block_url).text


def test_platforms_and_isps_cannot_open_the_block_pages(live: LiveServer) -> None:
    people = fresh_cast(live)
    isp = unique("isp")
    assert live.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
    live.user(isp, "noc", "isp", PASSWORD)
    for org, user in ((people.platform, people.moderator), (isp, "noc")):
        with browser_client(live) as web:
            sign_in(web, org, user)
            home = web.get(
                "/console/orders" if org != isp else "/console/rpz", params={"lang": "en"}
            )
            assert 'href="/console/blocks"' not in home.text
            for path in (
                "/console/blocks",
                "/console/blocks/new",
                "/console/protected",
                "/console/appeals",
                "/console/blocks/assess?domain=t.me",
            ):
                assert web.get(path).status_code == 403, path
            token = csrf(home.text)
            r = web.post(
                "/console/blocks/new",
                data={**BLOCK, "domain": "t.me", "assessed": "t.me", "csrf_token": token},
            )
            assert r.status_code == 403


def test_block_forms_without_the_csrf_token_are_refused(live: LiveServer) -> None:
    people = fresh_cast(live)
    name = f"{unique('csrf')}.example.net"
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.official)
        r = web.post("/console/blocks/new", data={**BLOCK, "domain": name, "assessed": name})
        assert r.status_code == 403
        assert web.post("/console/protected", data={"name": name, "note": "n"}).status_code == 403
        url = _create(web, name).headers["location"]
        assert (
            web.post(f"{url}/restore", data={"reason": "r", "csrf_token": "guess"}).status_code
            == 403
        )
        assert 'class="badge st-active"' in web.get(url).text


def test_a_refused_approval_names_the_status_in_indonesian_not_as_the_api_word(
    live: LiveServer,
) -> None:
    """The refusal's status is an API value (``active``); the Indonesian page names it as the
    badge does, the English page keeps the API's own text."""
    people = fresh_cast(live)
    name = f"{unique('judi')}.example.net"
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        r = _create(analyst, name)
        assert r.status_code == 303, r.text
        url = r.headers["location"]
    with browser_client(live) as official:
        sign_in(official, people.regulator, people.official)
        detail = official.get(url, params={"lang": "id"})
        assert '<span class="role">Pejabat</span>' in detail.text
        token = csrf(detail.text)
        approved = official.post(f"{url}/approve", data={"csrf_token": token})
        assert approved.status_code == 303
        page = official.get(url).text
        assert f"Disetujui: status {name} kini “Aktif”." in page
        again = official.post(f"{url}/approve", data={"csrf_token": token})
        assert again.status_code == 409, again.text
        message = re.search(r'<p class="lead">([^<]*)</p>', again.text)
        assert message is not None
        assert "berstatus “Aktif”; hanya entri yang menunggu persetujuan" in message.group(1)
        assert not re.search(r"\b(active|pending_approval)\b", message.group(1))
        english = official.post(f"{url}/approve", data={"csrf_token": token}, params={"lang": "en"})
        assert english.status_code == 409
        assert (
            f"on {name} is active; only entries pending approval can be approved." in english.text
        )
        assert '<span class="role">official</span>' in english.text
