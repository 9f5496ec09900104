"""The RPZ through the real command line, HTTP and DNS of a running ``tangkal serve``."""

from __future__ import annotations

import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring

from tests.support import LiveServer, unique

ZONE = "rpz.tangkal."


def make_org(live: LiveServer, kind: str) -> str:
    name = unique(kind)
    r = live.cli("org", "create", "--kind", kind, "--name", name)
    assert r.returncode == 0, r.stderr
    return name


def block(live: LiveServer, official: str, domain: str, action: str = "nxdomain") -> str:
    with live.client(official) as c:
        r = c.post(
            "/api/v1/blocks",
            json={
                "domain": domain,
                "action": action,
                "legal_basis": "UU ITE Pasal 40",
                "reason": "terrorist propaganda channel",
            },
        )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def soa_serial(live: LiveServer) -> int:
    r = dns.query.udp(
        dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=live.dns_port, timeout=2
    )
    return int(r.answer[0][0].serial)


def test_tsig_create_prints_one_line_and_the_key_signs_a_transfer(live: LiveServer) -> None:
    isp = make_org(live, "isp")
    r = live.cli("tsig", "create", "--org", isp)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    keyname, secret = lines[0].split(" ")
    ring = dns.tsigkeyring.from_text({keyname: secret})
    deadline = time.monotonic() + 10  # the server refreshes its key list within seconds
    while True:
        try:
            msgs = list(
                dns.query.xfr(
                    "127.0.0.1",
                    ZONE,
                    port=live.dns_port,
                    keyring=ring,
                    keyname=keyname,
                    keyalgorithm=dns.tsig.HMAC_SHA256,
                    timeout=5,
                    lifetime=60,
                )
            )
            break
        except dns.exception.DNSException:
            assert time.monotonic() < deadline, "the new key was never accepted"
            time.sleep(0.2)
    assert msgs[0].answer[0].rdtype == dns.rdatatype.SOA


def test_tsig_and_subscriber_commands_refuse_bad_input(live: LiveServer) -> None:
    platform = make_org(live, "platform")
    isp = make_org(live, "isp")
    assert live.cli("tsig", "create", "--org", "no-such-isp").returncode != 0
    r = live.cli("tsig", "create", "--org", platform)
    assert r.returncode != 0 and "ISP" in r.stderr
    r = live.cli("subscriber", "add", "--org", isp, "--notify", "resolver.example:53")
    assert r.returncode != 0 and "IP address" in r.stderr
    r = live.cli(
        "subscriber", "add", "--org", isp, "--notify", "127.0.0.1:53", "--allow-ip", "10.0.0.0/33"
    )
    assert r.returncode != 0 and "CIDR" in r.stderr


def test_a_block_appears_in_every_export_format_with_an_etag(live: LiveServer) -> None:
    regulator = make_org(live, "regulator")
    isp = make_org(live, "isp")
    official = live.token(regulator, "official")
    isp_token = live.token(isp, "isp")
    name = f"{unique('propaganda').lower()}.example.com"
    block(live, official, name)
    with live.client(isp_token) as c:
        r = c.get("/api/v1/rpz/export", params={"format": "rpz"})
        assert r.status_code == 200
        assert f"{name} CNAME .\n*.{name} CNAME .\n" in r.text
        etag = r.headers["etag"]
        assert (
            c.get(
                "/api/v1/rpz/export", params={"format": "rpz"}, headers={"If-None-Match": etag}
            ).status_code
            == 304
        )
        assert f"0.0.0.0 {name}\n" in c.get("/api/v1/rpz/export", params={"format": "hosts"}).text
        assert f"{name}\n" in c.get("/api/v1/rpz/export", params={"format": "domains"}).text
        assert (
            f'local-zone: "{name}." always_nxdomain'
            in c.get("/api/v1/rpz/export", params={"format": "unbound"}).text
        )
        assert c.get("/api/v1/rpz/export", params={"format": "xml"}).status_code == 422
        block(live, official, "x" + name)
        assert (
            c.get(
                "/api/v1/rpz/export", params={"format": "rpz"}, headers={"If-None-Match": etag}
            ).status_code
            == 200
        )
    r = live.cli("rpz", "export", "--format", "domains")
    assert r.returncode == 0 and name in r.stdout.splitlines()
    platform = make_org(live, "platform")
    with live.client(live.token(platform, "moderator")) as c:
        assert c.get("/api/v1/rpz/export").status_code == 403


def test_subscribers_see_only_their_own_and_officials_see_all(live: LiveServer) -> None:
    regulator = make_org(live, "regulator")
    a, b = make_org(live, "isp"), make_org(live, "isp")
    for isp, port in ((a, 10053), (b, 10054)):
        r = live.cli(
            "subscriber",
            "add",
            "--org",
            isp,
            "--notify",
            f"127.0.0.1:{port}",
            "--allow-ip",
            "127.0.0.2/32",
        )
        assert r.returncode == 0, r.stderr
    with live.client(live.token(a, "isp")) as c:
        subs = c.get("/api/v1/rpz/subscribers").json()["subscribers"]
        assert [s["org"] for s in subs] == [a]
        assert c.get("/api/v1/rpz/status").json()["serial"] > 0
    with live.client(live.token(regulator, "official")) as c:
        orgs = {s["org"] for s in c.get("/api/v1/rpz/subscribers").json()["subscribers"]}
        assert {a, b} <= orgs
    r = live.cli("rpz", "status")
    assert r.returncode == 0 and a in r.stdout and "serial" in r.stdout


def test_a_block_through_the_api_is_served_over_dns_at_once(live: LiveServer) -> None:
    regulator = make_org(live, "regulator")
    official = live.token(regulator, "official")
    before = soa_serial(live)
    block(live, official, f"{unique('chan').lower()}.example.org")
    deadline = time.monotonic() + 5
    while soa_serial(live) == before:
        assert time.monotonic() < deadline, "the new serial was never served"
        time.sleep(0.01)


def test_transfers_from_unlisted_addresses_are_refused(live: LiveServer) -> None:
    r = dns.query.tcp(
        dns.message.make_query(ZONE, "AXFR"),
        "127.0.0.1",
        port=live.dns_port,
        timeout=5,
        source="127.0.0.3",
    )
    assert r.rcode() == dns.rcode.REFUSED
