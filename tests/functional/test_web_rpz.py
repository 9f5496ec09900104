"""The RPZ page over real HTTP: an ISP sees the zone and only its own resolvers."""

from __future__ import annotations

from tests.functional.browser.people import PASSWORD, browser_client, fresh_cast, sign_in
from tests.support import LiveServer, unique


def _isp(live: LiveServer, notify: str) -> str:
    name = unique("isp")
    assert live.cli("org", "create", "--kind", "isp", "--name", name).returncode == 0
    live.user(name, "noc", "isp", PASSWORD)
    r = live.cli("subscriber", "add", "--org", name, "--notify", notify)
    assert r.returncode == 0, r.stderr
    return name


def test_an_isp_sees_the_zone_and_only_its_own_resolvers(live: LiveServer) -> None:
    mine = _isp(live, "127.0.0.1:53991")
    theirs = _isp(live, "127.0.0.1:53992")
    with live.client(live.token(mine, "isp")) as api:
        serial = api.get("/api/v1/rpz/status").json()["serial"]
    with browser_client(live) as web:
        sign_in(web, mine, "noc")
        assert web.get("/console").headers["location"] == "/console/rpz"
        page = web.get("/console/rpz", params={"lang": "en"})
        assert page.status_code == 200
        assert "Your resolvers" in page.text and "127.0.0.1:53991" in page.text
        assert "127.0.0.1:53992" not in page.text and theirs not in page.text
        assert "never transferred" in page.text
        assert f'<span class="big">{serial}</span>' in page.text or str(serial) in page.text
        nav = page.text.split('aria-label="Main"')[1].split("</nav>")[0]
        assert "/console/rpz" in nav and "/console/orders" not in nav
        assert "/console/banks" not in nav


def test_officials_see_every_subscriber_and_platforms_are_refused(live: LiveServer) -> None:
    people = fresh_cast(live)
    isp = _isp(live, "127.0.0.1:53993")
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.official)
        page = web.get("/console/rpz", params={"lang": "en"}).text
        assert "Subscribed resolvers" in page and isp in page
    with browser_client(live) as web:
        sign_in(web, people.regulator, people.analyst)
        page = web.get("/console/rpz", params={"lang": "en"}).text
        assert "current SOA serial" in page and isp not in page
    with browser_client(live) as web:
        sign_in(web, people.platform, people.moderator)
        assert web.get("/console/rpz").status_code == 403
