"""The compliance board in the console over real HTTP against a running ``tangkal serve``
(SQLite and PostgreSQL), in Indonesian and in English.

Each ISP's resolver is a small DNS responder on its own loopback address, answering from a
table as a resolver that follows (ISP A) or ignores (ISP B) the list would; an unfiltered one
is the control. The server's own compliance worker probes them over UDP after the blocks
(the real Unbound path is ``test_compliance_resolvers``). The server runs the Indonesia
profile with its ``[compliance]`` graces shortened to seconds, so the escalation of B's
non-compliance (case file, B's inbox) is watched as it happens.

What is shown: an ISP registers and removes its own resolvers in the console (a bad address
refused beside its field, in Indonesian), the regulator registers B's and the control; the
board per ISP and name with "not compliant now" and "past the grace", each cell's history in
the profile's time zone; an ISP sees only its own rows, a platform is refused; B's escalation
is on the platform's case file and in B's pull inbox, once.
"""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import httpx
import pytest

from tangkal.sop.profile import PROFILE_DIR
from tests.functional.browser.people import PASSWORD, browser_client, csrf, sign_in
from tests.support import LiveServer, backends, live_server, server_database, unique

LIMIT = 30.0  # seconds for a state to be reached (bounded waits only)
GRACE = 3  # seconds of both graces on this server
REAL = {"t.me": "198.51.100.11", "web.telegram.org": "198.51.100.17"}
ACTIONS = {"t.me": "nxdomain", "web.telegram.org": "nodata"}
HOSTS = {"a": "127.0.0.22", "b": "127.0.0.23", "control": "127.0.0.25"}


class Responder:
    """A DNS server on UDP at ``host``: for each name ``nxdomain``, ``nodata`` or an IPv4
    address (A; AAAA is empty); anything else (the policy zone's SOA) is REFUSED."""

    def __init__(self, host: str, answers: dict[str, str]) -> None:
        self.answers = answers
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.host, self.port = host, int(self.sock.getsockname()[1])
        self.asked = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _answer(self, data: bytes) -> bytes | None:
        try:
            q = dns.message.from_wire(data)
        except Exception:
            return None
        r = dns.message.make_response(q)
        question = q.question[0]
        what = self.answers.get(question.name.to_text().rstrip(".").lower())
        if what is None:
            r.set_rcode(dns.rcode.REFUSED)
        elif what == "nxdomain":
            r.set_rcode(dns.rcode.NXDOMAIN)
        elif what != "nodata" and question.rdtype == dns.rdatatype.A:
            r.answer.append(dns.rrset.from_text(question.name, 30, "IN", "A", what))
        return bytes(r.to_wire())

    def _loop(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            self.asked += 1
            reply = self._answer(data)
            if reply is not None:
                with suppress(OSError):
                    self.sock.sendto(reply, peer)

    @contextmanager
    def running(self) -> Iterator[Responder]:
        threading.Thread(target=self._loop, daemon=True).start()
        try:
            yield self
        finally:
            with suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()


def short_graces(directory: Path) -> str:
    """The shipped Indonesia profile with both graces of ``GRACE`` seconds."""
    text = (PROFILE_DIR / "indonesia.toml").read_text(encoding="utf-8")
    text = re.sub(r'grace_after_block = "[^"]+"', f'grace_after_block = "{GRACE}s"', text)
    text = re.sub(r'grace_after_restore = "[^"]+"', f'grace_after_restore = "{GRACE}s"', text)
    path = directory / "indonesia-short-graces.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module", params=backends())
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    env = {
        "TANGKAL_SOP_PROFILE": short_graces(tmp_path_factory.mktemp("sop")),
        "TANGKAL_COMPLIANCE_SETTLE": "0.3",
        "TANGKAL_COMPLIANCE_RECHECK": "1",
        "TANGKAL_COMPLIANCE_INTERVAL": "3600",
        "TANGKAL_COMPLIANCE_RATE": "200",
    }
    with server_database(str(request.param)) as url, live_server(url, env) as srv:
        yield srv


def cli(live: LiveServer, *args: str, input: str | None = None) -> str:
    r = live.cli(*args, input=input)
    assert r.returncode == 0, f"tangkal {' '.join(args)}: {r.stderr}{r.stdout}"
    return r.stdout.strip()


def person(live: LiveServer, org: str, role: str) -> httpx.Client:
    """A console user of ``org`` with ``role``, signed in."""
    user = unique(role)
    live.user(org, user, role, PASSWORD)
    web = browser_client(live)
    r = sign_in(web, org, user)
    assert r.status_code == 303, r.text
    return web


def visible(page: str) -> str:
    body = page.split('<main id="main"', 1)[-1].split("</main>", 1)[0]
    body = re.sub(r"<[^>]+>", " ", body.split(">", 1)[-1])
    return re.sub(r"\s+", " ", html.unescape(body))


def wait_for(what: str, check: Callable[[], tuple[bool, Any]], log: Callable[[], str]) -> None:
    t0 = time.monotonic()
    while True:
        done, detail = check()
        if done:
            return
        if time.monotonic() - t0 > LIMIT:
            raise AssertionError(
                f"{what}: not within {LIMIT} s (last: {detail!r})\n{log()[-4000:]}"
            )
        time.sleep(0.2)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


def test_the_board_the_isps_resolvers_and_the_escalation_of_the_one_that_ignores_the_block(
    live: LiveServer,
) -> None:
    regulator, isp_a, isp_b = unique("kominfo"), unique("isp-a"), unique("isp-b")
    for kind, name in (("regulator", regulator), ("isp", isp_a), ("isp", isp_b)):
        cli(live, "org", "create", "--kind", kind, "--name", name)
    official = person(live, regulator, "official")
    noc_a = person(live, isp_a, "isp")
    official_token = cli(live, "token", "create", "--org", regulator, "--role", "official")
    isp_b_token = cli(live, "token", "create", "--org", isp_b, "--role", "isp")

    follows = {n: ACTIONS[n] for n in REAL}  # A applies the blocks
    ignores = dict(REAL)  # B answers the real addresses
    with (
        Responder(HOSTS["a"], follows).running() as dns_a,
        Responder(HOSTS["b"], ignores).running() as dns_b,
        Responder(HOSTS["control"], dict(REAL)).running() as control,
    ):
        # nothing registered yet: the board says so, in Indonesian by default
        board = official.get("/console/compliance")
        assert board.status_code == 200
        assert "Kepatuhan ISP" in board.text and "Belum ada resolver ISP" in visible(board.text)

        # ISP A registers its own resolver; a host name is refused beside the field
        page = noc_a.get("/console/compliance/resolvers")
        assert page.status_code == 200 and "Daftarkan resolver" in page.text
        assert 'name="org"' not in page.text  # an ISP registers only its own
        bad = noc_a.post(
            "/console/compliance/resolvers",
            data={"address": "ns.isp-a.example", "name": "ns-a", "csrf_token": csrf(page.text)},
        )
        assert bad.status_code == 422
        assert 'id="address-error"' in bad.text and "bukan alamat IP" in bad.text
        assert 'value="ns.isp-a.example"' in bad.text  # kept as typed
        added = noc_a.post(
            "/console/compliance/resolvers",
            data={"address": dns_a.address, "name": "ns-a", "csrf_token": csrf(page.text)},
        )
        assert added.status_code == 303, added.text
        listed = noc_a.get("/console/compliance/resolvers")
        assert "ns-a" in listed.text and dns_a.address in listed.text
        assert "telah terdaftar" in listed.text  # the flash

        # the regulator registers B's resolver and the control
        page = official.get("/console/compliance/resolvers")
        for data in (
            {"address": dns_b.address, "name": "ns-b", "org": isp_b},
            {"address": control.address, "name": "kontrol", "control": "1"},
        ):
            r = official.post(
                "/console/compliance/resolvers", data={**data, "csrf_token": csrf(page.text)}
            )
            assert r.status_code == 303, r.text
        again = official.post(
            "/console/compliance/resolvers",
            data={"address": dns_b.address, "org": isp_b, "csrf_token": csrf(page.text)},
        )
        assert again.status_code == 409 and "sudah terdaftar" in again.text

        # block both names (the platform is registered afterwards: its case file reads the
        # blocks of its names, and blocking a registered name would need a second official)
        api = live.client(official_token)
        for name in REAL:
            entry = ok(
                api.post(
                    "/api/v1/blocks",
                    json={
                        "domain": name,
                        "action": ACTIONS[name],
                        "legal_basis": "UU ITE Pasal 40",
                        "reason": "terrorist propaganda (test)",
                    },
                ),
                201,
            )
            assert entry["status"] == "active", entry
        platform = unique("telegram")
        cli(
            live,
            "org",
            "create",
            "--kind",
            "platform",
            "--name",
            platform,
            "--domain",
            "t.me",
            "--domain",
            "telegram.org",
        )

        def states() -> dict[tuple[str, str], tuple[str, str | None]]:
            items = ok(api.get("/api/v1/compliance"))["items"]
            return {(i["isp"], i["domain"]): (i["state"], i["escalated_at"]) for i in items}

        def escalated() -> tuple[bool, Any]:
            now = states()
            want_a = all(now.get((isp_a, n), ("?",))[0] == "compliant" for n in REAL)
            want_b = all(
                now.get((isp_b, n), ("?", None))[0] == "not_compliant"
                and now[(isp_b, n)][1] is not None
                for n in REAL
            )
            return want_a and want_b, now

        wait_for("A compliant, B not compliant and escalated past the grace", escalated, live.log)

        # the board: per ISP and per name, with both filters, in both languages
        board = official.get("/console/compliance")
        text = visible(board.text)
        assert isp_a in text and isp_b in text and "t.me" in text and "web.telegram.org" in text
        assert "Patuh" in text and "Tidak patuh" in text and "dieskalasi" in text
        late = visible(official.get("/console/compliance", params={"only": "overdue"}).text)
        assert "melewati tenggang" in late and isp_b in late
        assert late.count("Tidak patuh") >= 2 and "Patuh 0" not in late
        now_en = official.get("/console/compliance", params={"only": "not_compliant", "lang": "en"})
        text_en = visible(now_en.text)
        assert "Compliance of ISPs" in text_en and "Not compliant" in text_en
        assert "escalated" in text_en and "past the grace" in text_en
        assert "Kepatuhan" not in text_en
        wrong = official.get("/console/compliance", params={"only": "sometimes", "lang": "id"})
        assert wrong.status_code == 422 and "tidak dikenal" in wrong.text

        # a cell's history, with times in the profile's zone (WIB)
        cell = official.get("/console/compliance/cell", params={"isp": isp_b, "domain": "t.me"})
        assert cell.status_code == 200
        ctext = visible(cell.text)
        assert "hasil pertama:" in ctext and "Tidak patuh" in ctext and "WIB" in ctext
        assert "ns-b" in ctext and REAL["t.me"] in ctext  # what B answered
        assert "No such domain (NXDOMAIN)" not in ctext  # the expectation in Indonesian

        # an ISP sees only its own rows, and not another ISP's cell; a platform nothing
        mine = visible(noc_a.get("/console/compliance").text)
        assert (
            isp_a in mine
            and isp_b not in mine
            and "Tidak patuh" not in mine.split("Nama per ISP")[-1]
        )
        other = noc_a.get("/console/compliance/cell", params={"isp": isp_b, "domain": "t.me"})
        assert other.status_code == 404
        moderator = person(live, platform, "moderator")
        assert moderator.get("/console/compliance").status_code == 403

        # B's notification in its pull inbox, each name once (one message per pass that
        # found names past their grace; names first probed in different rounds fall due apart)
        inbox = ok(live.client(isp_b_token).get("/api/v1/inbox"))["messages"]
        notes = [m["data"] for m in inbox if m["event"] == "compliance.not_compliant"]
        assert notes, inbox
        items = [i for d in notes for i in d["items"]]
        assert sorted(i["domain"] for i in items) == sorted(REAL)
        assert {(i["resolver"], i["stage"]) for i in items} == {("ns-b", "block")}

        # the platform's case file: the escalation next to the blocks, in both languages
        case = official.get(f"/console/cases/{platform}", params={"kind": "compliance"})
        assert case.status_code == 200
        ctext = visible(case.text)
        assert ctext.count("ISP masih belum patuh setelah masa tenggang") == 2
        assert isp_b in ctext and "ns-b" in ctext and isp_a not in ctext
        case_en = visible(
            official.get(
                f"/console/cases/{platform}", params={"kind": "compliance", "lang": "en"}
            ).text
        )
        assert "not answering as the block decides" in case_en

        # more rounds: the episode is escalated once
        time.sleep(GRACE)
        inbox = ok(live.client(isp_b_token).get("/api/v1/inbox"))["messages"]
        assert [m for m in inbox if m["event"] == "compliance.not_compliant"] == []

        # ISP A stops probing its resolver in the console
        page = noc_a.get("/console/compliance/resolvers")
        rid = re.search(r'action="/console/compliance/resolvers/([^"/]+)/remove"', page.text)
        assert rid, page.text
        gone = noc_a.post(
            f"/console/compliance/resolvers/{rid.group(1)}/remove",
            data={"csrf_token": csrf(page.text)},
        )
        assert gone.status_code == 303
        after = noc_a.get("/console/compliance/resolvers")
        assert "tidak lagi diuji" in after.text  # the flash names it once more
        assert "Belum ada resolver yang terdaftar." in visible(after.text)
        assert dns_a.asked > 0 and dns_b.asked > 0 and control.asked > 0
