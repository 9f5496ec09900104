"""Subscribers credited right when they share a host: real resolvers and secondaries on
loopback following a running ``tangkal serve`` (docs/rpz-subscribers.md).

Two Unbound on the same address 127.0.0.1 (different ports), both allow-listed for
127.0.0.1 without TSIG: nothing in their transfers tells them apart, so they must be
credited together as a group, each shown with the group's serial and the group's members,
never one of them "never transferred". A BIND and a Knot secondary of the same ISP on the
same address, each with a TSIG key of its own: each is credited its own transfers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

from tests.functional.dns import servers as S
from tests.support import LiveServer, backends, free_port, live_server, server_database, unique

pytestmark = pytest.mark.dns

ZONE = "rpz.tangkal."
LIMIT = 30.0


def need(binary: str) -> None:
    S.need(binary, "this subscriber test")


@pytest.fixture(scope="module")
def auth() -> Iterator[S.Process]:
    with S.stand_in_internet() as p:
        yield p


@pytest.fixture(scope="module", params=backends())
def primary(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with (
        server_database(str(request.param)) as url,
        live_server(url, {"TANGKAL_LANDING_HOST": S.LANDING_HOST}) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def official(primary: LiveServer) -> str:
    return S.regulator_official(primary)


def subscribers(primary: LiveServer, token: str) -> dict[str, dict[str, Any]]:
    with primary.client(token) as c:
        r = c.get("/api/v1/rpz/subscribers")
        assert r.status_code == 200, r.text
        return {s["notify"]: s for s in r.json()["subscribers"]}


def serial(primary: LiveServer, token: str) -> int:
    return S.rpz_serial(primary, token)


def wait_for(what: str, check: Any, limit: float = LIMIT, *, logs: tuple[Any, ...] = ()) -> float:
    return S.wait_for(what, check, limit, logs=logs, every=0.1)


def block(primary: LiveServer, token: str, name: str) -> None:
    with primary.client(token) as c:
        r = c.post(
            "/api/v1/blocks",
            json={
                "domain": name,
                "action": "nxdomain",
                "legal_basis": "UU ITE Pasal 40",
                "reason": "shared-host subscribers (test)",
            },
        )
        assert r.status_code == 201, r.text


def cli_ok(primary: LiveServer, *args: str) -> str:
    r = primary.cli(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_two_unbound_on_one_address_are_credited_as_a_group_never_one_at_random(
    auth: S.Process, primary: LiveServer, official: str
) -> None:
    need("unbound")
    isp = unique("isp-two-unbound")
    cli_ok(primary, "org", "create", "--kind", "isp", "--name", isp)
    ports = [free_port(), free_port()]
    for port in ports:
        cli_ok(
            primary,
            "subscriber",
            "add",
            "--org",
            isp,
            "--notify",
            f"127.0.0.1:{port}",
            "--allow-ip",
            "127.0.0.1/32",
        )
    notify = [f"127.0.0.1:{p}" for p in ports]
    common: dict[str, Any] = {
        "host": "127.0.0.1",
        "rpz_zone": ZONE,
        "primary": ("127.0.0.1", primary.dns_port),
        "auth": (auth.host, auth.port),
    }
    with S.unbound(port=ports[0], **common) as one, S.unbound(port=ports[1], **common) as two:

        def both_hold(target: int) -> object:
            subs = subscribers(primary, official)
            group = subs[notify[0]]["group"]
            return (
                group
                and group["holding_current"] == 2
                and all(subs[n]["last_serial"] == target for n in notify)
            )

        wait_for(
            "both Unbound credited",
            lambda: both_hold(serial(primary, official)),
            logs=(one, two, primary),
        )
        name = f"{unique('grp').lower()}.contoh-uji.net"
        block(primary, official, name)
        now = serial(primary, official)
        wait_for(
            "both Unbound enforcing",
            lambda: all(
                S.answer_of(r.query(name, "A", timeout=1))[0] == "NXDOMAIN" for r in (one, two)
            ),
            logs=(one, two),
        )
        wait_for(
            "both credited with the new serial", lambda: both_hold(now), logs=(one, two, primary)
        )
        subs = subscribers(primary, official)
        for n in notify:
            s = subs[n]
            assert s["credit"] == "group" and s["changesets_behind"] == 0
            assert s["identified_by"] == "allow-ip+group"
            assert sorted(s["group"]["members"]) == sorted(subs[m]["id"] for m in notify)
            assert s["group"]["serials"] == [now, now]
            assert s["last_notify_ack_serial"] == now  # each acknowledged its own NOTIFY
        listed = " ".join(cli_ok(primary, "subscriber", "list").split())  # however wrapped
        assert listed.count("cannot be told apart") >= 2, listed
        assert listed.count("2 of 2 hold the current serial") >= 2, listed


@contextmanager
def knot(*, port: int, primary: tuple[str, int], key_name: str, secret: str) -> Iterator[S.Process]:
    """Knot DNS as a secondary of the RPZ, signing its transfers with ``key_name``."""
    d = S.tempdir("knot")
    conf = d / "knot.conf"
    conf.write_text(f"""server:
    listen: 127.0.0.1@{port}
    rundir: "{d}"
database:
    storage: "{d}"
log:
  - target: "{d}/knot.log"
    any: info
key:
  - id: {key_name}
    algorithm: hmac-sha256
    secret: {secret}
remote:
  - id: tangkal
    address: {primary[0]}@{primary[1]}
    key: {key_name}
acl:
  - id: notify-from-tangkal
    address: {primary[0]}
    action: notify
template:
  - id: default
    storage: "{d}"
zone:
  - domain: {ZONE}
    master: tangkal
    acl: notify-from-tangkal
""")
    try:
        with S._run(
            "knotd",
            "127.0.0.1",
            port,
            d,
            [S.binary("knotd") or "knotd", "-c", str(conf)],
            d / "knot.log",
            "ready." + S.AUTH_ZONE,
        ) as p:
            yield p
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_bind_and_knot_on_one_address_with_keys_of_their_own_are_each_credited(
    auth: S.Process, primary: LiveServer, official: str
) -> None:
    need("named")
    need("knotd")
    isp = unique("isp-shared-host")
    cli_ok(primary, "org", "create", "--kind", "isp", "--name", isp)
    keys = [cli_ok(primary, "tsig", "create", "--org", isp).split() for _ in range(2)]
    bind_port, knot_port = free_port(), free_port()
    cli_ok(
        primary,
        "subscriber",
        "add",
        "--org",
        isp,
        "--notify",
        f"127.0.0.1:{bind_port}",
        "--key",
        keys[0][0],
    )
    cli_ok(
        primary,
        "subscriber",
        "add",
        "--org",
        isp,
        "--notify",
        f"127.0.0.1:{knot_port}",
        "--key",
        keys[1][0],
    )
    bind_n, knot_n = f"127.0.0.1:{bind_port}", f"127.0.0.1:{knot_port}"
    with ExitStack() as stack:
        b = stack.enter_context(
            S.bind(
                host="127.0.0.1",
                port=bind_port,
                rpz_zone=ZONE,
                primary=("127.0.0.1", primary.dns_port),
                auth=(auth.host, auth.port),
                key_name=keys[0][0],
                secret=keys[0][1],
            )
        )
        k = stack.enter_context(
            knot(
                port=knot_port,
                primary=("127.0.0.1", primary.dns_port),
                key_name=keys[1][0],
                secret=keys[1][1],
            )
        )

        def each_holds(target: int) -> object:
            subs = subscribers(primary, official)
            return all(subs[n]["last_serial"] == target for n in (bind_n, knot_n))

        wait_for(
            "BIND and Knot credited",
            lambda: each_holds(serial(primary, official)),
            logs=(b, k, primary),
        )
        block(primary, official, f"{unique('own').lower()}.contoh-uji.net")
        now = serial(primary, official)
        wait_for("each credited with the new serial", lambda: each_holds(now), logs=(b, k, primary))
        subs = subscribers(primary, official)
        for n, key in ((bind_n, keys[0][0]), (knot_n, keys[1][0])):
            assert subs[n]["credit"] == "own" and subs[n]["group"] is None
            assert subs[n]["identified_by"] == "key" and subs[n]["tsig_key"] == key
            assert subs[n]["last_transfer_kind"] == "IXFR"
