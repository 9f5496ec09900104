"""Real resolvers from Debian packages follow the RPZ of a running ``tangkal serve``.

NSD on loopback stands in for the internet (every name under ``contoh-uji.net`` resolves to
192.0.2.20); Unbound, BIND and PowerDNS Recursor each follow the zone as an ISP would. A
block made through ``POST /api/v1/blocks`` must reach the resolver within seconds, travel as
an IXFR, and a restore must bring the real answer back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.dns import servers as S
from tests.support import LiveServer, backends, free_port, live_server, server_database, unique

pytestmark = pytest.mark.dns

ZONE = "rpz.tangkal."
LIMIT = 15.0  # seconds a resolver may take to enforce or restore

RESOLVERS = {
    "unbound": ("unbound", "127.0.0.2"),
    "bind": ("named", "127.0.0.1"),
    "pdns_recursor": ("pdns_recursor", "127.0.0.4"),
}


def need(binary: str) -> None:
    S.need(binary, "this resolver test")


@pytest.fixture(scope="module")
def auth() -> Iterator[S.Process]:
    with S.stand_in_internet() as p:
        yield p


#: The landing page as a CNAME (the default) and as an address record: every resolver
#: test runs with each (TANGKAL_RPZ_LANDING).
LANDINGS = {"cname": f"cname:{S.LANDING_HOST}", "address": f"a:{S.LANDING_ADDRESS}"}


@pytest.fixture(
    scope="module",
    params=[(b, mode) for b in backends() for mode in LANDINGS],
    ids=lambda p: f"{p[0]}-{p[1]}-landing",
)
def primary(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """One ``tangkal serve`` per backend and landing mode: on PostgreSQL the primary also
    keeps a LISTEN connection for commits, so every resolver test runs once against each."""
    backend, mode = request.param
    env = {"TANGKAL_LANDING_HOST": S.LANDING_HOST, "TANGKAL_RPZ_LANDING": LANDINGS[mode]}
    with server_database(str(backend)) as url, live_server(url, env) as server:
        yield server


@pytest.fixture(scope="module")
def official(primary: LiveServer) -> str:
    return S.regulator_official(primary)


def subscribers(primary: LiveServer, token: str) -> dict[str, dict[str, Any]]:
    with primary.client(token) as c:
        return {s["org"]: s for s in c.get("/api/v1/rpz/subscribers").json()["subscribers"]}


def serial(primary: LiveServer, token: str) -> int:
    return S.rpz_serial(primary, token)


def wait_for(what: str, check: Any, limit: float = LIMIT, *, logs: tuple[Any, ...] = ()) -> float:
    return S.wait_for(what, check, limit, logs=logs, every=0.05)


def answer(resolver: S.Process, name: str) -> tuple[str, list[str]]:
    try:
        return S.answer_of(resolver.query(name, "A", timeout=1))
    except Exception as exc:  # a timeout is a state to wait through, not a failure yet
        return ("no answer: " + type(exc).__name__, [])


def start_resolver(kind: str, primary: LiveServer, auth: S.Process, isp: str) -> Any:
    binary, host = RESOLVERS[kind]
    need(binary)
    port = free_port()
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "rpz_zone": ZONE,
        "primary": ("127.0.0.1", primary.dns_port),
        "auth": (auth.host, auth.port),
    }
    if kind == "unbound":
        r = primary.cli(
            "subscriber",
            "add",
            "--org",
            isp,
            "--notify",
            f"{host}:{port}",
            "--allow-ip",
            "127.0.0.1/32",
        )  # Unbound transfers from 127.0.0.1
        assert r.returncode == 0, r.stderr
        return S.unbound(**common)
    r = primary.cli("tsig", "create", "--org", isp)
    assert r.returncode == 0, r.stderr
    key_name, secret = r.stdout.split()
    r = primary.cli("subscriber", "add", "--org", isp, "--notify", f"{host}:{port}")
    assert r.returncode == 0, r.stderr
    if kind == "bind":
        return S.bind(key_name=key_name, secret=secret, **common)
    return S.pdns_recursor(key_name=key_name, secret=secret, **common)


@pytest.mark.parametrize("kind", list(RESOLVERS))
def test_a_block_reaches_the_resolver_by_ixfr_and_a_restore_brings_the_answer_back(
    kind: str, auth: S.Process, primary: LiveServer, official: str
) -> None:
    isp = unique(f"isp-{kind}")
    assert primary.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
    with start_resolver(kind, primary, auth, isp) as resolver:
        # first the full transfer of the zone as it is
        wait_for(
            "initial transfer",
            lambda: subscribers(primary, official)[isp]["last_serial"] == serial(primary, official),
            limit=30,
            logs=(resolver, primary),
        )
        name = f"{unique(kind).lower()}.contoh-uji.net"
        assert answer(resolver, name) == ("NOERROR", [S.AUTH_ANSWER])

        with primary.client(official) as c:
            r = c.post(
                "/api/v1/blocks",
                json={
                    "domain": name,
                    "action": "nxdomain",
                    "legal_basis": "UU ITE Pasal 40",
                    "reason": "terrorist propaganda (test)",
                },
            )
            assert r.status_code == 201, r.text
            block_id = r.json()["id"]
        took = wait_for(
            f"{kind} enforcing NXDOMAIN",
            lambda: answer(resolver, name)[0] == "NXDOMAIN",
            logs=(resolver, primary),
        )
        assert answer(resolver, "www." + name)[0] == "NXDOMAIN"  # the *.name trigger
        print(f"{kind}: block enforced {took:.3f} s after the API answered")

        # the change travelled as an incremental transfer, not a full one
        now = serial(primary, official)
        wait_for(
            "transfer bookkeeping",
            lambda: subscribers(primary, official)[isp]["last_serial"] == now,
            limit=5,
        )
        assert subscribers(primary, official)[isp]["last_transfer_kind"] == "IXFR"
        sub_id = subscribers(primary, official)[isp]["id"]
        assert "kind='IXFR'" in primary.log() and sub_id in primary.log()

        landing_name = "landing-" + name
        with primary.client(official) as c:
            r = c.post(
                "/api/v1/blocks",
                json={
                    "domain": landing_name,
                    "action": "landing",
                    "legal_basis": "UU ITE Pasal 40",
                    "reason": "laman labuh (test)",
                },
            )
            assert r.status_code == 201, r.text
        wait_for(
            f"{kind} answering with the landing page",
            lambda: (
                S.LANDING_HOST in answer(resolver, landing_name)[1]
                or S.LANDING_ADDRESS in answer(resolver, landing_name)[1]
            ),
            logs=(resolver, primary),
        )

        with primary.client(official) as c:
            r = c.request(
                "DELETE",
                f"/api/v1/blocks/{block_id}",
                json={"reason": "normalisasi: content removed"},
            )
            assert r.status_code == 200, r.text
        took = wait_for(
            f"{kind} restoring the real answer",
            lambda: answer(resolver, name) == ("NOERROR", [S.AUTH_ANSWER]),
            logs=(resolver, primary),
        )
        print(f"{kind}: restore effective {took:.3f} s after the API answered")
        now = serial(primary, official)
        wait_for(
            "transfer bookkeeping",
            lambda: subscribers(primary, official)[isp]["last_serial"] == now,
            limit=5,
        )
        assert subscribers(primary, official)[isp]["last_transfer_kind"] == "IXFR"


def test_bind_with_a_wrong_tsig_key_is_refused(
    auth: S.Process, primary: LiveServer, official: str
) -> None:
    need("named")
    isp = unique("isp-wrongkey")
    assert primary.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
    r = primary.cli("tsig", "create", "--org", isp)
    key_name, _secret = r.stdout.split()
    wrong = "c2VjcmV0LXRoYXQtaXMtbm90LXRoZS1vbmUtaXNzdWVkLTMyYg=="
    port = free_port()
    with S.bind(
        host="127.0.0.1",
        port=port,
        rpz_zone=ZONE,
        primary=("127.0.0.1", primary.dns_port),
        auth=(auth.host, auth.port),
        key_name=key_name,
        secret=wrong,
    ) as resolver:
        wait_for(
            "the refusal in tangkal's log",
            lambda: "rpz tsig refused" in primary.log() and key_name in primary.log(),
        )
        wait_for(
            "BIND noticing",
            lambda: "tsig" in resolver.log().lower() or "notauth" in resolver.log().lower(),
        )
        assert "transferred serial" not in resolver.log()


@pytest.mark.parametrize("backend", backends())
def test_a_changed_landing_reaches_bind_by_ixfr_after_a_restart(
    backend: str, auth: S.Process
) -> None:
    """The landing moves from a CNAME to an address between two starts on one database:
    the second start publishes it as a new serial, NOTIFY sends BIND for it, and the IXFR
    deletes exactly the CNAMEs BIND holds (BIND refuses an IXFR that deletes what it does
    not have)."""
    need("named")
    moved = "192.0.2.98"
    env = {"TANGKAL_LANDING_HOST": S.LANDING_HOST}
    with server_database(backend) as url, contextlib.ExitStack() as outer:
        first = contextlib.ExitStack()
        one = first.enter_context(live_server(url, env))
        org = unique("kominfo")
        assert one.cli("org", "create", "--kind", "regulator", "--name", org).returncode == 0
        official = one.token(org, "official")
        isp = unique("isp-landing")
        assert one.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
        resolver = outer.enter_context(start_resolver("bind", one, auth, isp))
        name = f"{unique('moved').lower()}.contoh-uji.net"
        with one.client(official) as c:
            r = c.post(
                "/api/v1/blocks",
                json={
                    "domain": name,
                    "action": "landing",
                    "legal_basis": "UU ITE Pasal 40",
                    "reason": "laman labuh (test)",
                },
            )
            assert r.status_code == 201, r.text
        wait_for(
            "BIND answering with the landing CNAME",
            lambda: S.LANDING_HOST in answer(resolver, name)[1],
            logs=(resolver, one),
        )
        before = serial(one, official)
        first.close()  # the primary goes away; BIND keeps the zone
        two = outer.enter_context(
            live_server(
                url,
                {**env, "TANGKAL_RPZ_LANDING": f"a:{moved}"},
                serve_args=("--dns-port", str(one.dns_port)),
            )
        )
        assert serial(two, official) != before
        wait_for(
            "BIND answering with the new landing address",
            lambda: answer(resolver, name) == ("NOERROR", [moved]),
            logs=(resolver, two),
        )
        assert answer(resolver, "www." + name) == ("NOERROR", [moved])
        now = serial(two, official)
        wait_for(
            "transfer bookkeeping",
            lambda: subscribers(two, official)[isp]["last_serial"] == now,
            limit=5,
        )
        assert subscribers(two, official)[isp]["last_transfer_kind"] == "IXFR"
