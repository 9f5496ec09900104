"""A person in Makassar or Jayapura reads the console's times in WITA or WIT: chosen in the
page footer, kept with the account, applied to every page and to the case file's CSV."""

from __future__ import annotations

import csv
import io
import re

from tests.functional.browser.people import browser_client, csrf, fresh_cast, sign_in
from tests.support import LiveServer, unique

ZONE_IN_TEXT = re.compile(r"\d{1,2}[.:]\d{2} (WIB|WITA|WIT)\b")


def _zones(html: str) -> set[str]:
    return {m.group(1) for m in ZONE_IN_TEXT.finditer(html)}


def test_a_person_chooses_wita_and_every_time_follows(live: LiveServer) -> None:
    people = fresh_cast(live)
    channel = unique("kanal").replace("-", "_")
    with browser_client(live) as web:
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        form = web.get("/console/orders/new?lang=id")
        r = web.post(
            "/console/orders/new",
            data={
                "platform": people.platform,
                "category": "terrorism",
                "legal_basis": "UU 5/2018 Pasal 13A",
                "reason": "Instruksi perakitan bom",
                "locators": f"https://t.me/{channel}/7",
                "csrf_token": csrf(form.text),
            },
        )
        assert r.status_code == 303, r.text
        order = str(r.headers["location"])
        before = web.get(order)
        assert _zones(before.text) == {"WIB"}  # the profile's zone until one is chosen
        assert 'name="timezone"' in before.text and "WITA (Asia/Makassar)" in before.text

        chosen = web.post(
            "/console/timezone",
            data={"timezone": "Asia/Makassar", "next": order, "csrf_token": csrf(before.text)},
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == order
        after = web.get(order)
        assert _zones(after.text) == {"WITA"}
        assert "WITA (Asia/Makassar)" in after.text  # the flash and the footer's choice
        assert 'value="Asia/Makassar" selected' in after.text

        case = web.get(f"/console/cases/{people.platform}/csv")
        assert case.status_code == 200
        rows = list(csv.DictReader(io.StringIO(case.text)))
        assert rows and all(row["at_local"].endswith("+08:00") for row in rows)
        assert all(row["at"].endswith("+00:00") for row in rows)  # UTC kept as it was

    # kept with the account: a new sign-in reads WITA too
    with browser_client(live) as web:
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        assert _zones(web.get(order).text) == {"WITA"}


def test_a_zone_the_profile_does_not_offer_is_refused_in_the_readers_language(
    live: LiveServer,
) -> None:
    people = fresh_cast(live)
    with browser_client(live) as web:
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        page = web.get("/console/orders?lang=id")
        r = web.post(
            "/console/timezone",
            data={"timezone": "Europe/Berlin", "next": "/console", "csrf_token": csrf(page.text)},
        )
        assert r.status_code == 422
        assert "bukan salah satu zona waktu" in r.text and "Asia/Jayapura" in r.text
