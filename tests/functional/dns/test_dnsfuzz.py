"""A small, bounded DNS fuzz run in the suite (the long one is ``python -m
bench.dnsfuzz.run --packets 100000``, docs/benchmarks-dnsfuzz.md): 2,000 random and mutated
packets over UDP and TCP at a running ``tangkal serve`` primary, which must stay up, answer
a clean SOA query throughout, and never fail inside an answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bench.dnsfuzz import fuzz

from tests.support import LiveServer, backends, free_port, live_server, server_database, unique

PACKETS = 2000


@pytest.fixture(scope="module", params=backends())
def primary(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with server_database(str(request.param)) as url, live_server(url) as server:
        yield server


def test_fuzzed_packets_neither_crash_the_primary_nor_stop_its_soa(primary: LiveServer) -> None:
    isp = unique("isp-fuzz")
    assert primary.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
    # 127.0.0.1 allow-listed: fuzzed AXFR and IXFR reach the transfer code too
    r = primary.cli(
        "subscriber", "add", "--org", isp, "--notify", f"127.0.0.1:{free_port()}",
        "--allow-ip", "127.0.0.1/32",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = primary.cli("rpz", "publish", "a.fuzz-tangkal.com", "--reason", "fuzz")
    assert r.returncode == 0, r.stderr
    assert fuzz.soa_ok("127.0.0.1", primary.dns_port)

    res = fuzz.run(
        "127.0.0.1",
        primary.dns_port,
        PACKETS,
        seed=12,
        soa_every=250,
        alive=lambda: primary.process.poll() is None,
    )

    assert primary.process.poll() is None, "the server exited:\n" + primary.log()[-3000:]
    assert res.packets == PACKETS
    assert res.tcp > 0 and res.udp > 0
    assert res.soa_checks >= PACKETS // 250
    assert res.soa_failures == 0, res.failures
    assert "rpz request failed" not in primary.log(), primary.log()[-3000:]
    assert fuzz.soa_ok("127.0.0.1", primary.dns_port)
