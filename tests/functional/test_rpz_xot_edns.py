"""Real peers from Debian against a running ``tangkal serve``: BIND 9.18 as a secondary that
follows the zone over TLS only (XoT, RFC 9103), and ``kdig`` (knot-dnsutils) checking EDNS
(RFC 6891), the question's case and XoT from a client's side.

The certificate authority and the server's certificate are made in the test
(``tests.unit.rpz.certs``); BIND verifies the server against that authority and its name.
Every wait is a bounded poll for a state, never a measured time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import pytest

from tests.functional.dns import servers as S
from tests.support import (
    LiveServer,
    backends,
    free_port,
    live_server,
    run_cli,
    server_database,
    unique,
)
from tests.unit.rpz.certs import Certs, make_certs

pytestmark = pytest.mark.dns

ZONE = "rpz.tangkal."


@dataclass
class Primary:
    server: LiveServer
    xot_port: int
    certs: Certs
    official: str
    key_name: str
    secret: str
    bind_port: int  # where the subscriber's NOTIFY goes: the BIND secondary's port
    unbound_port: int  # the Unbound subscriber's, on UNBOUND_HOST (allow-listed, unsigned)


UNBOUND_HOST = "127.0.0.2"  # where Unbound listens (it transfers from 127.0.0.1 whatever)
OUTSIDER = "127.0.0.3"  # an address on no allow-list, for the refusals


@pytest.fixture(scope="module", params=backends())
def primary(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Primary]:
    certs = make_certs(tmp_path_factory.mktemp("xot"))
    xot_port = free_port()
    env = {
        "TANGKAL_RPZ_XOT_PORT": str(xot_port),
        "TANGKAL_RPZ_XOT_CERT_FILE": str(certs.cert),
        "TANGKAL_RPZ_XOT_KEY_FILE": str(certs.key),
    }
    with server_database(request.param) as url, live_server(url, extra_env=env) as server:
        reg, isp = unique("kominfo"), unique("isp-xot")
        assert server.cli("org", "create", "--kind", "regulator", "--name", reg).returncode == 0
        assert server.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
        r = server.cli("tsig", "create", "--org", isp)
        assert r.returncode == 0, r.stderr
        key_name, secret = r.stdout.split()
        bind_port = free_port()
        r = server.cli("subscriber", "add", "--org", isp, "--notify", f"127.0.0.1:{bind_port}")
        assert r.returncode == 0, r.stderr
        # The primary reads new keys within seconds; a secondary refused BADKEY before
        # that waits its whole retry interval (BIND: a minute) before it asks again.
        keyring = dns.tsigkeyring.from_text({key_name: secret})

        def key_known() -> bool:
            q = dns.message.make_query(ZONE, "SOA")
            q.use_tsig(keyring, key_name, algorithm=dns.tsig.HMAC_SHA256)
            try:
                dns.query.tcp(q, "127.0.0.1", port=server.dns_port, timeout=2)
                return True
            except (dns.exception.DNSException, OSError):
                return False

        _until("the primary knowing the new key", key_known)
        unbound_port = free_port()
        r = server.cli(
            "subscriber", "add", "--org", isp, "--notify", f"{UNBOUND_HOST}:{unbound_port}",
            "--allow-ip", "127.0.0.1/32",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        # and the allow-list read (an Unbound refused waits a minute before it asks again)
        _until("the primary allowing 127.0.0.1", lambda: zone_of(server.dns_port)[0] != -1)
        yield Primary(
            server,
            xot_port,
            certs,
            server.token(reg, "official"),
            key_name,
            secret,
            bind_port,
            unbound_port,
        )


def kdig(*args: str) -> subprocess.CompletedProcess[str]:
    binary = S.binary("kdig")
    assert binary, "kdig is not installed (Debian knot-dnsutils, scripts/install-system-deps)"
    return subprocess.run(
        [binary, "+time=5", "+retry=0", *args], capture_output=True, text=True, timeout=60
    )


def _until(
    what: str, check: Callable[[], Any], seconds: float = 60, log: Callable[[], str] | None = None
) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            said = log()[-5000:] if log else ""
            raise AssertionError(f"timed out waiting for {what} (last: {result})\n{said}")
        time.sleep(0.1)


def zone_of(port: int) -> tuple[int, frozenset[str]]:
    """(serial, records) of an unsigned AXFR from a server that allows it (BIND here);
    (-1, {}) while it serves no zone yet."""
    records: set[str] = set()
    serial = -1
    try:
        for m in dns.query.xfr("127.0.0.1", ZONE, port=port, timeout=5, lifetime=20,
                               relativize=False):  # fmt: skip
            for rrset in m.answer:
                for rd in rrset:
                    if rrset.rdtype == dns.rdatatype.SOA:
                        serial = int(rd.serial)
                    records.add(f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} {rd}")
    except (dns.exception.DNSException, OSError):
        return -1, frozenset()
    return serial, frozenset(records)


def soa_serial(port: int) -> int:
    r = kdig("@127.0.0.1", "-p", str(port), "+short", "SOA", ZONE)
    fields = r.stdout.split()
    return int(fields[2]) if r.returncode == 0 and len(fields) == 7 else -1


@contextmanager
def bind_over_xot(p: Primary) -> Iterator[S.Process]:
    """named 9.18, a secondary of ZONE whose only primary is tangkal's XoT port: every SOA
    query and transfer it makes goes over TLS, verified against the test's authority and
    the certificate's name. It lets anyone AXFR from it, so the test can read its copy."""
    d = S.tempdir("bind-xot")
    conf = d / "named.conf"
    conf.write_text(f"""options {{
  directory "{d}";
  pid-file "{d}/named.pid";
  listen-on port {p.bind_port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  allow-query {{ any; }};
  allow-transfer {{ any; }};
  dnssec-validation no;
  notify no;
}};
key "{p.key_name}" {{ algorithm hmac-sha256; secret "{p.secret}"; }};
tls tangkal-xot {{
  ca-file "{p.certs.ca}";
  remote-hostname "{p.certs.hostname}";
}};
controls {{ }};
logging {{
  channel main {{ file "{d}/named.log"; severity info; print-time yes; }};
  category default {{ main; }};
  category xfer-in {{ main; }};
  category notify {{ main; }};
}};
zone "{ZONE.rstrip(".")}" {{
  type secondary;
  primaries {{ 127.0.0.1 port {p.xot_port} key "{p.key_name}" tls tangkal-xot; }};
  file "{d}/rpz.db";
  allow-notify {{ 127.0.0.1; }};
}};
""")
    argv = [S.binary("named") or "named", "-f", "-n", "1", "-c", str(conf)]
    try:
        with S._run("bind", "127.0.0.1", p.bind_port, d, argv, d / "named.log", ZONE) as proc:
            yield proc
    finally:
        shutil.rmtree(d, ignore_errors=True)


@contextmanager
def unbound_over_xot(p: Primary) -> Iterator[S.Process]:
    """Unbound 1.17 following the RPZ from tangkal's XoT port, unsigned (Unbound cannot
    sign), admitted by its allow-listed address, the certificate checked against the
    test's authority and name (``primary: addr@port#name`` with ``tls-cert-bundle``)."""
    d = S.tempdir("unbound-xot")
    conf = d / "unbound.conf"
    conf.write_text(f"""server:
  interface: {UNBOUND_HOST}@{p.unbound_port}
  port: {p.unbound_port}
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{d}"
  pidfile: "{d}/unbound.pid"
  logfile: "{d}/unbound.log"
  use-syslog: no
  verbosity: 2
  module-config: "respip iterator"
  access-control: 127.0.0.0/8 allow
  tls-cert-bundle: "{p.certs.ca}"
  local-data: "ready.{S.AUTH_ZONE} A 127.0.0.1"
  do-not-query-localhost: no
forward-zone:
  # nothing leaves loopback: names the zone does not block go to a closed local port
  name: "."
  forward-addr: 127.0.0.1@9
rpz:
  name: "{ZONE}"
  primary: 127.0.0.1@{p.xot_port}#{p.certs.hostname}
  allow-notify: 127.0.0.1
""")
    argv = [S.binary("unbound") or "unbound", "-d", "-c", str(conf)]
    try:
        with S._run(
            "unbound", UNBOUND_HOST, p.unbound_port, d, argv, d / "unbound.log",
            "ready." + S.AUTH_ZONE,
        ) as proc:  # fmt: skip
            yield proc
    finally:
        shutil.rmtree(d, ignore_errors=True)


def block(p: Primary, domain: str) -> None:
    with p.server.client(p.official) as c:
        r = c.post(
            "/api/v1/blocks",
            json={
                "domain": domain,
                "action": "nxdomain",
                "legal_basis": "UU ITE Pasal 40",
                "reason": "terrorist propaganda (test)",
            },
        )
    assert r.status_code == 201, r.text


def test_bind_follows_the_zone_over_xot_and_converges_on_a_change(primary: Primary) -> None:
    p = primary
    assert S.binary("named"), "named is not installed (Debian bind9)"
    with bind_over_xot(p) as named:
        first = _until(
            "BIND's first transfer over XoT",
            lambda: zone_of(named.port)[0] == soa_serial(p.server.dns_port) != -1,
            log=named.log,
        )
        assert first
        tag = unique("xot").lower()
        for i in range(3):
            block(p, f"{tag}-{i}.contoh-uji.net")
        wanted = {f"{tag}-{i}.contoh-uji.net.{ZONE} CNAME ." for i in range(3)}
        serial, _records = _until(
            "BIND converged on the change (NOTIFY, then SOA and IXFR over TLS)",
            lambda: (z := zone_of(named.port)) and wanted <= z[1] and z,
            seconds=90,
            log=lambda: "\n".join(x for x in named.log().splitlines() if "AXFR" not in x),
        )
        assert serial == soa_serial(p.server.dns_port)
        log = named.log()
    assert "Transfer status: success" in log, log[-3000:]
    assert not re.search(r"(?i)certificate verify failed|TLS error", log), log[-3000:]


def test_unbound_follows_the_zone_over_xot_unsigned(primary: Primary) -> None:
    """The case XoT is for: Unbound cannot sign, so it is admitted by its address; over
    XoT its copy of the blocking list is private and comes from the certified server."""
    p = primary
    assert S.binary("unbound"), "unbound is not installed (Debian unbound)"
    tag = unique("ubxot").lower()
    block(p, f"{tag}-0.contoh-uji.net")
    with unbound_over_xot(p) as unbound:

        def nxdomain(name: str) -> bool:
            try:
                return unbound.query(name, timeout=1).rcode() == dns.rcode.NXDOMAIN
            except (dns.exception.Timeout, OSError):
                return False

        _until("Unbound enforcing the zone transferred over XoT",
               lambda: nxdomain(f"{tag}-0.contoh-uji.net."), log=unbound.log)  # fmt: skip
        block(p, f"{tag}-1.contoh-uji.net")  # NOTIFY, SOA probe over UDP, IXFR over TLS
        # Its one primary is the XoT port, where TCP is TLS only: the zone came over TLS.
        _until("Unbound enforcing a change", lambda: nxdomain(f"{tag}-1.contoh-uji.net."),
               log=unbound.log)  # fmt: skip


def test_kdig_sees_edns_badvers_and_the_question_case(primary: Primary) -> None:
    at = ["@127.0.0.1", "-p", str(primary.server.dns_port)]
    r = kdig(*at, "+edns=0", "SOA", ZONE)
    assert r.returncode == 0, r.stderr
    assert "status: NOERROR" in r.stdout and ";; EDNS PSEUDOSECTION:" in r.stdout, r.stdout
    assert re.search(r"Version: 0; flags: ; UDP size: 1232 B", r.stdout), r.stdout
    plain = kdig(*at, "+noedns", "SOA", ZONE)
    assert "status: NOERROR" in plain.stdout and "EDNS PSEUDOSECTION" not in plain.stdout
    bad = kdig(*at, "+edns=1", "SOA", ZONE)
    assert "status: BADVERS" in bad.stdout, bad.stdout
    assert re.search(r"Version: 0;", bad.stdout) and "ANSWER SECTION" not in bad.stdout
    dnssec = kdig(*at, "+dnssec", "SOA", ZONE)
    assert re.search(r"Version: 0; flags: do;", dnssec.stdout), dnssec.stdout
    for size in ("512", "1232", "4096", "65535"):  # each SOA answer fits in 512 octets
        sized = kdig(*at, f"+bufsize={size}", "+notcp", "SOA", ZONE)
        assert "status: NOERROR" in sized.stdout and "Flags: qr aa" in sized.stdout, size
        assert " tc" not in sized.stdout.split("Flags:")[1].split(";")[0], sized.stdout
        assert "UDP size: 1232 B" in sized.stdout, sized.stdout
    # 0x20: kdig lowercases what it sends, BIND's dig sends the name as typed
    dig = S.binary("dig")
    assert dig, "dig is not installed (Debian bind9-dnsutils)"
    for edns in ("+noedns", "+edns=0"):
        mixed = subprocess.run(
            [dig, "@127.0.0.1", "-p", str(primary.server.dns_port), "+time=5", "+tries=1",
             "+norecurse", edns, "rPz.TaNgKaL.", "SOA"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert "status: NOERROR" in mixed.stdout, mixed.stdout
        assert re.search(r"(?m)^;rPz\.TaNgKaL\.\s+IN\s+SOA$", mixed.stdout), mixed.stdout
        assert "ANSWER SECTION" in mixed.stdout and "mismatch" not in mixed.stdout


def test_kdig_transfers_over_xot_and_plain_tcp_on_that_port_fails_cleanly(
    primary: Primary,
) -> None:
    p = primary
    tag = unique("kdig").lower()
    block(p, f"{tag}.contoh-uji.net")
    _until("the block served", lambda: soa_serial(p.server.dns_port) > 0)
    tls = [
        "@127.0.0.1",
        "-p",
        str(p.xot_port),
        "+tls",
        f"+tls-ca={p.certs.ca}",
        f"+tls-hostname={p.certs.hostname}",
        "-y",
        f"hmac-sha256:{p.key_name}:{p.secret}",
    ]
    owner = f"{tag}.contoh-uji.net.{ZONE}"
    r = _until(
        "an AXFR over XoT with the change",
        lambda: (x := kdig(*tls, "AXFR", ZONE)).returncode == 0 and owner in x.stdout and x,
    )
    assert "Transfer failed" not in r.stdout and ";; Received" in r.stdout
    # TLS is no authorisation: unsigned from an address on no allow-list is still refused
    unsigned = kdig("-b", OUTSIDER, *tls[:-2], "AXFR", ZONE)
    assert "REFUSED" in unsigned.stdout + unsigned.stderr, unsigned.stdout
    plain = kdig("@127.0.0.1", "-p", str(p.xot_port), "+tcp", "SOA", ZONE)
    assert "status:" not in plain.stdout, plain.stdout  # no DNS answer at all
    assert plain.returncode != 0 or "failed" in plain.stdout + plain.stderr
    soa = kdig(*tls, "SOA", ZONE)  # and the port still serves
    assert soa.returncode == 0 and "status: NOERROR" in soa.stdout, soa.stdout
    assert re.search(r"TLS session \(TLS1\.3\)", soa.stdout + soa.stderr), soa.stdout


def test_a_bad_certificate_or_key_stops_serve(tmp_path: Path) -> None:
    good = make_certs(tmp_path / "good")
    other = make_certs(tmp_path / "other")
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    for variable, cert, key in (
        ("TANGKAL_RPZ_XOT_CERT_FILE", junk, good.key),
        ("TANGKAL_RPZ_XOT_KEY_FILE", good.cert, other.key),
    ):
        env = {
            "TANGKAL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            "TANGKAL_DATA_DIR": str(tmp_path),
            "TANGKAL_RPZ_XOT_PORT": str(free_port()),
            "TANGKAL_RPZ_XOT_CERT_FILE": str(cert),
            "TANGKAL_RPZ_XOT_KEY_FILE": str(key),
        }
        r = run_cli("serve", "--port", "0", "--dns-port", "0", env=env, cwd=str(tmp_path),
                    timeout=30)  # fmt: skip
        said = " ".join(r.stderr.split())
        assert r.returncode != 0 and variable in said, said
