"""Feedback's way back over real HTTP: org A shares a bank, B matches and rejects, C confirms;
A sees the tallies per organisation and both notes, B sees only its own note and no one
else's counts by organisation, and A's export carries the tallies."""

from __future__ import annotations

import csv
import io

from PIL import Image
from skimage import data as samples

from tests.functional.browser.people import browser_client, csrf, fresh_cast, sign_in
from tests.support import LiveServer, unique


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(samples.chelsea()).save(buf, "PNG")
    return buf.getvalue()


def test_verdicts_reach_the_shared_banks_owner_and_notes_stay_private(
    live: LiveServer,
) -> None:
    a, b, c = unique("reg"), unique("plat"), unique("plat")
    for kind, name in (("regulator", a), ("platform", b), ("platform", c)):
        assert live.cli("org", "create", "--kind", kind, "--name", name).returncode == 0
    tok_a, tok_b, tok_c = (
        live.token(a, "analyst"),
        live.token(b, "moderator"),
        live.token(c, "moderator"),
    )
    bank, photo = unique("shared-fb"), _png()
    with live.client(tok_a) as ca:
        assert ca.post("/api/v1/banks", json={"name": bank}).json()["shared"] is True
        assert (
            ca.post(f"/api/v1/banks/{bank}/content", files={"file": ("p.png", photo)}).status_code
            == 201
        )
    verdicts = {
        tok_b: ("false_positive", "b: a cat, not propaganda"),
        tok_c: ("confirmed", "c: seen in a campaign"),
    }
    for tok, (verdict, note) in verdicts.items():
        with live.client(tok) as cl:
            hits = [
                m
                for m in cl.post("/api/v1/match", files={"file": ("u.png", photo)}).json()[
                    "matches"
                ]
                if m["bank"] == bank
            ]
            pdq = next(m for m in hits if m["signal_type"] == "pdq")
            r = cl.post(
                f"/api/v1/match/{pdq['content_id']}/feedback",
                json={"verdict": verdict, "note": note},
            )
            assert r.status_code == 201
    cid = pdq["content_id"]
    with live.client(tok_a) as ca:
        view = ca.get(f"/api/v1/banks/{bank}/feedback")
        one = ca.get(f"/api/v1/content/{cid}/feedback").json()
        exported = ca.get(f"/api/v1/banks/{bank}/export", params={"format": "csv"}).text
    assert view.status_code == 200, view.text
    body = view.json()
    assert (body["confirmed"], body["false_positive"], body["needs_review"]) == (1, 1, 0)
    [tally] = body["contents"]
    assert tally["content_id"] == cid and tally["source"]["kind"] == "upload"
    assert sorted(
        (o["org_name"], o["confirmed"], o["false_positive"]) for o in tally["by_org"]
    ) == sorted([(b, 0, 1), (c, 1, 0)])
    assert sorted(n["note"] for n in one["notes"]) == [
        "b: a cat, not propaganda",
        "c: seen in a campaign",
    ]
    row = next(r for r in csv.DictReader(io.StringIO(exported)) if r["signal_type"] == "pdq")
    assert (row["origin"], row["confirmed"], row["false_positive"]) == (
        f"tangkal:content:{cid}",
        "1",
        "1",
    )
    with live.client(tok_b) as cb:
        mine = cb.get(f"/api/v1/content/{cid}/feedback").json()
        refused = cb.get(f"/api/v1/banks/{bank}/feedback")
    assert [n["note"] for n in mine["notes"]] == ["b: a cat, not propaganda"]
    assert "by_org" not in mine and (mine["confirmed"], mine["false_positive"]) == (1, 1)
    assert refused.status_code == 403 and "owner" in refused.json()["message"]


def test_the_owners_bank_page_shows_the_tallies_in_both_languages(live: LiveServer) -> None:
    people = fresh_cast(live)
    bank = unique("console-fb")
    buf = io.BytesIO()
    Image.fromarray(samples.coffee()).save(buf, "PNG")
    photo = buf.getvalue()
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.analyst)
        token = csrf(web.get("/console/banks").text)
        r = web.post(
            "/console/banks",
            data={"name": bank, "kind": "own", "shared": "on", "csrf_token": token},
        )
        assert r.status_code == 303, r.text
        token = csrf(web.get(f"/console/banks/{bank}").text)
        up = web.post(
            f"/console/banks/{bank}/upload",
            data={"csrf_token": token},
            files={"file": ("c.png", photo)},
        )
        assert up.status_code == 201, up.text
        empty = web.get(f"/console/banks/{bank}", params={"lang": "en"}).text
        assert "No organisation has given feedback on this bank" in empty
        for org in (people.platform, people.other_platform):
            with live.client(live.token(org, "moderator")) as api:
                hits = api.post("/api/v1/match", files={"file": ("u.png", photo)}).json()
                pdq = next(
                    m for m in hits["matches"] if m["bank"] == bank and m["signal_type"] == "pdq"
                )
                fb = api.post(
                    f"/api/v1/match/{pdq['content_id']}/feedback",
                    json={"verdict": "false_positive"},
                )
                assert fb.status_code == 201
        en = web.get(f"/console/banks/{bank}", params={"lang": "en"}).text
        id_ = web.get(f"/console/banks/{bank}", params={"lang": "id"}).text
    assert "Feedback from the organisations that matched" in en
    assert "0 confirmed, 2 rejected as false positives. 1 flagged for review" in en
    assert ">review</span>" in en
    assert "Umpan balik dari organisasi yang mencocokkan" in id_
    assert "0 dikonfirmasi, 2 ditolak sebagai positif palsu. 1 ditandai untuk ditinjau" in id_
    assert ">tinjau</span>" in id_
    with live.client(live.token(people.platform, "moderator")) as api:
        assert api.get(f"/api/v1/banks/{bank}/feedback").status_code == 403
