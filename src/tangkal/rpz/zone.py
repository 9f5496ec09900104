"""The served zone: millions of names as pre-encoded DNS records in compact sorted chunks.

A dict of dnspython objects would need tens of gigabytes at 7 million names. Instead every
listed name becomes its two records (``name`` and ``*.name``) already in wire format, and
names are kept sorted in chunks of a few kilobytes: one ``bytes`` blob per chunk.

* AXFR writes the blobs as they are: no per-record work while streaming. Most actions are
  one CNAME per trigger; a landing given as addresses is one A/AAAA record per address,
  so each chunk counts its records.
* A change re-encodes only the chunks whose names it touches (O(change), not O(zone)).
* Readers take a :class:`ZoneView` (an immutable snapshot: serial plus chunk list); a change
  builds a new view and swaps it in, so a transfer in progress never sees a half-applied
  change set and the writer never waits for readers.

Owner names are written as the name's labels followed by a compression pointer to offset 12,
where every response we build carries the zone name in its question section (RFC 5936 lets
each AXFR message repeat the question). That makes the bytes position-independent.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from tangkal.errors import InvalidInput
from tangkal.rpz.values import Landing, RpzAction

TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_AAAA = 28
CLASS_IN = 1
POINTER_TO_QNAME = b"\xc0\x0c"
# The apex NS and SOA MNAME: out of the zone, so the zone needs no address record of its own
# (an in-zone "ns" with an A record would also be a trigger for the top-level name "ns").
# This is what BIND's reference manual writes in its RPZ example; named-checkzone accepts it.
NS_HOST = "localhost."

TARGET_CHUNK_BYTES = 12_000  # a fresh chunk is cut here
MAX_CHUNK_BYTES = 24_000  # a chunk that grows past this is split
SNAPSHOT_MAGIC = b"TANGKAL-RPZ-SNAPSHOT-2\n"  # 2: chunks count their records


def name_to_wire(name: str) -> bytes:
    """Absolute, uncompressed, lower-case wire form of a text name ('' or '.' = root)."""
    name = name.rstrip(".").lower()
    if not name:
        return b"\x00"
    out = bytearray()
    for label in name.split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise InvalidInput(f"Label {label!r} in {name!r} is empty or longer than 63 octets.")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > 255:
        raise InvalidInput(f"{name!r} is longer than 255 octets in wire form.")
    return bytes(out)


def _relative_owner(name: str) -> bytes:
    """``name`` as labels ending in a pointer to the zone name at offset 12."""
    return (
        b"".join(bytes((len(lab),)) + lab.encode("ascii") for lab in name.split("."))
        + POINTER_TO_QNAME
    )


@dataclass(frozen=True, slots=True)
class ZoneConfig:
    """What the zone's bytes depend on besides its names: a snapshot built with another
    configuration is rebuilt rather than served."""

    origin: str = "rpz.tangkal."
    landing_host: str = "laman-labuh.tangkal.id."
    ttl: int = 60
    refresh: int = 300  # NOTIFY makes transfers prompt; this is the safety net
    retry: int = 60
    expire: int = 30 * 86400  # keep enforcing for a month if the primary disappears
    minimum: int = 60
    landing: Landing | None = None  # None: a CNAME to landing_host

    @property
    def default_landing(self) -> Landing:
        return self.landing or Landing(cname=self.landing_host)

    def as_dict(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "landing": self.default_landing.text(),
            "ttl": self.ttl,
            "refresh": self.refresh,
            "retry": self.retry,
            "expire": self.expire,
            "minimum": self.minimum,
            "ns": NS_HOST,
        }


_FIXED_RDATA = {
    RpzAction.NXDOMAIN: b"\x00",
    RpzAction.NODATA: b"\x01*\x00",
    RpzAction.PASSTHRU: name_to_wire("rpz-passthru."),
}
_ACTION_BY_CNAME = {v: k for k, v in _FIXED_RDATA.items()}


class Encoder:
    """Turns (name, action[, landing]) into the records of an RPZ trigger, and back.

    An entry is the records of ``name`` followed by the same records for ``*.name``: one
    CNAME each, or for a landing given as addresses one A/AAAA record per address.
    """

    def __init__(self, config: ZoneConfig) -> None:
        self.config = config
        self.origin_wire = name_to_wire(config.origin)
        self.landing = config.default_landing
        self._tails: dict[tuple[RpzAction, Landing | None], tuple[bytes, ...]] = {}

    def _rr(self, rtype: int, data: bytes) -> bytes:
        return struct.pack(">HHIH", rtype, CLASS_IN, self.config.ttl, len(data)) + data

    def tails(self, action: RpzAction, landing: Landing | None = None) -> tuple[bytes, ...]:
        """Each record of one trigger without its owner (type, class, TTL, rdata)."""
        if action != RpzAction.LANDING or landing == self.landing:
            landing = None
        key = (action, landing)
        got = self._tails.get(key)
        if got is None:
            if action != RpzAction.LANDING:
                got = (self._rr(TYPE_CNAME, _FIXED_RDATA[action]),)
            else:
                target = landing or self.landing
                if target.cname is not None:
                    got = (self._rr(TYPE_CNAME, name_to_wire(target.cname)),)
                else:
                    got = tuple(
                        [self._rr(TYPE_A, ipaddress.IPv4Address(x).packed) for x in target.a]
                        + [
                            self._rr(TYPE_AAAA, ipaddress.IPv6Address(x).packed)
                            for x in target.aaaa
                        ]
                    )
            self._tails[key] = got
        return got

    def count(self, action: RpzAction, landing: Landing | None = None) -> int:
        """Records in one entry (both triggers)."""
        return 2 * len(self.tails(action, landing))

    def entry(self, name: str, action: RpzAction, landing: Landing | None = None) -> bytes:
        owner = _relative_owner(name)
        tails = self.tails(action, landing)
        wild = b"\x01*" + owner
        return b"".join(owner + t for t in tails) + b"".join(wild + t for t in tails)

    def soa(self, serial: int) -> bytes:
        c = self.config
        rdata = (
            name_to_wire(NS_HOST)
            + b"\x0ahostmaster"
            + POINTER_TO_QNAME
            + struct.pack(">IIIII", serial, c.refresh, c.retry, c.expire, c.minimum)
        )
        return (
            POINTER_TO_QNAME + struct.pack(">HHIH", TYPE_SOA, CLASS_IN, c.ttl, len(rdata)) + rdata
        )

    def ns(self) -> bytes:
        """The apex NS record: BIND will not load a zone without one; RPZ consumers ignore
        it. Out of the zone (``localhost.``), so no glue is needed (RFC 1034 4.2.1)."""
        rdata = name_to_wire(NS_HOST)
        return (
            POINTER_TO_QNAME
            + struct.pack(">HHIH", TYPE_NS, CLASS_IN, self.config.ttl, len(rdata))
            + rdata
        )


def _records(blob: bytes, pos: int, end: int) -> Iterator[tuple[int, list[str], int, int]]:
    """(start, owner labels, rdata start, next position) of each record from ``pos``."""
    while pos < end:
        start = pos
        labels: list[str] = []
        while blob[pos] != 0xC0:
            n = blob[pos]
            labels.append(blob[pos + 1 : pos + 1 + n].decode("ascii"))
            pos += 1 + n
        rdlen = int.from_bytes(blob[pos + 10 : pos + 12], "big")
        yield start, labels, pos + 12, pos + 12 + rdlen
        pos += 12 + rdlen


def decode_chunk(blob: bytes, encoder: Encoder | None = None) -> list[tuple[str, bytes]]:
    """Split a chunk blob back into (name, entry bytes); only the chunks a change touches."""
    out: list[tuple[str, bytes]] = []
    current: list[str] | None = None
    begin = 0
    for start, labels, _rd, _nxt in _records(blob, 0, len(blob)):
        if current is not None and (labels == current or labels == ["*", *current]):
            continue
        if current is not None:
            out.append((".".join(current), blob[begin:start]))
        current, begin = labels, start
    if current is not None:
        out.append((".".join(current), blob[begin:]))
    return out


def decode_chunk_entries(chunks: Iterable[Chunk], encoder: Encoder) -> Iterator[tuple[str, bytes]]:
    for chunk in chunks:
        yield from decode_chunk(chunk.blob, encoder)


def entry_action(entry: bytes, encoder: Encoder | None = None) -> RpzAction:
    for _start, _labels, rd, nxt in _records(entry, 0, len(entry)):
        rtype = int.from_bytes(entry[rd - 10 : rd - 8], "big")
        if rtype == TYPE_CNAME:
            return _ACTION_BY_CNAME.get(entry[rd:nxt], RpzAction.LANDING)
        return RpzAction.LANDING
    raise ValueError("empty entry")


def entry_records(entry: bytes) -> int:
    return sum(1 for _ in _records(entry, 0, len(entry)))


#: One listed name as the store is built from it.
Entry = tuple[str, RpzAction] | tuple[str, RpzAction, Landing | None]


@dataclass(frozen=True, slots=True)
class Chunk:
    first: str  # smallest name in the chunk
    blob: bytes  # the entries, sorted by name
    names: int
    records: int  # what an AXFR message counts for this blob (two or more per name)


@dataclass(frozen=True, slots=True)
class ZoneView:
    """One consistent version of the zone; never mutated once published."""

    serial: int
    seq: int
    firsts: list[str] = field(repr=False)
    chunks: list[Chunk] = field(repr=False)
    names: int = 0
    wire_bytes: int = 0

    @property
    def records(self) -> int:
        """Records in a full transfer: the entries' plus the SOA twice and the apex NS."""
        return sum(c.records for c in self.chunks) + 3


def _cut(entries: Sequence[tuple[str, bytes]]) -> list[Chunk]:
    """Pack sorted entries into chunks of about TARGET_CHUNK_BYTES."""
    chunks: list[Chunk] = []
    parts: list[bytes] = []
    size = records = 0
    first = ""
    for name, data in entries:
        if not parts:
            first = name
        parts.append(data)
        size += len(data)
        records += entry_records(data)
        if size >= TARGET_CHUNK_BYTES:
            chunks.append(Chunk(first, b"".join(parts), len(parts), records))
            parts, size, records = [], 0, 0
    if parts:
        chunks.append(Chunk(first, b"".join(parts), len(parts), records))
    return chunks


class ZoneStore:
    """Holds the current :class:`ZoneView` and moves it forward one change set at a time.

    One writer (the journal follower) calls :meth:`apply`; any number of readers use
    :attr:`view`. Swapping the attribute is atomic in CPython, so no lock is needed.
    """

    def __init__(self, config: ZoneConfig, view: ZoneView | None = None) -> None:
        self.config = config
        self.encoder = Encoder(config)
        self.view = view or ZoneView(serial=0, seq=0, firsts=[], chunks=[])

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def build(
        cls, config: ZoneConfig, entries: Iterable[Entry], *, serial: int, seq: int
    ) -> ZoneStore:
        """Build from (name, action) pairs, or (name, action, landing) for a landing of its
        own (None: the zone's default).

        Sorted input (the database's primary key order) streams straight into chunks, so a
        build never holds more than the finished zone plus one chunk; unsorted input is
        sorted first (and the last of duplicate names wins).
        """
        store = cls(config)
        enc = store.encoder.entry
        count = store.encoder.count
        chunks: list[Chunk] = []
        parts: list[bytes] = []
        size = records = 0
        first = last = ""
        rest: list[Entry] = []
        it = iter(entries)
        for item in it:
            name, action = item[0], item[1]
            landing = cast("Landing | None", item[2]) if len(item) > 2 else None
            if name <= last:  # out of order: finish on the slow path
                rest = [item, *it]
                break
            if not parts:
                first = name
            data = enc(name, action, landing)
            parts.append(data)
            size += len(data)
            records += count(action, landing)
            last = name
            if size >= TARGET_CHUNK_BYTES:
                chunks.append(Chunk(first, b"".join(parts), len(parts), records))
                parts, size, records = [], 0, 0
        if parts:
            chunks.append(Chunk(first, b"".join(parts), len(parts), records))
        if rest:
            merged = dict(decode_chunk_entries(chunks, store.encoder))
            merged.update(
                (i[0], enc(i[0], i[1], cast("Landing | None", i[2]) if len(i) > 2 else None))
                for i in rest
            )
            chunks = _cut(sorted(merged.items()))
        store.view = ZoneView(
            serial,
            seq,
            [c.first for c in chunks],
            chunks,
            names=sum(c.names for c in chunks),
            wire_bytes=sum(len(c.blob) for c in chunks),
        )
        return store

    # -- changing ---------------------------------------------------------------------------
    def apply(
        self,
        changes: Iterable[
            tuple[str, RpzAction | None] | tuple[str, RpzAction | None, Landing | None]
        ],
        *,
        serial: int,
        seq: int,
    ) -> ZoneView:
        """Apply one change set and publish the new view; returns it. A change may carry
        the landing it points to (else the zone's default).

        Cost: for each touched chunk, decode and re-encode a few kilobytes, plus one copy of
        the chunk list (pointers only).
        """
        old = self.view
        by_chunk: dict[int, dict[str, tuple[RpzAction | None, Landing | None]]] = {}
        firsts = old.firsts
        for change in changes:
            name, action = change[0], change[1]
            landing = cast("Landing | None", change[2]) if len(change) > 2 else None
            i = max(bisect.bisect_right(firsts, name) - 1, 0)
            by_chunk.setdefault(i, {})[name] = (action, landing)
        new_firsts = list(firsts)
        new_chunks = list(old.chunks)
        names, wire = old.names, old.wire_bytes
        for i in sorted(by_chunk, reverse=True):  # right to left keeps indices valid
            wanted = by_chunk[i]
            if i < len(old.chunks):
                chunk = old.chunks[i]
                current = dict(decode_chunk(chunk.blob, self.encoder))
                names -= chunk.names
                wire -= len(chunk.blob)
            else:
                current = {}
            for name, (action, landing) in wanted.items():
                if action is None:
                    current.pop(name, None)
                else:
                    current[name] = self.encoder.entry(name, action, landing)
            pieces = _split(sorted(current.items()))
            for piece in pieces:
                names += piece.names
                wire += len(piece.blob)
            new_chunks[i : i + 1] = pieces
            new_firsts[i : i + 1] = [p.first for p in pieces]
        view = ZoneView(serial, seq, new_firsts, new_chunks, names=names, wire_bytes=wire)
        self.view = view
        return view

    def set_serial(self, serial: int, seq: int) -> None:
        v = self.view
        self.view = ZoneView(serial, seq, v.firsts, v.chunks, v.names, v.wire_bytes)

    # -- reading ----------------------------------------------------------------------------
    def lookup(self, name: str, view: ZoneView | None = None) -> RpzAction | None:
        view = view or self.view
        if not view.chunks:
            return None
        i = max(bisect.bisect_right(view.firsts, name) - 1, 0)
        for n, data in decode_chunk(view.chunks[i].blob, self.encoder):
            if n == name:
                return entry_action(data, self.encoder)
        return None

    def iter_entries(self, view: ZoneView | None = None) -> Iterator[tuple[str, RpzAction]]:
        view = view or self.view
        for chunk in view.chunks:
            for name, data in decode_chunk(chunk.blob, self.encoder):
                yield name, entry_action(data, self.encoder)

    # -- snapshots --------------------------------------------------------------------------
    def save_snapshot(self, path: Path, view: ZoneView | None = None) -> None:
        """Write the view to ``path`` atomically (temp file, fsync, rename)."""
        view = view or self.view
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
        header = json.dumps(
            {
                "config": self.config.as_dict(),
                "serial": view.serial,
                "seq": view.seq,
                "chunks": len(view.chunks),
                "names": view.names,
                "wire_bytes": view.wire_bytes,
            }
        ).encode()
        with open(tmp, "wb") as f:
            f.write(SNAPSHOT_MAGIC + struct.pack(">I", len(header)) + header)
            for chunk in view.chunks:
                first = chunk.first.encode("ascii")
                f.write(
                    struct.pack(">HIII", len(first), chunk.names, chunk.records, len(chunk.blob))
                )
                f.write(first)
                f.write(chunk.blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load_snapshot(cls, path: Path, config: ZoneConfig) -> ZoneStore | None:
        """The store saved at ``path``, or None if it is missing, damaged or was built with
        another configuration (the caller then rebuilds from the database)."""
        try:
            with open(path, "rb") as f:
                if f.read(len(SNAPSHOT_MAGIC)) != SNAPSHOT_MAGIC:
                    return None
                (hlen,) = struct.unpack(">I", f.read(4))
                header = json.loads(f.read(hlen))
                if header.get("config") != config.as_dict():
                    return None
                chunks: list[Chunk] = []
                for _ in range(int(header["chunks"])):
                    flen, count, records, blen = struct.unpack(">HIII", f.read(14))
                    first = f.read(flen).decode("ascii")
                    blob = f.read(blen)
                    if len(blob) != blen:
                        return None
                    chunks.append(Chunk(first, blob, count, records))
        except (OSError, ValueError, struct.error, KeyError):
            return None
        view = ZoneView(
            int(header["serial"]),
            int(header["seq"]),
            [c.first for c in chunks],
            chunks,
            names=int(header["names"]),
            wire_bytes=int(header["wire_bytes"]),
        )
        return cls(config, view)


def _split(entries: list[tuple[str, bytes]]) -> list[Chunk]:
    if not entries:
        return []
    total = sum(len(d) for _, d in entries)
    if total <= MAX_CHUNK_BYTES:
        return [
            Chunk(
                entries[0][0],
                b"".join(d for _, d in entries),
                len(entries),
                sum(entry_records(d) for _, d in entries),
            )
        ]
    return _cut(entries)
