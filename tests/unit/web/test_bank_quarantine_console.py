"""The quarantine in the console, through the real app over HTTP: the bank's owner sees its
held items on the bank page (why, since when, in the reader's zone and language), releases
one (it matches again) and deletes another; another organisation sees no queue and its
release is refused as the API refuses it; the match page shows held items as held, not as
matches. The hold itself is made by the engine on injected time."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.hashing import banks, quarantine
from tangkal.hashing.content import add_file
from tangkal.hashing.models import BankContent
from tangkal.settings import Settings
from tangkal.web.i18n import Formatter
from tests.factories import Factory
from tests.unit.web.console_client import sign_in
from tests.unit.web.worklist_seed import PASSWORD, World, world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BANK = "q-console"
FILE = b"a logo frame banked by mistake, matched by nearly every upload"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db, Settings(data_dir=tmp_path), background=False)) as c:
        yield c


@pytest.fixture
def held(db: Database, factory: Factory) -> Iterator[tuple[World, dict[str, int]]]:
    """A shared bank of the regulator with one file (its MD5 and SHA-256), both held by the
    engine after a flood of matches within the hour; the content ids by signal type."""
    w = world(factory)
    with db.unit_of_work() as s:
        banks.create_bank(s, w.analyst, BANK, shared=True)
        added = add_file(s, w.analyst, BANK, FILE, label="logo-frame.txt")
        ids = {c.signal_type: c.id for c in added.added}
    assert {"md5", "sha256"} <= set(ids)
    quarantine._pending.clear()  # counts of other tests' databases are not this one's
    with db.unit_of_work() as s:
        contents: dict[int, BankContent] = {}
        for t in ("md5", "sha256"):
            c = s.get(BankContent, ids[t])
            assert c is not None
            contents[c.id] = c
        for i in range(quarantine.rule().min_matches + 1):
            got = quarantine.screen(s, contents, now=T0 + timedelta(seconds=i), flush=True)
        assert set(got) == set(contents)
    yield w, ids
    quarantine._pending.clear()


def _token(client: TestClient, url: str) -> str:
    found = _CSRF.search(client.get(url).text)
    assert found
    return found.group(1)


def _section(html: str, ident: str) -> str:
    assert f'id="{ident}"' in html, ident
    return html.split(f'id="{ident}"', 1)[1].split("</section>", 1)[0]


def _match(client: TestClient) -> str:
    r = client.post(
        "/console/match?lang=en",
        data={"csrf_token": _token(client, "/console/match?lang=en")},
        files={"file": ("upload.txt", FILE)},
    )
    assert r.status_code == 200, r.text[:2000]
    return r.text


def _matched_ids(html: str) -> set[int]:
    """The content ids the match page offers feedback on (one form per match)."""
    return {int(i) for i in re.findall(r'name="content_id" value="(\d+)"', html)}


def _sign_in(client: TestClient, w: World, who: str) -> None:
    org, person = {
        "owner": (w.regulator, w.analyst),
        "moderator": (w.platform, w.moderator),
    }[who]
    sign_in(client, org.name, person.username or "", PASSWORD)


def test_the_owner_sees_held_items_releases_one_that_then_matches_and_deletes_another(
    app: TestClient, held: tuple[World, dict[str, int]]
) -> None:
    w, ids = held
    _sign_in(app, w, "owner")
    page = app.get(f"/console/banks/{BANK}?lang=en")
    assert page.status_code == 200
    queue = _section(page.text, "quarantine")
    for cid in (ids["md5"], ids["sha256"]):
        assert f"/quarantine/{cid}/release" in queue and f"/quarantine/{cid}/delete" in queue
    floor = quarantine.rule().min_matches
    assert f"Held for review: {floor + 1} matches in the last 1 hour" in queue
    assert "logo-frame.txt" in queue
    # since when, in the reader's zone (the profile's, WIB), not in UTC
    assert Formatter("en").when(T0) in queue and "WIB" in queue

    token = _token(app, f"/console/banks/{BANK}?lang=en")
    r = app.post(
        f"/console/banks/{BANK}/quarantine/{ids['sha256']}/release?lang=en",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/console/banks/{BANK}#quarantine"
    after = app.get(f"/console/banks/{BANK}?lang=en").text
    assert f"Item {ids['sha256']} was released: it matches again" in after
    queue = _section(after, "quarantine")
    assert f"/quarantine/{ids['sha256']}/" not in queue
    assert f"/quarantine/{ids['md5']}/release" in queue

    r = app.post(
        f"/console/banks/{BANK}/quarantine/{ids['md5']}/delete?lang=en",
        data={"csrf_token": _token(app, f"/console/banks/{BANK}?lang=en")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = app.get(f"/console/banks/{BANK}?lang=en").text
    assert f"Item {ids['md5']} was removed from the bank." in after
    assert "Nothing in this bank is held for review." in _section(after, "quarantine")
    contents = _section(after, "content-title")
    assert f'<td class="num">{ids["sha256"]}</td>' in contents
    assert f'<td class="num">{ids["md5"]}</td>' not in contents

    # the released item matches again for everyone; the deleted one is gone
    _sign_in(app, w, "moderator")
    html = _match(app)
    assert _matched_ids(html) == {ids["sha256"]}
    assert 'id="held"' not in html


def test_a_baseline_that_is_no_number_is_refused_and_a_typed_one_is_kept(
    app: TestClient, held: tuple[World, dict[str, int]]
) -> None:
    w, ids = held
    _sign_in(app, w, "owner")
    token = _token(app, f"/console/banks/{BANK}?lang=en")
    url = f"/console/banks/{BANK}/quarantine/{ids['sha256']}/release?lang=en"
    for typed in ("many", "nan", "-1"):
        r = app.post(url, data={"csrf_token": token, "baseline": typed})
        assert r.status_code == 422, typed
        assert "The baseline is a number of matches per window, e.g. 60, or blank." in r.text
        assert 'id="bank-error"' in r.text  # on the bank page, beside its queue
    queue = _section(app.get(f"/console/banks/{BANK}?lang=en").text, "quarantine")
    assert f"/quarantine/{ids['sha256']}/release" in queue  # nothing was released
    r = app.post(url, data={"csrf_token": token, "baseline": "75"}, follow_redirects=False)
    assert r.status_code == 303
    assert (
        "with a baseline of 75 matches per 1 hour" in app.get(f"/console/banks/{BANK}?lang=en").text
    )


def test_another_organisation_sees_no_queue_and_its_release_and_delete_are_refused(
    app: TestClient, held: tuple[World, dict[str, int]]
) -> None:
    w, ids = held
    _sign_in(app, w, "moderator")
    page = app.get(f"/console/banks/{BANK}?lang=en")
    assert page.status_code == 200  # the bank is shared: its contents are readable
    assert 'id="quarantine"' not in page.text and "/quarantine/" not in page.text
    token = _token(app, f"/console/banks/{BANK}?lang=en")
    for action in ("release", "delete"):
        r = app.post(
            f"/console/banks/{BANK}/quarantine/{ids['sha256']}/{action}?lang=en",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 403, (action, r.status_code)
        assert "belongs to another organisation" in r.text
    # a forged post without the console's token is refused before anything else
    r = app.post(
        f"/console/banks/{BANK}/quarantine/{ids['sha256']}/release?lang=en",
        follow_redirects=False,
    )
    assert r.status_code == 403
    # nothing changed for the owner
    _sign_in(app, w, "owner")
    queue = _section(app.get(f"/console/banks/{BANK}?lang=en").text, "quarantine")
    assert f"/quarantine/{ids['sha256']}/release" in queue
    assert f"/quarantine/{ids['md5']}/release" in queue


def test_the_match_page_shows_held_items_as_held_not_as_matches(
    app: TestClient, held: tuple[World, dict[str, int]]
) -> None:
    w, _ = held
    _sign_in(app, w, "moderator")
    html = _match(app)
    assert _matched_ids(html) == set()
    assert "No match for upload.txt" in html
    note = _section(html, "held")
    assert "Held for review: not a match" in note
    assert (
        f"The banked item is held for review; its owner, {w.regulator.display_name}, "
        "is reviewing it." in note
    )
    assert note.count('class="panel match held"') == 2
    assert f"Held for review: {quarantine.rule().min_matches + 1} matches" in note
    # the owner is pointed to its own queue instead
    _sign_in(app, w, "owner")
    mine = _section(_match(app), "held")
    assert f'href="/console/banks/{BANK}#quarantine"' in mine
    assert "its owner," not in mine


def test_the_queue_and_the_held_note_speak_indonesian(
    app: TestClient, held: tuple[World, dict[str, int]]
) -> None:
    w, _ = held
    _sign_in(app, w, "owner")
    queue = _section(app.get(f"/console/banks/{BANK}?lang=id").text, "quarantine")
    assert "Ditahan untuk ditinjau" in queue
    assert "kecocokan dalam 1 jam terakhir" in queue
    assert "Lepaskan" in queue and "Hapus" in queue
    assert Formatter("id").when(T0) in queue
    assert "Held for review" not in queue and "Release" not in queue

    _sign_in(app, w, "moderator")
    r = app.post(
        "/console/match?lang=id",
        data={"csrf_token": _token(app, "/console/match?lang=id")},
        files={"file": ("upload.txt", FILE)},
    )
    note = _section(r.text, "held")
    assert "Ditahan untuk ditinjau: bukan kecocokan" in note
    assert f"pemiliknya, {w.regulator.display_name}, sedang meninjaunya" in note
