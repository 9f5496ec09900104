"""The zone as other DNS software takes it: BIND, Knot DNS and NSD load tangkal's export as
a primary zone, ``named-checkzone`` passes the export and the AXFR output, and Knot Resolver
(``policy.rpz``, file mode) and dnsmasq enforce the export, landing as A/AAAA included.

Real Debian packages on loopback, one ``tangkal serve`` per database backend with the landing
given as addresses (Knot Resolver does not follow a CNAME to a target of the zone's choosing).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.zone
import pytest

from tests.functional.dns import servers as S
from tests.support import LiveServer, backends, live_server, server_database, unique

pytestmark = pytest.mark.dns

ZONE = "rpz.tangkal."
LANDING_V6 = "2001:db8::99"
LANDING = f"a:{S.LANDING_ADDRESS},aaaa:{LANDING_V6}"
OWN_LANDING = "192.0.2.51"  # a block's own landing page, where it differs from the zone's
LIMIT = 15.0


def need(binary: str) -> None:
    S.need(binary, "this test")


@pytest.fixture(scope="module")
def auth() -> Iterator[S.Process]:
    with S.stand_in_internet() as p:
        yield p


@pytest.fixture(scope="module", params=backends())
def primary(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with (
        server_database(str(request.param)) as url,
        live_server(
            url, {"TANGKAL_LANDING_HOST": S.LANDING_HOST, "TANGKAL_RPZ_LANDING": LANDING}
        ) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def names(primary: LiveServer) -> dict[str, str]:
    """One name per action, published straight into the zone."""
    base = unique("peer").lower()
    out = {a: f"{a}-{base}.{S.AUTH_ZONE.rstrip('.')}" for a in ("nxdomain", "nodata", "landing")}
    for action, name in out.items():
        r = primary.cli("rpz", "publish", name, "--action", action, "--reason", "peer test")
        assert r.returncode == 0, r.stderr
    # a block through the API with a landing page of its own
    org = unique("kominfo-peer")
    assert primary.cli("org", "create", "--kind", "regulator", "--name", org).returncode == 0
    out["own"] = f"own-{base}.{S.AUTH_ZONE.rstrip('.')}"
    with primary.client(primary.token(org, "official")) as c:
        r = c.post(
            "/api/v1/blocks",
            json={
                "domain": out["own"],
                "action": "landing",
                "landing": f"a:{OWN_LANDING}",
                "legal_basis": "UU ITE Pasal 40",
                "reason": "laman labuh of its own (test)",
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["landing"] == f"a:{OWN_LANDING}"
    return out


def export(primary: LiveServer, fmt: str, path: Path) -> Path:
    r = primary.cli("rpz", "export", "--format", fmt)
    assert r.returncode == 0, r.stderr
    tmp = path.with_suffix(".tmp")
    tmp.write_text(r.stdout)
    tmp.replace(path)  # a new file at once: what a watching resolver should see
    return path


def axfr_text(primary: LiveServer, tmp_path: Path) -> str:
    """The zone as a signed AXFR brings it (dnspython), written back as a master file."""
    isp = unique("isp-axfr")
    assert primary.cli("org", "create", "--kind", "isp", "--name", isp).returncode == 0
    r = primary.cli("tsig", "create", "--org", isp)
    key_name, secret = r.stdout.split()
    keyring = dns.tsigkeyring.from_text({key_name: ("hmac-sha256", secret)})
    t0 = time.monotonic()
    while True:  # the primary learns of a new key within its access refresh
        try:
            zone = dns.zone.from_xfr(
                dns.query.xfr(
                    "127.0.0.1",
                    ZONE,
                    port=primary.dns_port,
                    keyring=keyring,
                    keyname=key_name,
                    keyalgorithm="hmac-sha256",
                    lifetime=30,
                )
            )
            return f"$ORIGIN {ZONE}\n" + zone.to_text()
        except dns.tsig.PeerBadKey:
            if time.monotonic() - t0 > LIMIT:
                raise
            time.sleep(0.2)


def named_checkzone(path: Path) -> subprocess.CompletedProcess[str]:
    need("named-checkzone")
    return subprocess.run(
        [S.binary("named-checkzone") or "named-checkzone", ZONE, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_for(what: str, check: Callable[[], object], logs: tuple[S.Process, ...] = ()) -> None:
    t0 = time.monotonic()
    while True:
        result = check()
        if result:
            return
        if time.monotonic() - t0 > LIMIT:
            tails = "\n".join(f"--- {p.name}:\n{p.log()[-3000:]}" for p in logs)
            raise AssertionError(f"{what}: not within {LIMIT} s (last: {result})\n{tails}")
        time.sleep(0.1)


def ask(p: S.Process, name: str, rdtype: str = "A") -> tuple[str, list[str]]:
    try:
        return S.answer_of(p.query(name, rdtype, timeout=1))
    except Exception as exc:  # a timeout is a state to wait through
        return ("no answer: " + type(exc).__name__, [])


def test_named_checkzone_passes_the_export_and_the_axfr_output(
    primary: LiveServer, names: dict[str, str], tmp_path: Path
) -> None:
    exported = named_checkzone(export(primary, "rpz", tmp_path / "export.zone"))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "OK" in exported.stdout
    text = axfr_text(primary, tmp_path)
    assert f"\n{names['landing']} 60 IN AAAA {LANDING_V6}\n" in text
    (tmp_path / "axfr.zone").write_text(text)
    transferred = named_checkzone(tmp_path / "axfr.zone")
    assert transferred.returncode == 0, transferred.stdout + transferred.stderr


@pytest.mark.parametrize("server", ["bind", "knot", "nsd"])
def test_the_export_loads_as_a_primary_zone(
    server: str, primary: LiveServer, names: dict[str, str], tmp_path: Path
) -> None:
    need({"bind": "named", "knot": "knotd", "nsd": "nsd"}[server])
    path = export(primary, "rpz", tmp_path / "rpz.zone")
    serial = int(path.read_text().split("@ SOA ", 1)[1].split()[2])
    if server == "bind":
        ctx = S.bind_primary(host="127.0.0.1", zone=ZONE, zone_file=path)
    elif server == "knot":
        ctx = S.knot_primary(host="127.0.0.1", zone=ZONE, zone_file=path)
    else:
        ctx = S.nsd({ZONE: path.read_text()}, host="127.0.0.1", ready=ZONE)
    with ctx as p:
        soa = p.query(ZONE, "SOA")
        assert dns.rcode.to_text(soa.rcode()) == "NOERROR", (soa, p.log())
        assert soa.answer[0][0].serial == serial
        got = p.query(f"{names['landing']}.{ZONE}", "AAAA")
        assert [rd.to_text() for rr in got.answer for rd in rr] == [LANDING_V6]
        got = p.query(f"*.{names['nxdomain']}.{ZONE}", "CNAME")
        assert [rd.to_text() for rr in got.answer for rd in rr] == ["."]


def test_knot_resolver_enforces_landing_nxdomain_and_nodata_from_the_export(
    primary: LiveServer, names: dict[str, str], auth: S.Process, tmp_path: Path
) -> None:
    need("kresd")
    path = export(primary, "rpz", tmp_path / "rpz.zone")
    with S.kresd(host="127.0.0.5", rpz_file=path, auth=(auth.host, auth.port)) as kres:
        assert ask(kres, "open." + S.AUTH_ZONE) == ("NOERROR", [S.AUTH_ANSWER])
        for sub in ("", "www."):
            assert ask(kres, sub + names["landing"]) == ("NOERROR", [S.LANDING_ADDRESS])
            assert ask(kres, sub + names["landing"], "AAAA") == ("NOERROR", [LANDING_V6])
            assert ask(kres, sub + names["nxdomain"])[0] == "NXDOMAIN"
            assert ask(kres, sub + names["nodata"]) == ("NOERROR", [])
        assert ask(kres, "www." + names["own"]) == ("NOERROR", [OWN_LANDING])
        assert ask(kres, names["own"], "AAAA") == ("NOERROR", [])  # no IPv6 landing of its own
        assert "not supported" not in kres.log()  # no CNAME it would ignore
        # a new block: the export replaced on disk, kresd reloads it by itself
        late = f"late-{unique('k').lower()}.{S.AUTH_ZONE.rstrip('.')}"
        assert ask(kres, late) == ("NOERROR", [S.AUTH_ANSWER])
        r = primary.cli("rpz", "publish", late, "--action", "nxdomain", "--reason", "late")
        assert r.returncode == 0, r.stderr
        export(primary, "rpz", path)
        wait_for(
            "kresd enforcing the re-exported file",
            lambda: ask(kres, late)[0] == "NXDOMAIN",
            logs=(kres,),
        )


def test_dnsmasq_enforces_the_dnsmasq_export_on_names_and_their_subdomains(
    primary: LiveServer, names: dict[str, str], auth: S.Process, tmp_path: Path
) -> None:
    need("dnsmasq")
    path = export(primary, "dnsmasq", tmp_path / "tangkal.conf")
    with S.dnsmasq(host="127.0.0.6", conf_file=path, auth=(auth.host, auth.port)) as dm:
        assert ask(dm, "open." + S.AUTH_ZONE) == ("NOERROR", [S.AUTH_ANSWER])
        for sub in ("", "deep.www."):
            assert ask(dm, sub + names["landing"]) == ("NOERROR", [S.LANDING_ADDRESS])
            assert ask(dm, sub + names["landing"], "AAAA") == ("NOERROR", [LANDING_V6])
            assert ask(dm, sub + names["nxdomain"])[0] == "NXDOMAIN"
            assert ask(dm, sub + names["nodata"])[0] == "NXDOMAIN"  # as its header says
            assert ask(dm, sub + names["own"]) == ("NOERROR", [OWN_LANDING])
