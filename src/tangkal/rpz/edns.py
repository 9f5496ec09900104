"""EDNS(0) for the RPZ primary (RFC 6891): reading a query's OPT record, writing ours.

Why a module of its own: the answers are pre-encoded bytes (``tangkal.rpz.wire``), so the
OPT record of an answer is bytes too, made once per kind (plain, DO bit echoed, BADVERS)
and appended after the records, ahead of any TSIG, which must stay last (RFC 8945 5.3).

What the primary does with EDNS:

- a query with one OPT gets one OPT back, advertising :data:`UDP_PAYLOAD` (1232 octets,
  the DNS flag day 2020 figure that avoids IP fragmentation), version 0, and the DO bit
  copied from the query (RFC 3225);
- a query whose OPT has a version above 0 gets BADVERS (extended RCODE 16) with our OPT
  saying version 0 (RFC 6891 6.1.3);
- more than one OPT, an OPT outside the additional section, an OPT whose owner is not the
  root or whose options run past its data is FORMERR (RFC 6891 6.1.1);
- over UDP an answer is at most what the requester said it can take (at least 512 octets,
  at most our own 1232), else it goes out truncated with TC set; a query without OPT gets
  at most 512 octets and no OPT.

Options in a query (cookies, padding, client subnet) are read only to check their lengths
and otherwise ignored, which RFC 6891 6.1.2 allows: the primary answers the same to anyone
who may ask, so none of them would change an answer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

TYPE_OPT = 41
UDP_PAYLOAD = 1232  # what we advertise, and the most we send over UDP
PLAIN_UDP = 512  # a query without OPT (RFC 1035 4.2.1), and the least an OPT may ask for
RCODE_BADVERS = 16  # extended: upper eight bits in the OPT's TTL, lower four in the header
DO_BIT = 0x8000


class OptError(Exception):
    """The OPT record breaks RFC 6891 6.1.1: the query is FORMERR."""


@dataclass(frozen=True, slots=True)
class Edns:
    """The OPT record of a query, as far as an answer depends on it."""

    payload: int  # the requester's UDP payload size, as sent
    version: int
    do: bool

    @property
    def udp_limit(self) -> int:
        """The largest UDP answer this requester gets: what it can take, within our own."""
        return min(max(self.payload, PLAIN_UDP), UDP_PAYLOAD)

    @property
    def answer_opt(self) -> bytes:
        """Our OPT record for the answer (BADVERS when the version is not 0)."""
        if self.version != 0:
            return OPT_BADVERS_DO if self.do else OPT_BADVERS
        return OPT_DO if self.do else OPT


def opt_rr(*, extended_rcode: int = 0, do: bool = False) -> bytes:
    """An OPT record: root owner, our payload size as CLASS, the TTL holding the upper
    bits of the RCODE, version 0 and the DO flag, no options."""
    ttl = ((extended_rcode >> 4) << 24) | (DO_BIT if do else 0)
    return b"\x00" + struct.pack(">HHIH", TYPE_OPT, UDP_PAYLOAD, ttl, 0)


OPT = opt_rr()
OPT_DO = opt_rr(do=True)
OPT_BADVERS = opt_rr(extended_rcode=RCODE_BADVERS)
OPT_BADVERS_DO = opt_rr(extended_rcode=RCODE_BADVERS, do=True)


def parse_opt(msg: bytes, owner: bytes, rclass: int, ttl: int, rdata: int, end: int) -> Edns:
    """The :class:`Edns` of an OPT record whose fixed fields were read already; raises
    :class:`OptError` when it is malformed."""
    if owner != b"\x00":
        raise OptError("OPT owner must be the root")
    pos = rdata
    while pos < end:  # each option: code, length, data; none may run past the record
        if pos + 4 > end:
            raise OptError("truncated EDNS option")
        (length,) = struct.unpack_from(">H", msg, pos + 2)
        pos += 4 + length
        if pos > end:
            raise OptError("EDNS option runs past the OPT record")
    return Edns(payload=rclass, version=(ttl >> 16) & 0xFF, do=bool(ttl & DO_BIT))
