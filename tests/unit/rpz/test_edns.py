"""EDNS(0) and the question's case at the wire level (RFC 6891, RFC 4343 / "0x20").

The primary's answers are built from bytes; these tests read them back with dnspython, a
general DNS library, so what is checked is what any resolver would see.
"""

from __future__ import annotations

import base64
import ipaddress
import struct
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring

from tangkal.db.session import Database
from tangkal.rpz import edns, wire
from tangkal.rpz.server import Access, RpzPrimary, SubscriberRef
from tangkal.rpz.values import RpzAction
from tangkal.rpz.zone import ZoneStore, name_to_wire
from tangkal.settings import Settings

ZONE = "rpz.tangkal."
SECRET = base64.b64encode(b"k" * 32).decode()


def primary(db: Database, tmp_path: Path, *, zone: str = ZONE, names: int = 3) -> RpzPrimary:
    """A primary that is not started: answers come from :meth:`RpzPrimary.answer`, no
    sockets. 127.0.0.1 may transfer unsigned; the key ``k.<zone>`` is known."""
    p = RpzPrimary(db, Settings(database_url=db.url, data_dir=tmp_path, rpz_zone=zone),
                   "127.0.0.1", 0)  # fmt: skip
    p.store = ZoneStore.build(
        p.config,
        sorted((f"n{i:06d}.contoh.id", RpzAction.NXDOMAIN) for i in range(names)),
        serial=7,
        seq=1,
    )
    key = wire.TsigKey(name_to_wire(keyname(zone)), base64.b64decode(SECRET), "k", "org")
    sub = SubscriberRef("s1", "org", ("127.0.0.1", 9), (ipaddress.ip_network("127.0.0.1/32"),))
    p.access = Access({key.name: key}, (sub,))
    return p


def keyname(zone: str) -> str:
    return "k.key."


def ask(p: RpzPrimary, q: dns.message.Message | bytes, *, tcp: bool = False) -> list[bytes]:
    data = q if isinstance(q, bytes) else q.to_wire(max_size=65535)
    return list(p.answer(data, "127.0.0.1", tcp=tcp, peer_port=5300))


def one(p: RpzPrimary, q: dns.message.Message | bytes, **kw: object) -> dns.message.Message:
    (reply,) = ask(p, q, tcp=bool(kw.pop("tcp", False)))
    return dns.message.from_wire(reply, **kw)  # type: ignore[arg-type]


def with_opt(q: dns.message.Message, rdata: bytes, *, owner: bytes = b"\x00") -> bytes:
    """``q`` on the wire with one more OPT record (given rdata) in the additional section."""
    raw = bytearray(q.to_wire())
    struct.pack_into(">H", raw, 10, struct.unpack_from(">H", raw, 10)[0] + 1)
    return bytes(raw) + owner + struct.pack(">HHIH", 41, 1232, 0, len(rdata)) + rdata


def test_an_edns_query_gets_our_opt_and_one_without_gets_none(db: Database, tmp_path: Path) -> None:
    p = primary(db, tmp_path)
    r = one(p, dns.message.make_query(ZONE, "SOA", use_edns=0, payload=4096))
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    assert r.edns == 0 and r.payload == edns.UDP_PAYLOAD
    assert not r.ednsflags & dns.flags.DO
    plain = one(p, dns.message.make_query(ZONE, "SOA", use_edns=False))
    assert plain.edns == -1 and plain.answer
    assert len(ask(p, dns.message.make_query(ZONE, "SOA", use_edns=False))[0]) + 11 == len(
        ask(p, dns.message.make_query(ZONE, "SOA", use_edns=0))[0]
    )


def test_the_do_bit_is_copied_and_refusals_carry_opt_too(db: Database, tmp_path: Path) -> None:
    p = primary(db, tmp_path)
    r = one(p, dns.message.make_query(ZONE, "SOA", use_edns=0, want_dnssec=True))
    assert r.ednsflags & dns.flags.DO
    refused = one(p, dns.message.make_query("example.org.", "SOA", use_edns=0))
    assert refused.rcode() == dns.rcode.REFUSED and refused.edns == 0


def test_an_edns_version_above_zero_is_badvers_with_opt_version_zero(
    db: Database, tmp_path: Path
) -> None:
    p = primary(db, tmp_path)
    r = one(p, dns.message.make_query(ZONE, "SOA", use_edns=1))
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0 and not r.answer
    assert r.flags & 0xF == 0  # the lower bits of 16 in the header, the upper in the OPT


def test_two_opt_records_and_malformed_ones_are_formerr_not_a_crash(
    db: Database, tmp_path: Path
) -> None:
    p = primary(db, tmp_path)
    q = dns.message.make_query(ZONE, "SOA", use_edns=0)
    cases = {
        "two OPT": with_opt(q, b""),
        "option longer than the record": with_opt(
            dns.message.make_query(ZONE, "SOA", use_edns=False), b"\x00\x0a\x00\x08abc"
        ),
        "half an option header": with_opt(
            dns.message.make_query(ZONE, "SOA", use_edns=False), b"\x00\x0a"
        ),
        "owner not the root": with_opt(
            dns.message.make_query(ZONE, "SOA", use_edns=False), b"", owner=b"\x01a\x00"
        ),
    }
    for what, data in cases.items():
        (reply,) = ask(p, data)
        r = dns.message.from_wire(reply)
        assert r.rcode() == dns.rcode.FORMERR, what
        assert r.id == q.id or what != "two OPT"
    # an OPT in the authority section
    raw = bytearray(dns.message.make_query(ZONE, "SOA", use_edns=False).to_wire())
    struct.pack_into(">H", raw, 8, 1)
    (reply,) = ask(p, bytes(raw) + b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0))
    assert dns.message.from_wire(reply).rcode() == dns.rcode.FORMERR
    # a well-formed option we do not know (a cookie) is ignored
    cookie = struct.pack(">HH", 10, 8) + b"12345678"
    r = one(p, with_opt(dns.message.make_query(ZONE, "SOA", use_edns=False), cookie))
    assert r.rcode() == dns.rcode.NOERROR and r.edns == 0


def test_the_question_comes_back_in_the_case_it_was_asked(db: Database, tmp_path: Path) -> None:
    p = primary(db, tmp_path)
    for use_edns in (False, 0):
        q = dns.message.make_query("rPz.TaNgKaL.", "SOA", use_edns=use_edns)
        sent = q.to_wire()
        (reply,) = ask(p, sent)
        end = 12 + len(b"\x03rPz\x06TaNgKaL\x00") + 4
        assert reply[12:end] == sent[12:end]  # byte for byte, case included
        assert dns.message.from_wire(reply).answer  # compared case-insensitively
    for junk in (b"\x01X", b"\x02Zz"):  # FORMERR and REFUSED echo the case too
        raw = dns.message.make_query("MiXeD.example.", "SOA", use_edns=False).to_wire()
        (reply,) = ask(p, raw + junk)
        assert b"\x05MiXeD\x07example\x00" in reply


def test_udp_answers_fit_the_requesters_payload_size_else_tc(db: Database, tmp_path: Path) -> None:
    """A signed SOA answer for a long zone and key name is ~525 octets: more than 512,
    less than 1232 (and without the SOA, under 512). It comes whole to a requester that
    can take 1232 (or more: we send at most our own 1232), truncated (TC, question and
    OPT, signed) to one that said 512 or sent no OPT; over TCP it is always whole."""
    zone = ".".join(["a" * 60, "b" * 60, "c" * 60, "d" * 50]) + ".rpz."
    p = primary(db, tmp_path, zone=zone)
    kname = dns.name.from_text(".".join(["w" * 10, "x" * 60, "y" * 60]) + ".key.")
    key = wire.TsigKey(kname.to_wire(), base64.b64decode(SECRET), "k2", "org")
    p.access = Access({**p.access.keys, key.name: key}, p.access.subscribers)
    keyring = dns.tsigkeyring.from_text({kname.to_text(): SECRET})

    def signed(payload: int | None, *, tcp: bool = False) -> tuple[dns.message.Message, int]:
        q = dns.message.make_query(
            zone, "SOA", use_edns=0 if payload else False, payload=payload or 512
        )
        q.use_tsig(keyring, kname, algorithm="hmac-sha256")
        (reply,) = ask(p, q, tcp=tcp)
        return dns.message.from_wire(reply, keyring=keyring, request_mac=q.mac), len(reply)

    whole, size = signed(1232)
    assert 512 < size <= 1232 and whole.answer and not whole.flags & dns.flags.TC
    assert signed(4096)[0].answer
    for payload in (512, 100, None):  # under 512 counts as 512 (RFC 6891 6.2.5)
        cut, size = signed(payload)
        assert cut.flags & dns.flags.TC and not cut.answer and size <= 512, payload
        assert cut.had_tsig and (cut.edns == 0) == (payload is not None)
    assert signed(None, tcp=True)[0].answer


def test_every_message_of_a_signed_edns_transfer_has_opt_before_the_tsig(
    db: Database, tmp_path: Path
) -> None:
    p = primary(db, tmp_path, names=20_000)  # several ~64 KB messages
    keyring = dns.tsigkeyring.from_text({keyname(ZONE): SECRET})
    q = dns.message.make_query(ZONE, "AXFR", use_edns=0)
    q.use_tsig(keyring, keyname(ZONE), algorithm="hmac-sha256")
    replies = ask(p, q, tcp=True)
    assert len(replies) > 2
    ctx = None
    records = 0
    for i, reply in enumerate(replies):
        r = dns.message.from_wire(  # checks each MAC, chained on the one before
            reply,
            keyring=keyring,
            request_mac=q.mac,
            xfr=True,
            origin=dns.name.from_text(ZONE),
            tsig_ctx=ctx,
            multi=True,
        )
        ctx = r.tsig_ctx
        assert r.edns == 0 and r.had_tsig, i
        records += sum(len(rrset) for rrset in r.answer)
        # OPT is the second-last record; the TSIG the last
        (arcount,) = struct.unpack_from(">H", reply, 10)
        assert arcount == 2
        tsig_at = reply.rfind(name_to_wire(keyname(ZONE)))
        assert reply[tsig_at - 11 : tsig_at] == edns.OPT
    assert records == 2 * 20_000 + 3
    unsigned = ask(p, dns.message.make_query(ZONE, "AXFR", use_edns=False), tcp=True)
    assert all(dns.message.from_wire(m, xfr=True).edns == -1 for m in unsigned)
    assert sum(len(m) for m in replies) - sum(len(m) for m in unsigned) > 11 * len(replies)
