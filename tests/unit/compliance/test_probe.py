"""The prober against a scripted DNS server on loopback: answers, TCP fallback on
truncation, and garbage, silence or a closed port as unreachable, never an exception."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from tangkal.compliance.compare import expectation_for, judge
from tangkal.compliance.models import ProbeState
from tangkal.compliance.probe import Prober, RateLimit, Target, parse_answer, soa_serial_of

LANDING = "laman-labuh.tangkal.id."


def respond(wire: bytes, tcp: bool) -> bytes | None:
    """The scripted server: what it sends back for a query (None: nothing)."""
    q = dns.message.from_wire(wire)
    name = q.question[0].name.to_text()
    rdtype = q.question[0].rdtype
    r = dns.message.make_response(q)
    label = name.split(".")[0]
    if label == "silent":
        return None
    if label == "garbage":
        return b"\x13\x37 this is not DNS"
    if label == "wrongid":
        r.id = (q.id + 1) % 65536
    elif label == "nx":
        r.set_rcode(dns.rcode.NXDOMAIN)
    elif label == "servfail":
        r.set_rcode(dns.rcode.SERVFAIL)
    elif label == "big" and not tcp:
        r.flags |= dns.flags.TC
        return r.to_wire()
    elif label == "landing":
        r.answer.append(dns.rrset.from_text(name, 60, "IN", "CNAME", LANDING))
        if rdtype == dns.rdatatype.A:
            r.answer.append(dns.rrset.from_text(LANDING, 60, "IN", "A", "203.0.113.99"))
    elif name == "rpz.tangkal." and rdtype == dns.rdatatype.SOA:
        soa = "ns.rpz.tangkal. hostmaster.rpz.tangkal. 42 60 60 3600 5"
        r.answer.append(dns.rrset.from_text(name, 60, "IN", "SOA", soa))
    elif rdtype == dns.rdatatype.A:
        address = "192.0.2.7" if label == "big" else "192.0.2.1"
        r.answer.append(dns.rrset.from_text(name, 60, "IN", "A", address))
    return r.to_wire()


class _Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        out = respond(data, tcp=False)
        if out is not None:
            self.transport.sendto(out, addr)


@asynccontextmanager
async def scripted_server() -> AsyncIterator[Target]:
    loop = asyncio.get_running_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                out = respond(await reader.readexactly(size), tcp=True)
                if out is not None:
                    writer.write(struct.pack("!H", len(out)) + out)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    # The UDP port the kernel gives may be taken over TCP by another process of the run:
    # then take another (bounded; one retry is all it ever needs).
    for _ in range(20):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        try:
            tcp = await asyncio.start_server(handle, "127.0.0.1", port)
            break
        except OSError:
            sock.close()
    else:
        raise RuntimeError("no port free on both UDP and TCP after 20 tries")
    transport, _ = await loop.create_datagram_endpoint(_Udp, sock=sock)
    try:
        yield Target("scripted", "127.0.0.1", port, "isp-test")
    finally:
        transport.close()
        tcp.close()
        await tcp.wait_closed()


def run(body: Callable[[Prober, Target], object]) -> object:
    async def main() -> object:
        async with scripted_server() as target:
            prober = Prober(rate=1000, timeout=0.3)
            return await body(prober, target)  # type: ignore[misc]

    return asyncio.run(main())


def test_answers_are_parsed_and_a_truncated_one_is_asked_again_over_tcp() -> None:
    async def body(prober: Prober, t: Target) -> None:
        ok = await prober.observe(t, "ok.example.")
        assert ok.a.rcode == "NOERROR" and ok.a.addresses == {"192.0.2.1"}
        assert ok.aaaa.rcode == "NOERROR" and not ok.aaaa.addresses
        nx = await prober.observe(t, "nx.example.")
        assert (nx.a.rcode, nx.aaaa.rcode) == ("NXDOMAIN", "NXDOMAIN")
        big = await prober.query(t, "big.example.", dns.rdatatype.A)
        assert big.addresses == {"192.0.2.7"}  # only the TCP answer has it
        landing = await prober.observe(t, "landing.example.")
        assert landing.a.cnames == (LANDING,)
        assert judge(expectation_for("landing", LANDING), landing).state is ProbeState.COMPLIANT
        assert await prober.soa_serial(t, "rpz.tangkal") == 42
        assert await prober.soa_serial(t, "other.zone.") is None

    run(body)


def test_garbage_a_wrong_id_silence_and_servfail_are_unreachable() -> None:
    async def body(prober: Prober, t: Target) -> None:
        for name in (
            "garbage.example.",
            "wrongid.example.",
            "silent.example.",
            "servfail.example.",
        ):
            seen = await prober.observe(t, name)
            assert not seen.usable, name
            for action in ("nxdomain", None):
                assert (
                    judge(expectation_for(action, LANDING), seen).state is ProbeState.UNREACHABLE
                ), name
        silent = await prober.query(t, "silent.example.", dns.rdatatype.A)
        assert silent.error == "timeout"
        garbage = await prober.query(t, "garbage.example.", dns.rdatatype.A)
        assert garbage.error is not None and garbage.error.startswith("garbage")

    run(body)


def test_a_closed_port_is_unreachable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends

    async def main() -> None:
        seen = await Prober(rate=1000, timeout=0.3).observe(
            Target("closed", "127.0.0.1", port, "isp-test"), "ok.example."
        )
        assert not seen.usable and seen.a.error is not None

    asyncio.run(main())


def test_every_resolver_and_name_is_observed() -> None:
    async def body(prober: Prober, t: Target) -> None:
        other = Target("again", t.host, t.port, "isp-test")
        seen = await prober.observe_all([t, other], ["ok.example.", "nx.example.", "ok.example."])
        assert set(seen) == {"scripted", "again"}
        assert all(set(v) == {"ok.example.", "nx.example."} for v in seen.values())

    run(body)


def test_the_rate_limit_spaces_queries_after_a_burst() -> None:
    now = [100.0]
    bucket = RateLimit(rate=10, burst=2, clock=lambda: now[0])
    assert bucket.reserve() == 0 and bucket.reserve() == 0  # the burst
    assert abs(bucket.reserve() - 0.1) < 1e-9  # then one every 1/rate seconds
    assert abs(bucket.reserve() - 0.2) < 1e-9
    now[0] += 1.0  # a second later the debt is paid and the bucket refilled to its burst
    assert bucket.reserve() == 0


def test_parsing_ignores_other_types_and_needs_a_response() -> None:
    q = dns.message.make_query("x.example.", "A")
    assert parse_answer(q, dns.rdatatype.A).error == "garbage: not a response"
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("x.example.", 60, "IN", "TXT", '"hello"'))
    r.answer.append(dns.rrset.from_text("x.example.", 60, "IN", "A", "192.0.2.3"))
    assert parse_answer(r, dns.rdatatype.A).addresses == {"192.0.2.3"}
    assert soa_serial_of(r, "x.example.") is None
