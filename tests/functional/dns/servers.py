"""Real DNS software from Debian packages on loopback, for the RPZ functional tests and the
benchmark: NSD (the authoritative "internet"), Unbound, BIND and PowerDNS Recursor.

Each process gets its own temporary directory, pidfile and ports, runs in the foreground as
a child of the test, and is killed on exit. Nothing here needs the network.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode

from tests.support import LiveServer, free_port, unique

AUTH_ZONE = "contoh-uji.net."
AUTH_ANSWER = "192.0.2.20"  # every name under AUTH_ZONE (wildcard)
LANDING_HOST = "landing.contoh-uji.net."
LANDING_ADDRESS = "192.0.2.99"


def binary(name: str) -> str | None:
    return shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )


@dataclass
class Process:
    name: str
    host: str
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def query(self, name: str, rdtype: str = "A", timeout: float = 2) -> dns.message.Message:
        q = dns.message.make_query(name, rdtype)
        return dns.query.udp(q, self.host, port=self.port, timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@contextmanager
def _run(
    name: str,
    host: str,
    port: int,
    workdir: Path,
    argv: list[str],
    log_path: Path,
    ready: str,
    **extra: str,
) -> Iterator[Process]:
    """Start ``argv``; wait (bounded) until the server answers ``ready`` over UDP."""
    out = open(workdir / f"{name}.out", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    p = Process(name, host, port, workdir, proc, log_path, dict(extra))
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}:\n"
                    + (workdir / f"{name}.out").read_text(errors="replace")
                    + p.log()
                )
            try:
                p.query(ready, "SOA" if ready == AUTH_ZONE else "A", timeout=0.5)
                break
            except (dns.exception.Timeout, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer within 30 s:\n" + p.log())
            time.sleep(0.1)
        yield p
    finally:
        p.stop()
        out.close()


@contextmanager
def _removed(d: Path, remove: bool = True) -> Iterator[None]:
    """``d`` removed once the block is done (a server's folder, after it stopped)."""
    try:
        yield
    finally:
        if remove:
            shutil.rmtree(d, ignore_errors=True)


def tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"tangkal-{prefix}-"))


@contextmanager
def nsd(
    zones: dict[str, str],
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    workdir: Path | None = None,
    ready: str | None = None,
) -> Iterator[Process]:
    """NSD serving ``zones`` ({origin: zone file text}) on host:port."""
    port = port or free_port()
    own = workdir is None
    d = workdir or tempdir("nsd")
    zone_conf = ""
    for origin, text in zones.items():
        fname = origin.rstrip(".") + ".zone"
        (d / fname).write_text(text)
        zone_conf += f"zone:\n  name: {origin}\n  zonefile: {fname}\n"
    conf = d / "nsd.conf"
    conf.write_text(f"""server:
  ip-address: {host}@{port}
  port: {port}
  username: ""
  chroot: ""
  zonesdir: "{d}"
  database: ""
  pidfile: "{d}/nsd.pid"
  xfrdfile: "{d}/xfrd.state"
  xfrdir: "{d}"
  zonelistfile: "{d}/zone.list"
  logfile: "{d}/nsd.log"
  verbosity: 1
  server-count: 1
  tcp-count: 100
  reuseport: no
remote-control:
  control-enable: no
{zone_conf}""")
    with (
        _removed(d, own),
        _run(
            "nsd",
            host,
            port,
            d,
            [binary("nsd") or "nsd", "-d", "-c", str(conf)],
            d / "nsd.log",
            ready or next(iter(zones)),
        ) as p,
    ):
        yield p


def auth_zone_text() -> str:
    return f"""$ORIGIN {AUTH_ZONE}
$TTL 5
@ SOA ns hostmaster 1 60 60 3600 5
@ NS ns
ns A 127.0.0.1
landing A {LANDING_ADDRESS}
* A {AUTH_ANSWER}
"""


def zone_text(origin: str, addresses: Mapping[str, str], *, ttl: int = 5) -> str:
    """A zone for NSD: ``origin`` with an A record for each of ``addresses`` ({name: IPv4},
    names absolute with or without the final dot, inside ``origin``)."""
    origin = origin.rstrip(".") + "."
    lines = [
        f"$ORIGIN {origin}",
        f"$TTL {ttl}",
        "@ SOA ns hostmaster 1 60 60 3600 5",
        f"@ NS ns.{AUTH_ZONE}",
    ]
    for name, address in addresses.items():
        fqdn = name.rstrip(".") + "."
        if fqdn != origin and not fqdn.endswith("." + origin):
            raise ValueError(f"{name} is not inside the zone {origin}")
        lines.append(f"{fqdn} A {address}")
    return "\n".join(lines) + "\n"


def _names(zones: Sequence[str]) -> list[str]:
    """Zone names without the final dot, the auth zone excluded (it is always there)."""
    out = [z.rstrip(".") for z in zones]
    return [z for z in dict.fromkeys(out) if z and z != AUTH_ZONE.rstrip(".")]


@contextmanager
def unbound(
    *,
    host: str,
    rpz_zone: str,
    primary: tuple[str, int],
    auth: tuple[str, int],
    port: int | None = None,
    zonefile: bool = True,
    extra_zones: Sequence[str] = (),
) -> Iterator[Process]:
    """Unbound following the RPZ with ``rpz: primary:`` and ``allow-notify``, no TSIG.

    With ``zonefile`` Unbound also keeps the zone on disk (as an ISP would, to survive a
    restart); it rewrites that whole file after every transfer. ``extra_zones`` are sent to
    ``auth`` as well as :data:`AUTH_ZONE` (stub zones).
    """
    port = port or free_port()
    d = tempdir("unbound")
    server = _unbound_server(
        d,
        host=host,
        port=port,
        auth=auth,
        zones=[AUTH_ZONE.rstrip("."), *_names(extra_zones)],
        verbosity=2,
        modules="respip iterator",
    )
    zone_file = f'  zonefile: "{d}/rpz.zone"' if zonefile else ""
    with _unbound_process(
        d,
        host,
        port,
        f"""{server}rpz:
  name: "{rpz_zone}"
  primary: {primary[0]}@{primary[1]}
  allow-notify: {primary[0]}
{zone_file}
  rpz-log: yes
  rpz-log-name: "tangkal"
""",
    ) as p:
        yield p


def _unbound_server(
    d: Path,
    *,
    host: str,
    port: int,
    auth: tuple[str, int],
    zones: Sequence[str],
    verbosity: int,
    modules: str,
) -> str:
    """The ``server:`` clause both Unbounds share, and a stub zone sent to ``auth`` for
    each of ``zones``."""
    stubs = "".join(
        f"""stub-zone:
  name: "{z}."
  stub-addr: {auth[0]}@{auth[1]}
"""
        for z in zones
    )
    return f"""server:
  interface: {host}@{port}
  port: {port}
  outgoing-interface: {host}
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{d}"
  pidfile: "{d}/unbound.pid"
  logfile: "{d}/unbound.log"
  use-syslog: no
  verbosity: {verbosity}
  log-time-ascii: yes
  do-not-query-localhost: no
  module-config: "{modules}"
  access-control: 127.0.0.0/8 allow
  qname-minimisation: no
  cache-max-ttl: 5
  cache-max-negative-ttl: 1
  local-zone: "test." nodefault
{stubs}"""


@contextmanager
def _unbound_process(d: Path, host: str, port: int, conf_text: str) -> Iterator[Process]:
    """Unbound in the foreground on ``conf_text``, ready once it answers :data:`AUTH_ZONE`;
    its folder removed afterwards."""
    conf = d / "unbound.conf"
    conf.write_text(conf_text)
    with (
        _removed(d, True),
        _run(
            "unbound",
            host,
            port,
            d,
            [binary("unbound") or "unbound", "-d", "-c", str(conf)],
            d / "unbound.log",
            "ready." + AUTH_ZONE,
        ) as p,
    ):
        yield p


@contextmanager
def unbound_unfiltered(
    *, host: str, auth: tuple[str, int], port: int | None = None, extra_zones: Sequence[str] = ()
) -> Iterator[Process]:
    """Unbound without any RPZ: an unfiltered (control) resolver for the same stand-in
    internet as :func:`unbound` (:data:`AUTH_ZONE` and ``extra_zones`` sent to ``auth``)."""
    port = port or free_port()
    d = tempdir("unbound-plain")
    server = _unbound_server(
        d,
        host=host,
        port=port,
        auth=auth,
        zones=[AUTH_ZONE.rstrip("."), *_names(extra_zones)],
        verbosity=1,
        modules="iterator",
    )
    with _unbound_process(d, host, port, server) as p:
        yield p


@contextmanager
def bind(
    *,
    host: str,
    rpz_zone: str,
    primary: tuple[str, int],
    auth: tuple[str, int],
    key_name: str,
    secret: str,
    port: int | None = None,
    extra_zones: Sequence[str] = (),
) -> Iterator[Process]:
    """BIND with ``response-policy`` over a secondary zone transferred with TSIG.

    BIND listens only on addresses configured on an interface, so ``host`` must be one
    (127.0.0.1 on a plain loopback); ports keep instances apart. ``extra_zones`` are
    forwarded to ``auth`` as well as :data:`AUTH_ZONE`.
    """
    port = port or free_port()
    d = tempdir("bind")
    zone = rpz_zone.rstrip(".")
    forwards = "".join(
        f"""zone "{z}" {{
  type forward;
  forward only;
  forwarders {{ {auth[0]} port {auth[1]}; }};
}};
"""
        for z in _names(extra_zones)
    )
    conf = d / "named.conf"
    conf.write_text(f"""options {{
  directory "{d}";
  pid-file "{d}/named.pid";
  listen-on port {port} {{ {host}; }};
  listen-on-v6 {{ none; }};
  query-source address {host};
  transfer-source {host};
  notify-source {host};
  recursion yes;
  allow-query {{ any; }};
  allow-recursion {{ any; }};
  dnssec-validation no;
  notify no;
  max-cache-ttl 5;
  max-ncache-ttl 1;
  max-cache-size 64m;
  # min-update-interval: BIND otherwise applies RPZ updates at most once a minute
  response-policy {{ zone "{zone}" min-update-interval 0; }} qname-wait-recurse no;
}};
key "{key_name}" {{ algorithm hmac-sha256; secret "{secret}"; }};
server {primary[0]} {{ keys {{ "{key_name}"; }}; }};
controls {{ }};
logging {{
  channel main {{ file "{d}/named.log"; severity info; print-time yes; }};
  category default {{ main; }};
  category xfer-in {{ main; }};
  category notify {{ main; }};
  category rpz {{ main; }};
}};
zone "{zone}" {{
  type secondary;
  primaries port {primary[1]} {{ {primary[0]} key "{key_name}"; }};
  file "{d}/rpz.db";
  allow-notify {{ {primary[0]}; }};
  request-ixfr yes;
}};
zone "{AUTH_ZONE.rstrip(".")}" {{
  type forward;
  forward only;
  forwarders {{ {auth[0]} port {auth[1]}; }};
}};
{forwards}""")
    with (
        _removed(d, True),
        _run(
            "bind",
            host,
            port,
            d,
            [binary("named") or "named", "-f", "-n", "1", "-c", str(conf)],
            d / "named.log",
            "ready." + AUTH_ZONE,
        ) as p,
    ):
        yield p


@contextmanager
def pdns_recursor(
    *,
    host: str,
    rpz_zone: str,
    primary: tuple[str, int],
    auth: tuple[str, int],
    key_name: str | None = None,
    secret: str | None = None,
    port: int | None = None,
    extra_zones: Sequence[str] = (),
) -> Iterator[Process]:
    """PowerDNS Recursor (4.x Lua config) with ``rpzPrimary``; it polls the SOA every second
    (it does not take NOTIFY for RPZ) and updates by IXFR. ``extra_zones`` are forwarded to
    ``auth`` as well as :data:`AUTH_ZONE`."""
    port = port or free_port()
    forward_zones = ",".join(
        f"{z}={auth[0]}:{auth[1]}" for z in [AUTH_ZONE.rstrip("."), *_names(extra_zones)]
    )
    d = tempdir("pdns")
    tsig = (
        f', tsigname="{key_name}", tsigalgo="hmac-sha256", tsigsecret="{secret}"'
        if key_name
        else ""
    )
    (d / "rpz.lua").write_text(
        f'rpzPrimary("{primary[0]}:{primary[1]}", "{rpz_zone}", {{refresh=1, '
        f'policyName="tangkal", localAddress="{host}"{tsig}}})\n'
    )
    conf = d / "recursor.conf"
    conf.write_text(f"""local-address={host}
local-port={port}
socket-dir={d}
daemon=no
write-pid=no
lua-config-file={d}/rpz.lua
forward-zones={forward_zones}
dont-query=
query-local-address={host}
max-cache-ttl=5
max-negative-ttl=1
# the packet cache would keep serving answers from before an RPZ update until they expire
disable-packetcache=yes
loglevel=6
disable-syslog=yes
dnssec=off
threads=1
""")
    with (
        _removed(d, True),
        _run(
            "pdns_recursor",
            host,
            port,
            d,
            [binary("pdns_recursor") or "pdns_recursor", f"--config-dir={d}"],
            d / "pdns_recursor.out",
            "ready." + AUTH_ZONE,
        ) as p,
    ):
        yield p


def answer_of(msg: dns.message.Message) -> tuple[str, list[str]]:
    """(rcode, [rdata texts]) of a response, for assertions."""
    return dns.rcode.to_text(msg.rcode()), [rd.to_text() for rr in msg.answer for rd in rr]


@contextmanager
def kresd(
    *, host: str, rpz_file: Path, auth: tuple[str, int], port: int | None = None
) -> Iterator[Process]:
    """Knot Resolver (kresd 5.x) applying ``policy.rpz`` to the zone in ``rpz_file``.

    kresd reads an RPZ from a file only (no zone transfer); with ``watch`` it reloads the
    file when it is replaced, which is how an ISP following tangkal's export would run it.
    Names under :data:`AUTH_ZONE` are sent to ``auth``.
    """
    port = port or free_port()
    d = tempdir("kresd")
    conf = d / "kresd.conf"
    conf.write_text(f"""net.listen('{host}', {port}, {{ kind = 'dns' }})
cache.size = 10 * MB
log_level('info')
-- the RPZ first: NXDOMAIN for CNAME ., NODATA for CNAME *., A/AAAA as local data
policy.add(policy.rpz(policy.DENY, '{rpz_file}', true))
policy.add(policy.suffix(policy.STUB('{auth[0]}@{auth[1]}'), {{ todname('{AUTH_ZONE}') }}))
""")
    log_path = d / "kresd.out"
    with (
        _removed(d, True),
        _run(
            "kresd",
            host,
            port,
            d,
            [binary("kresd") or "kresd", "-n", "-c", str(conf), str(d)],
            log_path,
            "ready." + AUTH_ZONE,
        ) as p,
    ):
        yield p


@contextmanager
def dnsmasq(
    *, host: str, conf_file: Path, auth: tuple[str, int], port: int | None = None
) -> Iterator[Process]:
    """dnsmasq reading tangkal's ``dnsmasq`` export (``conf-file=``); :data:`AUTH_ZONE`
    is forwarded to ``auth``, nothing else goes anywhere."""
    port = port or free_port()
    d = tempdir("dnsmasq")
    conf = d / "dnsmasq.conf"
    conf.write_text(f"""port={port}
listen-address={host}
bind-interfaces
no-resolv
no-hosts
no-daemon
log-queries
log-facility={d}/dnsmasq.log
pid-file={d}/dnsmasq.pid
cache-size=0
server=/{AUTH_ZONE.rstrip(".")}/{auth[0]}#{auth[1]}
conf-file={conf_file}
""")
    with (
        _removed(d, True),
        _run(
            "dnsmasq",
            host,
            port,
            d,
            [binary("dnsmasq") or "dnsmasq", "-C", str(conf), "-k"],
            d / "dnsmasq.log",
            "ready." + AUTH_ZONE,
        ) as p,
    ):
        yield p


@contextmanager
def bind_primary(
    *, host: str, zone: str, zone_file: Path, port: int | None = None
) -> Iterator[Process]:
    """BIND serving ``zone_file`` as a primary zone (``type primary``), not recursing: it
    refuses to start serving a zone it cannot load, which is what this checks."""
    port = port or free_port()
    d = tempdir("bind-primary")
    name = zone.rstrip(".")
    conf = d / "named.conf"
    conf.write_text(f"""options {{
  directory "{d}";
  pid-file "{d}/named.pid";
  listen-on port {port} {{ {host}; }};
  listen-on-v6 {{ none; }};
  recursion no;
  allow-query {{ any; }};
  notify no;
}};
controls {{ }};
logging {{
  channel main {{ file "{d}/named.log"; severity info; print-time yes; }};
  category default {{ main; }};
}};
zone "{name}" {{
  type primary;
  file "{zone_file}";
}};
""")
    with (
        _removed(d, True),
        _run(
            "bind-primary",
            host,
            port,
            d,
            [binary("named") or "named", "-f", "-n", "1", "-c", str(conf)],
            d / "named.log",
            zone,
        ) as p,
    ):
        yield p


@contextmanager
def knot_primary(
    *, host: str, zone: str, zone_file: Path, port: int | None = None
) -> Iterator[Process]:
    """Knot DNS (knotd) serving ``zone_file`` as a primary zone."""
    port = port or free_port()
    d = tempdir("knotd")
    conf = d / "knot.conf"
    conf.write_text(f"""server:
    listen: {host}@{port}
    rundir: "{d}"
database:
    storage: "{d}"
log:
  - target: "{d}/knot.log"
    any: info
template:
  - id: default
    storage: "{d}"
    zonefile-load: whole
    journal-content: none
zone:
  - domain: {zone}
    file: "{zone_file}"
""")
    with (
        _removed(d, True),
        _run(
            "knotd",
            host,
            port,
            d,
            [binary("knotd") or "knotd", "-c", str(conf)],
            d / "knot.log",
            zone,
        ) as p,
    ):
        yield p


def need(binary_name: str, what: str = "this test") -> None:
    """Skip, loudly, when a server the test drives is not installed (a Debian package)."""
    import pytest

    if binary(binary_name) is None:
        pytest.skip(
            f"!!! {binary_name} is not installed (Debian package needed): {what} did NOT run !!!"
        )


@contextmanager
def stand_in_internet() -> Iterator[Process]:
    """NSD serving :data:`AUTH_ZONE`, the internet the resolvers under test recurse into
    (not on 127.0.0.1: BIND signs everything it sends to the primary's address)."""
    need("nsd")
    with nsd({AUTH_ZONE: auth_zone_text()}, host="127.0.0.9") as p:
        yield p


def wait_for(
    what: str, check: Any, limit: float, *, logs: tuple[Any, ...] = (), every: float = 0.05
) -> float:
    """Poll ``check`` until it is true (bounded by ``limit`` seconds) and return how long
    that took; on failure, the tail of each process's log (a server, a primary)."""
    t0 = time.monotonic()
    while True:
        result = check()
        if result:
            return time.monotonic() - t0
        if time.monotonic() - t0 > limit:
            tails = "\n".join(f"--- {p.__class__.__name__} log:\n{p.log()[-4000:]}" for p in logs)
            raise AssertionError(f"{what}: not within {limit} s (last: {result})\n{tails}")
        time.sleep(every)


def regulator_official(primary: LiveServer) -> str:
    """A token of an official of a new regulator on the ``tangkal serve`` under test."""
    org = unique("kominfo")
    assert primary.cli("org", "create", "--kind", "regulator", "--name", org).returncode == 0
    return primary.token(org, "official")


def rpz_serial(primary: LiveServer, token: str) -> int:
    """The zone's current SOA serial as the primary's API says it."""
    with primary.client(token) as c:
        return int(c.get("/api/v1/rpz/status").json()["serial"])
