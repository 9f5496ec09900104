"""Two ``tangkal serve`` on one PostgreSQL, both primaries of the same RPZ (issue 12).

The serial and the change sets live in the database (``rpz.journal.publish``), and each
primary follows the journal on ``pg_notify``: so both serve the same zone at the same
serial, whichever of them took the change. A BIND 9.18 secondary that lists both primaries
keeps converging when the first of them is killed with SIGKILL in the middle of a stream of
changes: the second notifies it, and it transfers from the one that answers.

Every wait is a bounded poll for a state, never a measured time.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dns.exception
import dns.query
import dns.rdatatype
import dns.tsigkeyring
import pytest

from tests.functional.dns import servers as S
from tests.support import LiveServer, free_port, live_server, server_database, unique

pytestmark = pytest.mark.dns

ZONE = "rpz.tangkal."
CHANGES = 12  # the stream of blocks; the first primary is killed after a third of them


class Transfers:
    """AXFR with the ISP's TSIG key: the zone's records as a set, and its serial; (-1, {})
    while a server does not serve the zone (BIND before its first transfer)."""

    def __init__(self, key_name: str, secret: str) -> None:
        self.key_name = key_name
        self.keyring = dns.tsigkeyring.from_text({key_name: secret})

    def axfr(self, port: int, *, signed: bool = True) -> tuple[int, frozenset[str]]:
        kw: dict[str, Any] = {}
        if signed:
            kw = {"keyring": self.keyring, "keyname": self.key_name, "keyalgorithm": "hmac-sha256"}
        try:
            return self._axfr(port, kw)
        except (dns.exception.DNSException, OSError):  # not (yet) served: a state to wait in
            return -1, frozenset()

    def _axfr(self, port: int, kw: dict[str, Any]) -> tuple[int, frozenset[str]]:
        records: set[str] = set()
        serial = -1
        for message in dns.query.xfr(
            "127.0.0.1", ZONE, port=port, timeout=5, lifetime=20, relativize=False, **kw
        ):
            for rrset in message.answer:
                for rd in rrset:
                    if rrset.rdtype == dns.rdatatype.SOA:
                        serial = int(rd.serial)
                    records.add(
                        f"{rrset.name} {rrset.ttl} {dns.rdatatype.to_text(rrset.rdtype)} {rd}"
                    )
        return serial, frozenset(records)


def _until(what: str, check: Callable[[], Any], seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what} (last: {result})"
        time.sleep(0.1)


@contextmanager
def bind_secondary(
    port: int, primaries: list[int], key_name: str, secret: str
) -> Iterator[S.Process]:
    """named 9.18 on ``port``, a plain secondary of ``ZONE`` with both primaries, in this
    order; it allows AXFR from itself so the test can read what it holds."""
    d = S.tempdir("bind2")
    listed = " ".join(f'127.0.0.1 port {p} key "{key_name}";' for p in primaries)
    conf = d / "named.conf"
    conf.write_text(f"""options {{
  directory "{d}";
  pid-file "{d}/named.pid";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  allow-query {{ any; }};
  allow-transfer {{ any; }};
  dnssec-validation no;
  notify no;
}};
key "{key_name}" {{ algorithm hmac-sha256; secret "{secret}"; }};
controls {{ }};
logging {{
  channel main {{ file "{d}/named.log"; severity info; print-time yes; }};
  category default {{ main; }};
  category xfer-in {{ main; }};
  category notify {{ main; }};
}};
zone "{ZONE.rstrip(".")}" {{
  type secondary;
  primaries {{ {listed} }};
  file "{d}/rpz.db";
  allow-notify {{ 127.0.0.1; }};
  request-ixfr yes;
}};
""")
    argv = [S.binary("named") or "named", "-f", "-n", "1", "-c", str(conf)]
    try:
        with S._run("bind", "127.0.0.1", port, d, argv, d / "named.log", ZONE) as p:
            yield p
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _block(server: LiveServer, token: str, i: int, tag: str) -> None:
    with server.client(token) as c:
        r = c.post(
            "/api/v1/blocks",
            json={
                "domain": f"{tag}-{i}.contoh-uji.net",
                "action": "nxdomain",
                "legal_basis": "UU ITE Pasal 40",
                "reason": "terrorist propaganda (test)",
            },
        )
    assert r.status_code == 201, r.text + server.log()[-6000:]


def test_two_primaries_agree_and_a_bind_secondary_survives_one_killed() -> None:
    with server_database("postgresql") as url, live_server(url) as a:
        reg, isp = unique("kominfo"), unique("isp-two")
        assert a.cli("org", "create", "--kind", "regulator", "--name", reg).returncode == 0
        assert a.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
        official = a.token(reg, "official")
        r = a.cli("tsig", "create", "--org", isp)
        assert r.returncode == 0, r.stderr
        key_name, secret = r.stdout.split()
        xfr = Transfers(key_name, secret)
        bind_port = free_port()  # BIND's, registered first: NOTIFY goes there
        r = a.cli("subscriber", "add", "--org", isp, "--notify", f"127.0.0.1:{bind_port}")
        assert r.returncode == 0, r.stderr
        with live_server(url) as b:
            tag = unique("dua").lower()
            # A change through either is served by both, at one serial, record for record.
            for n, via in enumerate((a, b)):
                _block(via, official, n, tag + "-pair")
                owner = f"{tag}-pair-{n}.contoh-uji.net.{ZONE}"
                _until(
                    "both primaries serving the change, at one serial",
                    lambda o=owner: (  # type: ignore[misc]
                        (za := xfr.axfr(a.dns_port)) == xfr.axfr(b.dns_port)
                        and o in " ".join(za[1])
                    ),
                )

            # BIND notified by both (one subscriber, its NOTIFY address on BIND's port).
            primaries = [a.dns_port, b.dns_port]
            with bind_secondary(bind_port, primaries, key_name, secret) as named:
                _until(
                    "BIND's first transfer",
                    lambda: xfr.axfr(named.port, signed=False)[0] == xfr.axfr(b.dns_port)[0],
                )
                for i in range(CHANGES):
                    if i == CHANGES // 3:
                        os.kill(a.process.pid, signal.SIGKILL)  # mid-stream
                        assert a.process.wait(30) == -signal.SIGKILL
                    _block(a if i % 2 == 0 and i < CHANGES // 3 else b, official, i, tag)
                wanted = [f"{tag}-{i}.contoh-uji.net.{ZONE}" for i in range(CHANGES)]
                b_has_all = _until(
                    "the surviving primary serving every change",
                    lambda: (
                        (zb := xfr.axfr(b.dns_port))
                        and all(w in " ".join(zb[1]) for w in wanted)
                        and zb
                    ),
                )
                t0 = time.monotonic()
                _until(
                    "BIND converged on the surviving primary",
                    lambda: xfr.axfr(named.port, signed=False) == b_has_all,
                    seconds=90,
                )
                took = time.monotonic() - t0
                log = named.log()
    print(
        f"\nBIND converged {took:.1f} s after the survivor served the last change;"
        f" serial {b_has_all[0]}, {len(b_has_all[1])} records;"
        f" {log.count('Transfer status: success')} transfers into BIND"
    )
