"""Issue 12, finding 3: idle TCP connections must not stop zone transfers.

Before, the RPZ primary held at most 256 TCP connections in all, each allowed 30 s of
silence: 260 idle connections, touched every 20 s, left every SOA, AXFR and IXFR waiting
for a slot, and each refusal was a log line. Here a running ``tangkal serve`` (with the
limits made small, so the test is quick) is flooded with more idle connections than the
old limit, from 127.0.0.1 and from ten other /24s of loopback, and kept flooded while an
allow-listed subscriber (127.0.0.2) and a TSIG subscriber (127.0.0.3, the flooded /24)
take SOA and AXFR; the log has summaries, not a line per refused connection.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import dns.message
import dns.query
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import pytest

from tests.support import LiveServer, backends, free_port, live_server, server_database, unique

ZONE = "rpz.tangkal."
OLD_LIMIT = 256
FLOOD_SAME = 300  # from 127.0.0.1 alone: more than the old global limit
FLOOD_SPREAD = [f"127.0.{n}.1" for n in range(10, 20)]  # ten /24s, 12 connections each
LIMITS = {
    "TANGKAL_RPZ_TCP_CONNECTIONS": "64",
    "TANGKAL_RPZ_TCP_RESERVED": "16",
    "TANGKAL_RPZ_TCP_PER_ADDRESS": "16",
    "TANGKAL_RPZ_TCP_PER_PREFIX": "32",
    # as long as the old timeout: the flood stays up for the whole test, so what keeps the
    # transfers going is the limits, not the idle connections timing out
    "TANGKAL_RPZ_TCP_IDLE_FIRST": "30",
    "TANGKAL_RPZ_REFUSED_LOG_INTERVAL": "0.3",
}


@pytest.fixture(scope="module", params=backends())
def primary(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with server_database(str(request.param)) as url, live_server(url, LIMITS) as server:
        yield server


def flood(port: int, source: str, count: int) -> list[socket.socket]:
    """``count`` TCP connections from ``source`` that send nothing (those the server
    refuses are simply closed by it)."""
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


def still_open(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server has not closed (a closed one reads EOF or a reset)."""
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) != b"":
                n += 1
        except BlockingIOError:
            n += 1  # nothing to read and not closed
        except OSError:
            pass
    return n


def soa_and_axfr(primary: LiveServer, source: str, ring: object = None, key: str = "") -> int:
    """SOA over TCP and a full transfer from ``source``; the number of AXFR messages."""
    q = dns.message.make_query(ZONE, "SOA")
    if ring is not None:
        q.use_tsig(ring, keyname=key, algorithm=dns.tsig.HMAC_SHA256)
    r = dns.query.tcp(q, "127.0.0.1", port=primary.dns_port, source=source, timeout=5)
    assert r.answer and r.answer[0].rdtype == dns.rdatatype.SOA
    kw = {"keyring": ring, "keyname": key, "keyalgorithm": dns.tsig.HMAC_SHA256} if ring else {}
    msgs = list(
        dns.query.xfr(
            "127.0.0.1",
            ZONE,
            port=primary.dns_port,
            source=source,
            timeout=5,
            lifetime=20,
            **kw,  # type: ignore[arg-type]
        )
    )
    assert msgs[0].answer[0].rdtype == dns.rdatatype.SOA
    return len(msgs)


def registered(primary: LiveServer) -> tuple[object, str]:
    """An allow-listed subscriber at 127.0.0.2 and a TSIG one (its key, returned)."""
    listed, keyed = unique("isp-listed"), unique("isp-keyed")
    for org in (listed, keyed):
        assert primary.cli("org", "create", "--kind", "isp", "--name", org).returncode == 0
    r = primary.cli(
        "subscriber", "add", "--org", listed, "--notify", f"127.0.0.2:{free_port()}",
        "--allow-ip", "127.0.0.2/32",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    key_name, secret = primary.cli("tsig", "create", "--org", keyed).stdout.split()
    r = primary.cli(
        "subscriber", "add", "--org", keyed, "--notify", f"127.0.0.3:{free_port()}",
        "--key", key_name,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    ring = dns.tsigkeyring.from_text({key_name: secret})
    # the server re-reads its access list within a second of a change: wait for it, bounded
    for attempt in range(100):
        try:
            soa_and_axfr(primary, "127.0.0.2")
            soa_and_axfr(primary, "127.0.0.3", ring, key_name)
            break
        except (dns.exception.DNSException, AssertionError, OSError):
            assert attempt < 99, "the new subscribers were never served:\n" + primary.log()
            time.sleep(0.1)
    return ring, key_name


def test_idle_connections_beyond_the_old_limit_do_not_stop_subscribers_transfers(
    primary: LiveServer,
) -> None:
    ring, key = registered(primary)
    before = primary.log()
    held: list[socket.socket] = []
    try:
        held += flood(primary.dns_port, "127.0.0.1", FLOOD_SAME)
        for source in FLOOD_SPREAD:
            held += flood(primary.dns_port, source, 12)
        assert len(held) > OLD_LIMIT  # the kernel accepted them all; the server decides

        # flooded, and the flood still up: both subscribers are served
        assert soa_and_axfr(primary, "127.0.0.2") >= 1
        assert soa_and_axfr(primary, "127.0.0.3", ring, key) >= 1
        open_now = still_open(held)
        # one address holds at most its 16; the idle ones beyond the pool were evicted
        assert 0 < open_now <= 64, open_now
        assert soa_and_axfr(primary, "127.0.0.2") >= 1  # and again, with the flood on

        # the log: summaries with counts per reason and top addresses, no line per refusal
        summary = re.compile(r"rpz refused \(summary\).*reason_per_address=(\d+)")
        for attempt in range(100):
            found = [int(m.group(1)) for m in summary.finditer(primary.log()[len(before) :])]
            if sum(found) >= FLOOD_SAME - 16:
                break
            assert attempt < 99, "no refusal summary:\n" + primary.log()[-3000:]
            time.sleep(0.1)
        new = primary.log()[len(before) :]
        assert "top='127.0.0.1=" in new
        assert "reason_evicted_idle=" in new
        assert new.count("rpz refused (summary)") < 20  # not one per refused connection
        assert len(new.splitlines()) < 100, new[-3000:]  # hundreds refused, a few lines
    finally:
        for s in held:
            s.close()


def test_a_reserve_at_least_the_whole_stops_the_server_at_start(tmp_path: object) -> None:
    from tests.support import run_cli

    r = run_cli(
        "serve",
        "--port",
        str(free_port()),
        env={
            "TANGKAL_DATABASE_URL": "sqlite:///never.db",
            "TANGKAL_RPZ_TCP_CONNECTIONS": "64",
            "TANGKAL_RPZ_TCP_RESERVED": "64",
        },
        cwd=str(tmp_path),
    )
    assert r.returncode != 0
    assert "TANGKAL_RPZ_TCP_RESERVED='64' is not valid" in r.stderr
    assert "less than TANGKAL_RPZ_TCP_CONNECTIONS (64)" in r.stderr
