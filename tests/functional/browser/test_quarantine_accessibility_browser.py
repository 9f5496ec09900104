"""The quarantine's console pages, checked by axe-core in real headless Chromium in both
languages: the owner's bank page with its queue of held items, and a match result with a held
item, for the owner and for another platform's moderator.

The accessibility crawl cannot reach these: the demo has no bank, and a match result is the
answer to a form, not a link. So the hold is made here the way a real one is, by matching
the banked file over and over through the console until the rule holds it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tangkal.sop.profile import read_profile
from tests.functional.browser.people import (
    browser_client,
    csrf,
    fresh_cast,
    sign_in,
    sign_in_page,
)
from tests.functional.browser.test_accessibility_browser import LANGUAGES, _axe_source, _check
from tests.support import LiveServer, unique

pytestmark = pytest.mark.browser

RULE = read_profile("indonesia").hash_quarantine


def test_the_held_queue_and_a_held_match_have_no_accessibility_violations(
    page: Any, live: LiveServer
) -> None:
    axe = _axe_source()
    people = fresh_cast(live)
    bank = unique("held-a11y")
    banked = f"a frame banked by mistake ({bank})".encode()  # no other test banks it
    with browser_client(live) as web:
        assert sign_in(web, people.regulator, people.analyst).status_code == 303
        token = csrf(web.get("/console/banks").text)
        made = web.post(
            "/console/banks",
            data={"name": bank, "kind": "own", "shared": "on", "csrf_token": token},
        )
        assert made.status_code == 303, made.text[:2000]
        token = csrf(web.get(f"/console/banks/{bank}").text)
        added = web.post(
            f"/console/banks/{bank}/upload",
            data={"csrf_token": token, "label": "frame"},
            files={"file": ("frame.txt", banked)},
        )
        assert added.status_code == 201, added.text[:2000]
    with browser_client(live) as moderator:
        assert sign_in(moderator, people.platform, people.moderator).status_code == 303
        html, sent = "", 0
        # past the floor within the hour (a few more: another worker's counts reach the
        # database once a second)
        while 'id="held"' not in html and sent < 3 * RULE.min_matches:
            token = csrf(moderator.get("/console/match").text)
            html = moderator.post(
                "/console/match", data={"csrf_token": token}, files={"file": ("u.txt", banked)}
            ).text
            sent += 1
        assert 'id="held"' in html and sent > RULE.min_matches
    problems: list[str] = []
    for org, user in ((people.regulator, people.analyst), (people.platform, people.moderator)):
        sign_in_page(page, live, org, user, lang="en")
        for lang in LANGUAGES:
            page.goto(f"{live.url}/console/banks/{bank}?lang={lang}")
            queue = page.locator("#quarantine tbody tr")
            assert queue.count() == (2 if user == people.analyst else 0)  # its MD5 and SHA-256
            problems += _check(page, axe, f"/console/banks/{bank} as {user}", lang)
            page.goto(f"{live.url}/console/match?lang={lang}")
            page.set_input_files(
                "#m-file", files=[{"name": "u.txt", "mimeType": "text/plain", "buffer": banked}]
            )
            page.locator("form.match-form button[type=submit]").click()
            page.wait_for_selector("#held article")
            problems += _check(page, axe, f"/console/match (held) as {user}", lang)
    assert not problems, "\n".join(problems)
