"""DNS messages on the wire: a defensive query parser, response builders and TSIG.

The primary answers a handful of message shapes (SOA, AXFR, IXFR, NOTIFY replies), so it
parses queries itself rather than through a general library: every length and pointer is
bounds-checked, compression loops are cut off, and anything unexpected becomes a
:class:`FormError`, which the server turns into FORMERR or silence, never a crash.

TSIG (RFC 8945, hmac-sha256) is implemented here too, because responses are built from
pre-encoded bytes: the request MAC is checked over the request as received, and every
response message of a transfer is signed, each chaining on the previous MAC.

EDNS (``tangkal.rpz.edns``): a query's OPT is read here, and every answer to a query that
had one carries our OPT after its records and before the TSIG. The question goes back as
the client wrote it, case and all (resolvers that randomise the case, "0x20", check it);
names are compared in lower case (RFC 4343).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from dataclasses import dataclass

from tangkal.rpz import edns

OP_QUERY = 0
OP_NOTIFY = 4

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NOTIMP = 4
RCODE_REFUSED = 5
RCODE_NOTAUTH = 9

TYPE_SOA = 6
TYPE_NS = 2
TYPE_OPT = edns.TYPE_OPT
TYPE_TSIG = 250
TYPE_IXFR = 251
TYPE_AXFR = 252
CLASS_IN = 1
CLASS_ANY = 255

TSIG_BADSIG = 16
TSIG_BADKEY = 17
TSIG_BADTIME = 18

HMAC_SHA256 = b"\x0bhmac-sha256\x00"
FUDGE = 300
MAX_MESSAGE = 65535


class FormError(Exception):
    """The bytes are not a DNS message we can parse."""


def read_name(msg: bytes, pos: int) -> tuple[bytes, int]:
    """Read a possibly compressed name at ``pos``.

    Returns the name in canonical (lower-case, uncompressed) wire form and the position
    after the name *in place*. Pointers must point backwards, which also rules out loops.
    """
    name, end = read_name_as_sent(msg, pos)
    return name.lower(), end


def read_name_as_sent(msg: bytes, pos: int) -> tuple[bytes, int]:
    """:func:`read_name` keeping the case of every label (for the question we echo)."""
    out = bytearray()
    end_pos = -1
    limit = len(msg)
    while True:
        if pos >= limit:
            raise FormError("name runs past the end of the message")
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= limit:
                raise FormError("truncated compression pointer")
            target = ((n & 0x3F) << 8) | msg[pos + 1]
            if end_pos < 0:
                end_pos = pos + 2
            if target >= pos:
                raise FormError("compression pointer does not point backwards")
            pos = target
            continue
        if n & 0xC0:
            raise FormError("unknown label type")
        if n == 0:
            out.append(0)
            if len(out) > 255:
                raise FormError("name longer than 255 octets")
            return bytes(out), (end_pos if end_pos >= 0 else pos + 1)
        if pos + 1 + n > limit:
            raise FormError("label runs past the end of the message")
        out.append(n)
        out += msg[pos + 1 : pos + 1 + n]
        if len(out) > 255:
            raise FormError("name longer than 255 octets")
        pos += 1 + n


def wire_to_text(wire: bytes) -> str:
    labels = []
    pos = 0
    while wire[pos]:
        n = wire[pos]
        labels.append(wire[pos + 1 : pos + 1 + n].decode("ascii", "backslashreplace"))
        pos += 1 + n
    return ".".join(labels) + "."


@dataclass(frozen=True, slots=True)
class Tsig:
    """A TSIG record found at the end of a message."""

    key_name: bytes  # canonical wire
    algorithm: bytes  # canonical wire
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes
    start: int  # offset of the TSIG RR in the message


@dataclass(frozen=True, slots=True)
class Query:
    id: int
    flags: int
    opcode: int
    qname: bytes  # canonical wire
    qtype: int
    qclass: int
    question: bytes  # the question section as the client sent it (name uncompressed, case kept)
    ixfr_serial: int | None
    tsig: Tsig | None
    raw: bytes
    edns: edns.Edns | None = None  # the query's OPT, when it had one

    @property
    def opt(self) -> bytes:
        """The OPT record every answer to this query ends with (before a TSIG); empty when
        the query had none (RFC 6891 7: no OPT in answers to queries without)."""
        return self.edns.answer_opt if self.edns is not None else b""

    @property
    def udp_limit(self) -> int:
        """The largest answer this query may get over UDP."""
        return self.edns.udp_limit if self.edns is not None else edns.PLAIN_UDP

    @property
    def rd(self) -> bool:
        return bool(self.flags & 0x0100)


def _skip_rr(msg: bytes, pos: int) -> tuple[bytes, int, int, int, int, int]:
    """(owner, type, class, ttl, rdata start, position after) of the RR at ``pos``."""
    owner, pos = read_name(msg, pos)
    if pos + 10 > len(msg):
        raise FormError("truncated resource record")
    rtype, rclass, ttl, rdlen = struct.unpack_from(">HHIH", msg, pos)
    pos += 10
    if pos + rdlen > len(msg):
        raise FormError("resource record data runs past the end")
    return owner, rtype, rclass, ttl, pos, pos + rdlen


def parse_query(msg: bytes) -> Query:
    """Parse a query; raises FormError for anything malformed (header must be present)."""
    if len(msg) < 12:
        raise FormError("shorter than a DNS header")
    qid, flags, qd, an, ns, ar = struct.unpack_from(">HHHHHH", msg, 0)
    opcode = (flags >> 11) & 0xF
    if qd != 1:
        raise FormError("exactly one question is required")
    sent, pos = read_name_as_sent(msg, 12)
    qname = sent.lower()
    if pos + 4 > len(msg):
        raise FormError("truncated question")
    qtype, qclass = struct.unpack_from(">HH", msg, pos)
    question = sent + msg[pos : pos + 4]
    pos += 4
    ixfr_serial: int | None = None
    tsig: Tsig | None = None
    opt: edns.Edns | None = None
    total = an + ns + ar
    if total > 64:
        raise FormError("too many records in a query")
    for index in range(total):
        start = pos
        owner, rtype, rclass, ttl, rdata, pos = _skip_rr(msg, pos)
        section_ns = an <= index < an + ns
        if rtype == edns.TYPE_OPT:
            if index < an + ns:
                raise FormError("OPT outside the additional section")
            if opt is not None:
                raise FormError("more than one OPT record")
            try:
                opt = edns.parse_opt(msg, owner, rclass, ttl, rdata, pos)
            except edns.OptError as exc:
                raise FormError(str(exc)) from None
            continue
        if rtype == TYPE_SOA and section_ns and qtype == TYPE_IXFR:
            _mname, p = read_name(msg, rdata)
            _rname, p = read_name(msg, p)
            if p + 20 > pos:
                raise FormError("truncated SOA in IXFR query")
            ixfr_serial = struct.unpack_from(">I", msg, p)[0]
        elif rtype == TYPE_TSIG:
            if index != total - 1:
                raise FormError("TSIG must be the last record")
            if rclass != CLASS_ANY:
                raise FormError("TSIG class must be ANY")
            tsig = _parse_tsig(msg, owner, rdata, pos, start)
    if pos != len(msg):
        raise FormError("trailing bytes after the last record")
    return Query(qid, flags, opcode, qname, qtype, qclass, question, ixfr_serial, tsig, msg, opt)


def _parse_tsig(msg: bytes, owner: bytes, rdata: int, end: int, start: int) -> Tsig:
    alg, p = read_name(msg, rdata)
    if p + 10 > end:
        raise FormError("truncated TSIG")
    t_hi, t_lo, fudge, mac_len = struct.unpack_from(">HIHH", msg, p)
    p += 10
    if p + mac_len + 6 > end:
        raise FormError("truncated TSIG MAC")
    mac = msg[p : p + mac_len]
    p += mac_len
    orig_id, error, other_len = struct.unpack_from(">HHH", msg, p)
    p += 6
    if p + other_len != end:
        raise FormError("TSIG other data length is wrong")
    return Tsig(owner, alg, (t_hi << 32) | t_lo, fudge, mac, orig_id, error, msg[p:end], start)


# -- TSIG -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TsigKey:
    name: bytes  # canonical wire
    secret: bytes
    label: str = ""  # who holds it (for logs and lag bookkeeping)
    org_id: str = ""


def _tsig_variables(
    key_name: bytes, algorithm: bytes, time_signed: int, fudge: int, error: int, other: bytes
) -> bytes:
    return (
        key_name
        + struct.pack(">HI", CLASS_ANY, 0)
        + algorithm
        + struct.pack(
            ">HIHHH", time_signed >> 32, time_signed & 0xFFFFFFFF, fudge, error, len(other)
        )
        + other
    )


def verify_request(query: Query, key: TsigKey, now: float | None = None) -> int:
    """0 if the request's MAC and time are good, else the TSIG error code."""
    tsig = query.tsig
    assert tsig is not None
    if tsig.algorithm != HMAC_SHA256:
        return TSIG_BADKEY
    raw = query.raw
    ar = struct.unpack_from(">H", raw, 10)[0]
    unsigned = (
        struct.pack(">H", tsig.original_id)
        + raw[2:10]
        + struct.pack(">H", ar - 1)
        + raw[12 : tsig.start]
    )
    digest = hmac.new(
        key.secret,
        unsigned
        + _tsig_variables(
            tsig.key_name, tsig.algorithm, tsig.time_signed, tsig.fudge, tsig.error, tsig.other
        ),
        hashlib.sha256,
    ).digest()
    if len(tsig.mac) != len(digest) or not hmac.compare_digest(digest, tsig.mac):
        return TSIG_BADSIG
    now = time.time() if now is None else now
    if abs(now - tsig.time_signed) > tsig.fudge:
        return TSIG_BADTIME
    return 0


def tsig_rr(
    key_name: bytes,
    time_signed: int,
    mac: bytes,
    original_id: int,
    error: int = 0,
    other: bytes = b"",
) -> bytes:
    rdata = (
        HMAC_SHA256
        + struct.pack(">HIHH", time_signed >> 32, time_signed & 0xFFFFFFFF, FUDGE, len(mac))
        + mac
        + struct.pack(">HHH", original_id, error, len(other))
        + other
    )
    return key_name + struct.pack(">HHIH", TYPE_TSIG, CLASS_ANY, 0, len(rdata)) + rdata


class TsigSigner:
    """Signs the messages of one response stream (RFC 8945 5.3 and 5.3.1)."""

    def __init__(self, key: TsigKey, request_mac: bytes, original_id: int) -> None:
        self.key = key
        self.prior = request_mac
        self.first = True
        self.original_id = original_id
        self.time_signed = int(time.time())

    @property
    def overhead(self) -> int:
        """Octets the TSIG record adds to each message (for fitting a UDP answer)."""
        return len(self.key.name) + 10 + len(HMAC_SHA256) + 10 + hashlib.sha256().digest_size + 6

    def sign(self, message: bytes) -> bytes:
        """``message`` has ARCOUNT not counting TSIG; returns it with the TSIG appended."""
        mac_input = struct.pack(">H", len(self.prior)) + self.prior + message
        if self.first:
            mac_input += _tsig_variables(
                self.key.name, HMAC_SHA256, self.time_signed, FUDGE, 0, b""
            )
            self.first = False
        else:
            mac_input += struct.pack(
                ">HIH", self.time_signed >> 32, self.time_signed & 0xFFFFFFFF, FUDGE
            )
        mac = hmac.new(self.key.secret, mac_input, hashlib.sha256).digest()
        self.prior = mac
        ar = struct.unpack_from(">H", message, 10)[0]
        return (
            message[:10]
            + struct.pack(">H", ar + 1)
            + message[12:]
            + tsig_rr(self.key.name, self.time_signed, mac, self.original_id)
        )


# -- responses --------------------------------------------------------------------------------


def header(
    qid: int,
    query_flags: int,
    *,
    rcode: int = RCODE_NOERROR,
    aa: bool = True,
    opcode: int | None = None,
    qd: int = 1,
    an: int = 0,
    ns: int = 0,
    ar: int = 0,
) -> bytes:
    op = ((query_flags >> 11) & 0xF) if opcode is None else opcode
    flags = 0x8000 | (op << 11) | (0x0400 if aa else 0) | (query_flags & 0x0100) | rcode
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def error_response(msg: bytes, rcode: int) -> bytes | None:
    """A bare error reply echoing the ID (and the question when it parses); None when the
    bytes are not even a query header, or are a response (never answer those)."""
    if len(msg) < 12:
        return None
    qid, flags = struct.unpack_from(">HH", msg, 0)
    if flags & 0x8000:
        return None
    question = b""
    try:
        qd = struct.unpack_from(">H", msg, 4)[0]
        if qd == 1:
            qname, pos = read_name_as_sent(msg, 12)
            if pos + 4 <= len(msg):
                question = qname + msg[pos : pos + 4]
    except FormError:
        question = b""
    return header(qid, flags, rcode=rcode, aa=False, qd=1 if question else 0) + question


def tsig_error_response(query: Query, rcode: int, tsig_error: int) -> bytes:
    """NOTAUTH with an unsigned TSIG naming the error (BADKEY, BADSIG), RFC 8945 5.2."""
    assert query.tsig is not None
    opt = query.opt
    body = header(query.id, query.flags, rcode=rcode, aa=False, ar=2 if opt else 1)
    return (
        body
        + query.question
        + opt
        + tsig_rr(query.tsig.key_name, query.tsig.time_signed, b"", query.id, error=tsig_error)
    )


def answer_header(
    query: Query, *, rcode: int = RCODE_NOERROR, aa: bool = True, an: int = 0, tc: bool = False
) -> bytes:
    """The header and question of an answer to ``query``: the question as it was asked,
    ARCOUNT counting our OPT when the query had one (append :attr:`Query.opt` after the
    records). An extended RCODE (BADVERS) is in the OPT; its lower four bits go here."""
    opt = query.opt
    head = header(query.id, query.flags, rcode=rcode & 0xF, aa=aa, an=an, ar=1 if opt else 0)
    if tc:
        head = head[:2] + bytes([head[2] | 0x02]) + head[3:]
    return head + query.question


def notify_message(qid: int, origin_wire: bytes, soa_rr: bytes) -> bytes:
    """A NOTIFY (RFC 1996) with the new SOA in the answer section."""
    flags = (OP_NOTIFY << 11) | 0x0400
    return (
        struct.pack(">HHHHHH", qid, flags, 1, 1, 0, 0)
        + origin_wire
        + struct.pack(">HH", TYPE_SOA, CLASS_IN)
        + soa_rr
    )
