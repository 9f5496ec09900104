"""Random and mutated DNS packets at a running RPZ primary, over UDP and TCP.

The generator starts from well-formed requests the primary handles (SOA, NS, AXFR, IXFR,
NOTIFY, queries for other names and classes, EDNS, a TSIG record signed with a key the
server does not know) and mutates them the ways a parser is usually broken: bit flips,
overwritten bytes, truncation, trailing garbage, header counts set at random, label
lengths past the end, compression pointers that loop or point forward, and plain random
bytes. Over TCP it also sends wrong length prefixes, several messages in one segment, and
closes without reading the answers.

The server must stay up and answer SOA throughout: every ``soa_every`` packets a clean SOA
query over UDP must be answered (three tries of one second each). Everything is seeded,
so a failure can be replayed with the same ``seed``.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.message
import dns.name
import dns.opcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

ZONE = "rpz.tangkal."


@dataclass
class Result:
    """What a fuzz run found; ``crashes`` is filled by the caller (it owns the process)."""

    packets: int = 0
    udp: int = 0
    tcp: int = 0
    tcp_connections: int = 0
    soa_checks: int = 0
    soa_failures: int = 0
    seconds: float = 0.0
    crashes: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.packets / self.seconds if self.seconds else 0.0


def seeds(zone: str = ZONE) -> list[bytes]:
    """Well-formed requests to mutate: what the primary answers and what it must refuse."""
    ring = dns.tsigkeyring.from_text({"fuzz-key.": "c2VjcmV0LW5vYm9keS1oYXMtaXQtMzItYnl0ZXMhIQ=="})
    out: list[bytes] = []
    for rdtype in ("SOA", "NS", "AXFR", "A", "TXT", "ANY", "CNAME"):
        out.append(dns.message.make_query(zone, rdtype).to_wire())
    ixfr = dns.message.make_query(zone, "IXFR")
    soa = dns.rrset.from_text(zone, 0, "IN", "SOA", ". . 1 0 0 0 0")
    ixfr.authority.append(soa)
    out.append(ixfr.to_wire())
    out.append(dns.message.make_query("a.b." + zone, "A").to_wire())
    out.append(dns.message.make_query("example.com.", "SOA").to_wire())
    out.append(dns.message.make_query(zone, "SOA", use_edns=0, payload=4096).to_wire())
    signed = dns.message.make_query(zone, "AXFR")
    signed.use_tsig(ring, keyname="fuzz-key.", algorithm=dns.tsig.HMAC_SHA256)
    out.append(signed.to_wire())
    notify = dns.message.make_query(zone, "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    out.append(notify.to_wire())
    chaos = dns.message.make_query("version.bind.", "TXT", rdclass="CH")
    out.append(chaos.to_wire())
    return out


def mutate(rng: random.Random, base: bytes) -> bytes:
    """One mutation (sometimes two) of ``base``, or random bytes."""
    data = bytearray(base)
    for _ in range(rng.choice((1, 1, 1, 2))):
        kind = rng.randrange(11)
        if kind == 0 and data:  # flip a few bits
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and data:  # overwrite bytes
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 2:  # truncate
            data = data[: rng.randrange(len(data) + 1)]
        elif kind == 3:  # trailing garbage
            data += rng.randbytes(rng.randint(1, 64))
        elif kind == 4 and len(data) >= 12:  # header counts at random
            i = 4 + 2 * rng.randrange(4)
            data[i : i + 2] = struct.pack(">H", rng.choice((0, 1, 2, 255, 0xFFFF)))
        elif kind == 5 and len(data) > 13:  # a label length past the end
            data[12] = rng.choice((63, 64, 127, 192, 255))
        elif kind == 6 and len(data) > 14:  # a compression pointer looping on itself
            i = rng.randrange(12, len(data) - 1)
            data[i : i + 2] = struct.pack(">H", 0xC000 | i)
        elif kind == 7 and len(data) > 14:  # a pointer forward or out of the message
            i = rng.randrange(12, len(data) - 1)
            data[i : i + 2] = struct.pack(">H", 0xC000 | rng.randrange(i, 0x3FFF))
        elif kind == 8 and len(data) >= 4:  # flags and opcode at random (QR clear or set)
            data[2] = rng.randrange(256)
            data[3] = rng.randrange(256)
        elif kind == 9 and len(data) > 16:  # duplicate a slice in place
            a = rng.randrange(12, len(data))
            b = rng.randrange(a, len(data))
            data[b:b] = data[a:b]
        else:  # random bytes, from none to a large message
            data = bytearray(rng.randbytes(rng.choice((0, 1, 11, 12, 13, 40, 512, 4000))))
    return bytes(data)


def soa_ok(host: str, port: int, zone: str = ZONE) -> bool:
    """A clean SOA query over UDP answered with the zone's SOA (three tries of 1 s)."""
    q = dns.message.make_query(zone, "SOA")
    wire = q.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        for _ in range(3):
            try:
                s.sendto(wire, (host, port))
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline:
                    data = s.recv(65535)
                    if len(data) >= 2 and data[:2] == wire[:2]:
                        r = dns.message.from_wire(data)
                        return bool(r.answer) and r.answer[0].rdtype == dns.rdatatype.SOA
            except (TimeoutError, OSError, dns.exception.DNSException):
                continue
    return False


def _tcp_batch(rng: random.Random, host: str, port: int, packets: list[bytes]) -> None:
    """One TCP connection carrying ``packets``: length-prefixed, sometimes with a wrong
    prefix, all in one write or one by one; then the answers read or not."""
    with socket.create_connection((host, port), timeout=2) as s:
        parts = []
        for p in packets:
            n = len(p)
            if rng.random() < 0.1:
                n = rng.choice((0, 1, max(0, n - 1), n + 1, 0xFFFF))
            parts.append(struct.pack(">H", n) + p)
        if rng.random() < 0.5:
            s.sendall(b"".join(parts))
        else:
            for part in parts:
                s.sendall(part)
        if rng.random() < 0.5:  # read what comes back, bounded
            s.shutdown(socket.SHUT_WR)
            s.settimeout(1.0)
            with contextlib.suppress(OSError):
                for _ in range(1000):
                    if not s.recv(65536):
                        break


def run(
    host: str,
    port: int,
    packets: int,
    *,
    seed: int = 1,
    soa_every: int = 500,
    tcp_share: float = 0.03,
    alive: Callable[[], bool] = lambda: True,
    zone: str = ZONE,
) -> Result:
    """Send ``packets`` fuzzed packets, checking SOA every ``soa_every`` and that
    ``alive()`` holds (the server process is up); stops early only when the server is
    gone. Each send is, with probability ``tcp_share``, a TCP connection carrying 1 to 16
    packets, otherwise one UDP datagram (0.03: about a fifth of the packets go by TCP)."""
    rng = random.Random(seed)
    bases = seeds(zone)
    res = Result()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setblocking(False)
    t0 = time.monotonic()
    next_check = soa_every
    try:
        while res.packets < packets:
            if rng.random() < tcp_share:
                n = min(rng.randint(1, 16), packets - res.packets)
                batch = [mutate(rng, rng.choice(bases)) for _ in range(n)]
                try:
                    _tcp_batch(rng, host, port, batch)
                except OSError as exc:  # refused or reset: counted as sent, noted
                    if len(res.failures) < 20:
                        res.failures.append(f"tcp: {exc!r}")
                res.tcp += n
                res.tcp_connections += 1
                res.packets += n
            else:
                data = mutate(rng, rng.choice(bases))[:65507]
                with contextlib.suppress(BlockingIOError, OSError):
                    udp.sendto(data, (host, port))
                res.udp += 1
                res.packets += 1
                if res.udp % 32 == 0:  # drain the answers, so our buffer never fills
                    with contextlib.suppress(BlockingIOError, OSError):
                        for _ in range(1000):
                            udp.recv(65535)
            if res.packets >= next_check or res.packets >= packets:
                next_check += soa_every
                res.soa_checks += 1
                if not soa_ok(host, port, zone):
                    res.soa_failures += 1
                    res.failures.append(f"no SOA answer after {res.packets} packets")
                if not alive():
                    res.failures.append(f"server gone after {res.packets} packets")
                    break
    finally:
        udp.close()
        res.seconds = time.monotonic() - t0
    return res
