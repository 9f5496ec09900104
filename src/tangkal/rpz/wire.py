"""DNS messages on the wire: a defensive query parser, response builders and TSIG.

The primary answers a handful of message shapes (SOA, AXFR, IXFR, NOTIFY replies), so it
parses queries itself rather than through a general library: every length and pointer is
bounds-checked, compression loops are cut off, and anything unexpected becomes a
:class:`FormError`, which the server turns into FORMERR or silence, never a crash.

TSIG (RFC 8945, hmac-sha256) is implemented here too, because responses are built from
pre-encoded bytes: the request MAC is checked over the request as received, and every
response message of a transfer is signed, each chaining on the previous MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from dataclasses import dataclass

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
TYPE_OPT = 41
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
            return bytes(out).lower(), (end_pos if end_pos >= 0 else pos + 1)
        if pos + 1 + n > limit:
            raise FormError("label runs past the end of the message")
        out.append(n)
        out += msg[pos + 1:pos + 1 + n]
        if len(out) > 255:
            raise FormError("name longer than 255 octets")
        pos += 1 + n


def wire_to_text(wire: bytes) -> str:
    labels = []
    pos = 0
    while wire[pos]:
        n = wire[pos]
        labels.append(wire[pos + 1:pos + 1 + n].decode("ascii", "backslashreplace"))
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
    question: bytes  # the question section as the client sent it (name uncompressed)
    ixfr_serial: int | None
    tsig: Tsig | None
    raw: bytes

    @property
    def rd(self) -> bool:
        return bool(self.flags & 0x0100)


def _skip_rr(msg: bytes, pos: int) -> tuple[bytes, int, int, int, int]:
    """(owner, type, class, rdata start, position after) of the RR at ``pos``."""
    owner, pos = read_name(msg, pos)
    if pos + 10 > len(msg):
        raise FormError("truncated resource record")
    rtype, rclass, _ttl, rdlen = struct.unpack_from(">HHIH", msg, pos)
    pos += 10
    if pos + rdlen > len(msg):
        raise FormError("resource record data runs past the end")
    return owner, rtype, rclass, pos, pos + rdlen


def parse_query(msg: bytes) -> Query:
    """Parse a query; raises FormError for anything malformed (header must be present)."""
    if len(msg) < 12:
        raise FormError("shorter than a DNS header")
    qid, flags, qd, an, ns, ar = struct.unpack_from(">HHHHHH", msg, 0)
    opcode = (flags >> 11) & 0xF
    if qd != 1:
        raise FormError("exactly one question is required")
    qname, pos = read_name(msg, 12)
    if pos + 4 > len(msg):
        raise FormError("truncated question")
    qtype, qclass = struct.unpack_from(">HH", msg, pos)
    question = qname + msg[pos:pos + 4]
    pos += 4
    ixfr_serial: int | None = None
    tsig: Tsig | None = None
    total = an + ns + ar
    if total > 64:
        raise FormError("too many records in a query")
    for index in range(total):
        start = pos
        owner, rtype, rclass, rdata, pos = _skip_rr(msg, pos)
        section_ns = an <= index < an + ns
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
    return Query(qid, flags, opcode, qname, qtype, qclass, question, ixfr_serial, tsig, msg)


def _parse_tsig(msg: bytes, owner: bytes, rdata: int, end: int, start: int) -> Tsig:
    alg, p = read_name(msg, rdata)
    if p + 10 > end:
        raise FormError("truncated TSIG")
    t_hi, t_lo, fudge, mac_len = struct.unpack_from(">HIHH", msg, p)
    p += 10
    if p + mac_len + 6 > end:
        raise FormError("truncated TSIG MAC")
    mac = msg[p:p + mac_len]
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


def _tsig_variables(key_name: bytes, algorithm: bytes, time_signed: int, fudge: int,
                    error: int, other: bytes) -> bytes:
    return (key_name + struct.pack(">HI", CLASS_ANY, 0) + algorithm +
            struct.pack(">HIHHH", time_signed >> 32, time_signed & 0xFFFFFFFF, fudge, error,
                        len(other)) + other)


def verify_request(query: Query, key: TsigKey, now: float | None = None) -> int:
    """0 if the request's MAC and time are good, else the TSIG error code."""
    tsig = query.tsig
    assert tsig is not None
    if tsig.algorithm != HMAC_SHA256:
        return TSIG_BADKEY
    raw = query.raw
    ar = struct.unpack_from(">H", raw, 10)[0]
    unsigned = (struct.pack(">H", tsig.original_id) + raw[2:10] + struct.pack(">H", ar - 1) +
                raw[12:tsig.start])
    digest = hmac.new(key.secret, unsigned + _tsig_variables(
        tsig.key_name, tsig.algorithm, tsig.time_signed, tsig.fudge, tsig.error, tsig.other),
        hashlib.sha256).digest()
    if len(tsig.mac) != len(digest) or not hmac.compare_digest(digest, tsig.mac):
        return TSIG_BADSIG
    now = time.time() if now is None else now
    if abs(now - tsig.time_signed) > tsig.fudge:
        return TSIG_BADTIME
    return 0


def tsig_rr(key_name: bytes, time_signed: int, mac: bytes, original_id: int, error: int = 0,
            other: bytes = b"") -> bytes:
    rdata = (HMAC_SHA256 + struct.pack(">HIHH", time_signed >> 32, time_signed & 0xFFFFFFFF,
                                       FUDGE, len(mac)) + mac +
             struct.pack(">HHH", original_id, error, len(other)) + other)
    return key_name + struct.pack(">HHIH", TYPE_TSIG, CLASS_ANY, 0, len(rdata)) + rdata


class TsigSigner:
    """Signs the messages of one response stream (RFC 8945 5.3 and 5.3.1)."""

    def __init__(self, key: TsigKey, request_mac: bytes, original_id: int) -> None:
        self.key = key
        self.prior = request_mac
        self.first = True
        self.original_id = original_id
        self.time_signed = int(time.time())

    def sign(self, message: bytes) -> bytes:
        """``message`` has ARCOUNT not counting TSIG; returns it with the TSIG appended."""
        mac_input = struct.pack(">H", len(self.prior)) + self.prior + message
        if self.first:
            mac_input += _tsig_variables(self.key.name, HMAC_SHA256, self.time_signed, FUDGE,
                                         0, b"")
            self.first = False
        else:
            mac_input += struct.pack(">HIH", self.time_signed >> 32,
                                     self.time_signed & 0xFFFFFFFF, FUDGE)
        mac = hmac.new(self.key.secret, mac_input, hashlib.sha256).digest()
        self.prior = mac
        ar = struct.unpack_from(">H", message, 10)[0]
        return (message[:10] + struct.pack(">H", ar + 1) + message[12:] +
                tsig_rr(self.key.name, self.time_signed, mac, self.original_id))


# -- responses --------------------------------------------------------------------------------

def header(qid: int, query_flags: int, *, rcode: int = RCODE_NOERROR, aa: bool = True,
           opcode: int | None = None, qd: int = 1, an: int = 0, ns: int = 0,
           ar: int = 0) -> bytes:
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
            qname, pos = read_name(msg, 12)
            if pos + 4 <= len(msg):
                question = qname + msg[pos:pos + 4]
    except FormError:
        question = b""
    return header(qid, flags, rcode=rcode, aa=False, qd=1 if question else 0) + question


def tsig_error_response(query: Query, rcode: int, tsig_error: int) -> bytes:
    """NOTAUTH with an unsigned TSIG naming the error (BADKEY, BADSIG), RFC 8945 5.2."""
    assert query.tsig is not None
    body = header(query.id, query.flags, rcode=rcode, aa=False, ar=1) + query.question
    return body + tsig_rr(query.tsig.key_name, query.tsig.time_signed, b"", query.id,
                          error=tsig_error)


def notify_message(qid: int, origin_wire: bytes, soa_rr: bytes) -> bytes:
    """A NOTIFY (RFC 1996) with the new SOA in the answer section."""
    flags = (OP_NOTIFY << 11) | 0x0400
    return struct.pack(">HHHHHH", qid, flags, 1, 1, 0, 0) + origin_wire + \
        struct.pack(">HH", TYPE_SOA, CLASS_IN) + soa_rr
