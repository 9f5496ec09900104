"""Hash banks and matching in the console over real HTTP: creating banks, adding files (and
why PDQ did not hash one), imports all-or-nothing, exports with the session, matching a
photo's copy with its closeness and feedback, evidence into banks, and private banks."""

from __future__ import annotations

import re

import httpx
import pytest

from tangkal.hashing.exchange import FORMATS
from tests.evidence import resized_jpeg, sample_png
from tests.functional.browser.people import Cast, browser_client, csrf, fresh_cast, sign_in
from tests.support import LiveServer, unique


@pytest.fixture(scope="module")
def photo() -> bytes:
    return sample_png("astronaut")


def _new_bank(web: httpx.Client, name: str, *, shared: bool = True) -> None:
    token = csrf(web.get("/console/banks").text)
    data = {
        "name": name,
        "kind": "own",
        "source": "Tech Against Terrorism",
        "threshold_pdq": "31",
        "threshold_text_near": "20",
        "csrf_token": token,
    }
    if shared:
        data["shared"] = "on"
    r = web.post("/console/banks", data=data)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/console/banks/{name}"


def _upload(web: httpx.Client, bank: str, filename: str, content: bytes) -> httpx.Response:
    token = csrf(web.get(f"/console/banks/{bank}").text)
    return web.post(
        f"/console/banks/{bank}/upload",
        params={"lang": "en"},
        data={"csrf_token": token},
        files={"file": (filename, content)},
    )


def _match(web: httpx.Client, filename: str, content: bytes) -> httpx.Response:
    token = csrf(web.get("/console/match").text)
    return web.post(
        "/console/match",
        params={"lang": "en"},
        data={"csrf_token": token},
        files={"file": (filename, content)},
    )


def test_a_moderator_finds_a_resized_copy_with_its_closeness_and_gives_feedback(
    live: LiveServer, photo: bytes
) -> None:
    people = fresh_cast(live)
    bank = unique("tat-propaganda")
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        _new_bank(analyst, bank)
        added = _upload(analyst, bank, "astronaut.png", photo)
        assert added.status_code == 201
        assert "Hashed astronaut.png" in added.text
        assert all(f'<span class="tag">{t}</span>' in added.text for t in ("pdq", "md5", "sha256"))
    with browser_client(live) as moderator:
        sign_in(moderator, people.platform, people.moderator)
        listing = moderator.get("/console/banks", params={"lang": "en"}).text
        assert f'href="/console/banks/{bank}"' in listing
        r = _match(moderator, "copy.jpg", resized_jpeg(photo))
        assert r.status_code == 200
        card = next(a for a in r.text.split("<article")[1:] if f'/console/banks/{bank}"' in a)
        distance = int(re.search(r"distance (\d+) of 256 bits", card).group(1))  # type: ignore[union-attr]
        assert distance <= 31
        assert ("very close" if distance <= 10 else "similar") in card
        assert "Tech Against Terrorism" in card and "astronaut.png" in card
        indo = moderator.post(
            "/console/match",
            params={"lang": "id"},
            data={"csrf_token": csrf(r.text)},
            files={"file": ("copy.png", photo)},
        )
        assert "identik" in indo.text  # the very same file: distance 0
        content_id = re.search(r'name="content_id" value="(\d+)"', card).group(1)  # type: ignore[union-attr]
        fb = moderator.post(
            "/console/match/feedback",
            params={"lang": "en"},
            headers={"HX-Request": "true"},
            data={"csrf_token": csrf(r.text), "content_id": content_id, "verdict": "confirmed"},
        )
        assert fb.status_code == 200 and "You confirmed this match" in fb.text
        plain = moderator.post(
            "/console/match/feedback",
            data={
                "csrf_token": csrf(r.text),
                "content_id": content_id,
                "verdict": "false_positive",
            },
        )
        assert plain.status_code == 303
        again = _match(moderator, "copy.jpg", resized_jpeg(photo)).text
        assert "confirmed 1 · false positive 1" in again
        bad = moderator.post(
            "/console/match/feedback",
            params={"lang": "en"},
            data={"csrf_token": csrf(r.text), "content_id": content_id, "verdict": "maybe"},
        )
        assert bad.status_code == 422 and "confirmed" in bad.text


def test_a_file_that_is_not_an_image_says_why_pdq_did_not_hash_it(live: LiveServer) -> None:
    people = fresh_cast(live)
    bank = unique("leaflets")
    with browser_client(live) as web:
        sign_in(web, people.platform, people.moderator)
        _new_bank(web, bank, shared=False)
        r = _upload(web, bank, "manifesto.txt", b"Bergabunglah dengan kami")
        assert r.status_code == 201
        section = r.text.split('id="added-title"')[1]
        assert "Not hashed" in section and '<span class="tag off">pdq</span>' in section
        assert '<span class="tag">md5</span>' in section
        m = _match(web, "manifesto.txt", b"Bergabunglah dengan kami")
        assert "not hashed because" in m.text and "exact copy" in m.text
        assert "not a decodable image (no known image format)" in m.text
        # the reason is the API's English text; the Indonesian page says it in Indonesian
        token = csrf(m.text)
        indonesian = web.post(
            "/console/match",
            params={"lang": "id"},
            data={"csrf_token": token},
            files={"file": ("manifesto.txt", b"Bergabunglah dengan kami")},
        )
        assert indonesian.status_code == 200
        assert (
            "tidak di-hash karena bukan gambar yang dapat didekode (format gambar tidak "
            "dikenal), sehingga PDQ tidak dihitung"
        ) in indonesian.text
        assert "not a decodable image" not in indonesian.text
        empty = _match(web, "", b"")
        assert empty.status_code == 422 and "Choose a file, or paste a message" in empty.text


def test_another_platforms_private_bank_is_not_found(live: LiveServer) -> None:
    people = fresh_cast(live)
    bank = unique("private")
    with browser_client(live) as owner:
        sign_in(owner, people.platform, people.moderator)
        _new_bank(owner, bank, shared=False)
        assert _upload(owner, bank, "a.bin", b"secret signal material").status_code == 201
        token = csrf(owner.get("/console/banks").text)
    with browser_client(live) as other:
        sign_in(other, people.other_platform, people.moderator)
        assert f"/console/banks/{bank}" not in other.get("/console/banks").text
        assert other.get(f"/console/banks/{bank}").status_code == 404
        assert other.get(f"/console/banks/{bank}/export").status_code == 404
        token = csrf(other.get("/console/banks").text)
        assert (
            other.post(f"/console/banks/{bank}/enabled", data={"csrf_token": token}).status_code
            == 404
        )
        assert (
            other.post(
                f"/console/banks/{bank}/upload",
                data={"csrf_token": token},
                files={"file": ("x.bin", b"x")},
            ).status_code
            == 404
        )
        found = _match(other, "a.bin", b"secret signal material").text
        assert "No match for a.bin" in found and f"/console/banks/{bank}" not in found


def test_only_the_owner_switches_a_shared_bank_off(live: LiveServer, photo: bytes) -> None:
    people = fresh_cast(live)
    bank = unique("shared")
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        _new_bank(analyst, bank)
        _upload(analyst, bank, "astronaut.png", photo)
    with browser_client(live) as moderator:
        sign_in(moderator, people.platform, people.moderator)
        page = moderator.get(f"/console/banks/{bank}", params={"lang": "en"})
        assert page.status_code == 200 and "Add a file" not in page.text
        r = moderator.post(f"/console/banks/{bank}/enabled", data={"csrf_token": csrf(page.text)})
        assert r.status_code == 403
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        token = csrf(analyst.get("/console/banks").text)
        assert (
            analyst.post(
                f"/console/banks/{bank}/enabled", params={"lang": "en"}, data={"csrf_token": token}
            ).status_code
            == 303
        )
        listing = analyst.get("/console/banks", params={"lang": "en"}).text
        assert "is now disabled" in listing and 'class="row-off"' in listing
    with browser_client(live) as moderator:
        sign_in(moderator, people.platform, people.moderator)
        assert f'/console/banks/{bank}"' not in _match(moderator, "c.png", photo).text
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        token = csrf(analyst.get("/console/banks").text)
        bad = analyst.post(
            f"/console/banks/{bank}/settings",
            params={"lang": "en"},
            data={"csrf_token": token, "enabled": "on", "threshold_pdq": "65"},
        )
        # 65 bits is past the radius the PDQ index searches: refused, not silently unmatched
        assert bad.status_code == 422 and "The change was not saved." in bad.text
        assert "between 0 and 64" in bad.text
        ok = analyst.post(
            f"/console/banks/{bank}/settings",
            data={
                "csrf_token": token,
                "enabled": "on",
                "shared": "on",
                "threshold_pdq": "20",
                "threshold_text_near": "15",
            },
        )
        assert ok.status_code == 303
        assert "≤ 20" in analyst.get(f"/console/banks/{bank}").text


def test_import_is_all_or_nothing_and_the_export_matches_the_api(live: LiveServer) -> None:
    people = fresh_cast(live)
    bank = unique("imported")
    md5s = [f"{i:032x}" for i in range(1, 4)]
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.analyst)
        _new_bank(web, bank)
        token = csrf(web.get(f"/console/banks/{bank}").text)
        bad = "\n".join([f"md5 {md5s[0]}", "md5 not-a-digest", f"sha256 {'0' * 10}"])
        r = web.post(
            f"/console/banks/{bank}/import",
            params={"lang": "en"},
            data={"csrf_token": token, "format": "te"},
            files={"file": ("list.txt", bad.encode())},
        )
        assert r.status_code == 422
        assert "Nothing was imported." in r.text and "line 2" in r.text and "line 3" in r.text
        assert "This bank is empty." in r.text
        good = "\n".join(f"video_md5 {h}" for h in md5s)
        r = web.post(
            f"/console/banks/{bank}/import",
            data={"csrf_token": token, "format": "te"},
            files={"file": ("list.txt", good.encode())},
        )
        assert r.status_code == 303
        assert "Imported: 3 added" in web.get(f"/console/banks/{bank}", params={"lang": "en"}).text
        wrong = web.post(
            f"/console/banks/{bank}/import",
            data={"csrf_token": token, "format": "xml"},
            files={"file": ("list.txt", good.encode())},
        )
        assert wrong.status_code == 422 and "Unknown format" in wrong.text
        exported = {}
        for fmt in ("te", "csv", "tat"):
            r = web.get(f"/console/banks/{bank}/export", params={"format": fmt})
            assert r.status_code == 200
            ext = FORMATS[fmt].extension
            assert f'filename="{bank}.{ext}"' in r.headers["content-disposition"]
            exported[fmt] = r.text
        assert exported["te"].splitlines() == [f"video_md5 {h}" for h in md5s]
        assert web.get(f"/console/banks/{bank}/export", params={"format": "pdf"}).status_code == 422
    with live.client(live.token(people.regulator, "analyst")) as api:
        for fmt, text in exported.items():
            assert api.get(f"/api/v1/banks/{bank}/export", params={"format": fmt}).text == text


def _order_with_evidence(web: httpx.Client, people: Cast, photo: bytes) -> str:
    form = web.get("/console/orders/new")
    channel = unique("foto").replace("-", "_")
    r = web.post(
        "/console/orders/new",
        data={
            "platform": people.platform,
            "category": "terrorism",
            "legal_basis": "UU 5/2018",
            "reason": "Propaganda image",
            "locators": f"https://t.me/{channel}/1",
            "csrf_token": csrf(form.text),
        },
        files=[("evidence", ("poster.png", photo, "image/png"))],
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_evidence_goes_into_a_bank_and_matches_link_back_to_the_order(
    live: LiveServer, photo: bytes
) -> None:
    people = fresh_cast(live)
    bank = unique("order-evidence")
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        _new_bank(analyst, bank)
        order_url = _order_with_evidence(analyst, people, photo)
        page = analyst.get(order_url, params={"lang": "en"}).text
        assert "Put into bank" in page and f'<option value="{bank}">' in page
        action = re.search(r'action="(/console/orders/[^"]+/bank)"', page).group(1)  # type: ignore[union-attr]
        r = analyst.post(action, data={"csrf_token": csrf(page), "bank": bank})
        assert r.status_code == 303
        assert "signal(s) added to" in analyst.get(order_url, params={"lang": "en"}).text
        second_url = _order_with_evidence(analyst, people, resized_jpeg(photo))
        page = analyst.get(second_url).text
        action = re.search(r'action="(/console/orders/[^"]+/bank)"', page).group(1)  # type: ignore[union-attr]
        analyst.post(action, data={"csrf_token": csrf(page), "bank": bank})
        second = analyst.get(second_url, params={"lang": "en"}).text
        first_ref = re.search(
            r'<h1>[^<]*<span class="mono">([^<]+)<', analyst.get(order_url).text
        ).group(1)  # type: ignore[union-attr]
        assert first_ref in second.split('id="rel-title"')[1]
        empty = analyst.post(
            action, params={"lang": "en"}, data={"csrf_token": csrf(page), "bank": ""}
        )
        assert empty.status_code == 422
    with browser_client(live) as moderator:
        sign_in(moderator, people.platform, people.moderator)
        found = _match(moderator, "copy.jpg", resized_jpeg(photo)).text
        assert f'href="{order_url}"' in found
        assert "Put into bank" not in moderator.get(order_url).text
    with browser_client(live) as stranger:
        sign_in(stranger, people.other_platform, people.moderator)
        found = _match(stranger, "copy.jpg", resized_jpeg(photo)).text
        assert f'href="{order_url}"' not in found
        assert "an order of another organisation" in found


def test_evidence_that_is_no_image_is_banked_by_its_bytes_and_why_is_said_in_indonesian(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    bank = unique("bukti-teks")
    with browser_client(live) as analyst:
        sign_in(analyst, people.regulator, people.analyst)
        _new_bank(analyst, bank)
        order_url = _order_with_evidence(analyst, people, b"not an image, a manifesto in text")
        page = analyst.get(order_url, params={"lang": "id"}).text
        action = re.search(r'action="(/console/orders/[^"]+/bank)"', page).group(1)  # type: ignore[union-attr]
        r = analyst.post(action, data={"csrf_token": csrf(page), "bank": bank})
        assert r.status_code == 303
        shown = analyst.get(order_url, params={"lang": "id"}).text
        assert "pdq: " in shown
        assert "bukan gambar yang dapat didekode" in shown
        assert "not a decodable image" not in shown


def test_bank_forms_refuse_missing_csrf_and_show_bad_input(live: LiveServer) -> None:
    people = fresh_cast(live)
    with browser_client(live) as web:
        sign_in(web, people.platform, people.moderator)
        assert web.post("/console/banks", data={"name": unique("x")}).status_code == 403
        assert web.post("/console/match", files={"file": ("a", b"a")}).status_code == 403
        assert (
            web.post(
                "/console/match/feedback", data={"content_id": "1", "verdict": "confirmed"}
            ).status_code
            == 403
        )
        token = csrf(web.get("/console/banks").text)
        r = web.post(
            "/console/banks",
            params={"lang": "en"},
            data={"name": "Bad Name!", "csrf_token": token, "threshold_pdq": "31"},
        )
        assert r.status_code == 422 and "A bank name is 2 to 100 characters" in r.text
        assert 'aria-invalid="true"' in r.text
        r = web.post(
            "/console/banks",
            params={"lang": "en"},
            data={"name": unique("ok"), "csrf_token": token, "threshold_pdq": "many"},
        )
        assert r.status_code == 422 and "whole number" in r.text
        # the create form offers each type's own default: text_near's is 38 here as in the API
        form = web.get("/console/banks").text
        assert 'name="threshold_text_near" value="38"' in form
        assert 'name="threshold_pdq" value="31"' in form
        assert web.get("/console/banks/no-such-bank").status_code == 404


def test_isps_have_no_bank_pages(live: LiveServer) -> None:
    isp = unique("isp")
    assert live.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
    live.user(isp, "noc", "isp", "kata-sandi-rahasia-2017")
    with browser_client(live) as web:
        sign_in(web, isp, "noc")
        assert web.get("/console/banks").status_code == 403
        assert web.get("/console/match").status_code == 403
