"""The served zone: millions of names as pre-encoded DNS records in compact sorted chunks.

A dict of dnspython objects would need tens of gigabytes at 7 million names. Instead every
listed name becomes its two records (``name`` and ``*.name``) already in wire format, and
names are kept sorted in chunks of a few kilobytes: one ``bytes`` blob per chunk.

* AXFR writes the blobs as they are: no per-record work while streaming.
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
import json
import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tangkal.errors import InvalidInput
from tangkal.rpz.values import RpzAction

TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
CLASS_IN = 1
POINTER_TO_QNAME = b"\xc0\x0c"

TARGET_CHUNK_BYTES = 12_000  # a fresh chunk is cut here
MAX_CHUNK_BYTES = 24_000  # a chunk that grows past this is split
SNAPSHOT_MAGIC = b"TANGKAL-RPZ-SNAPSHOT-1\n"


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
    return b"".join(bytes((len(lab),)) + lab.encode("ascii") for lab in name.split(".")) + \
        POINTER_TO_QNAME


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

    def as_dict(self) -> dict[str, object]:
        return {"origin": self.origin, "landing_host": self.landing_host, "ttl": self.ttl,
                "refresh": self.refresh, "retry": self.retry, "expire": self.expire,
                "minimum": self.minimum}


class Encoder:
    """Turns (name, action) into the two records of an RPZ trigger, and back."""

    def __init__(self, config: ZoneConfig) -> None:
        self.config = config
        self.origin_wire = name_to_wire(config.origin)
        rdata = {
            RpzAction.NXDOMAIN: b"\x00",
            RpzAction.NODATA: b"\x01*\x00",
            RpzAction.LANDING: name_to_wire(config.landing_host),
            RpzAction.PASSTHRU: name_to_wire("rpz-passthru."),
        }
        self.tails: dict[RpzAction, bytes] = {
            action: struct.pack(">HHIH", TYPE_CNAME, CLASS_IN, config.ttl, len(data)) + data
            for action, data in rdata.items()
        }
        self.actions_by_rdata: dict[bytes, RpzAction] = {v: k for k, v in rdata.items()}

    def entry(self, name: str, action: RpzAction) -> bytes:
        owner = _relative_owner(name)
        tail = self.tails[action]
        return owner + tail + b"\x01*" + owner + tail

    def records(self, name: str, action: RpzAction) -> tuple[bytes, bytes]:
        """The two records separately (IXFR lists them one by one)."""
        owner = _relative_owner(name)
        tail = self.tails[action]
        return owner + tail, b"\x01*" + owner + tail

    def soa(self, serial: int) -> bytes:
        c = self.config
        rdata = (b"\x02ns" + POINTER_TO_QNAME + b"\x0ahostmaster" + POINTER_TO_QNAME +
                 struct.pack(">IIIII", serial, c.refresh, c.retry, c.expire, c.minimum))
        return POINTER_TO_QNAME + struct.pack(">HHIH", TYPE_SOA, CLASS_IN, c.ttl,
                                              len(rdata)) + rdata

    def ns(self) -> bytes:
        """An apex NS record: BIND will not load a zone without one; RPZ consumers ignore it."""
        rdata = b"\x02ns" + POINTER_TO_QNAME
        return POINTER_TO_QNAME + struct.pack(">HHIH", TYPE_NS, CLASS_IN, self.config.ttl,
                                              len(rdata)) + rdata


def decode_chunk(blob: bytes, encoder: Encoder) -> list[tuple[str, bytes]]:
    """Split a chunk blob back into (name, entry bytes); only the chunks a change touches."""
    out: list[tuple[str, bytes]] = []
    pos, end = 0, len(blob)
    while pos < end:
        start = pos
        labels: list[str] = []
        while blob[pos] != 0xC0:
            n = blob[pos]
            labels.append(blob[pos + 1:pos + 1 + n].decode("ascii"))
            pos += 1 + n
        owner_len = pos + 2 - start
        rdlen = int.from_bytes(blob[pos + 10:pos + 12], "big")
        size = 2 * (owner_len + 10 + rdlen) + 2
        out.append((".".join(labels), blob[start:start + size]))
        pos = start + size
    return out


def decode_chunk_entries(chunks: Iterable[Chunk], encoder: Encoder
                         ) -> Iterator[tuple[str, bytes]]:
    for chunk in chunks:
        yield from decode_chunk(chunk.blob, encoder)


def entry_action(entry: bytes, encoder: Encoder) -> RpzAction:
    pos = 0
    while entry[pos] != 0xC0:
        pos += 1 + entry[pos]
    rdlen = int.from_bytes(entry[pos + 10:pos + 12], "big")
    return encoder.actions_by_rdata[entry[pos + 12:pos + 12 + rdlen]]


@dataclass(frozen=True, slots=True)
class Chunk:
    first: str  # smallest name in the chunk
    blob: bytes  # the entries, sorted by name, two records each
    names: int


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
        """Records in a full transfer: two per name plus the SOA twice and the apex NS."""
        return 2 * self.names + 3


def _cut(entries: Sequence[tuple[str, bytes]]) -> list[Chunk]:
    """Pack sorted entries into chunks of about TARGET_CHUNK_BYTES."""
    chunks: list[Chunk] = []
    parts: list[bytes] = []
    size = 0
    first = ""
    for name, data in entries:
        if not parts:
            first = name
        parts.append(data)
        size += len(data)
        if size >= TARGET_CHUNK_BYTES:
            chunks.append(Chunk(first, b"".join(parts), len(parts)))
            parts, size = [], 0
    if parts:
        chunks.append(Chunk(first, b"".join(parts), len(parts)))
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
    def build(cls, config: ZoneConfig, entries: Iterable[tuple[str, RpzAction]], *,
              serial: int, seq: int) -> ZoneStore:
        """Build from (name, action) pairs.

        Sorted input (the database's primary key order) streams straight into chunks, so a
        build never holds more than the finished zone plus one chunk; unsorted input is
        sorted first (and the last of duplicate names wins).
        """
        store = cls(config)
        enc = store.encoder.entry
        chunks: list[Chunk] = []
        parts: list[bytes] = []
        size = 0
        first = last = ""
        rest: list[tuple[str, RpzAction]] = []
        it = iter(entries)
        for name, action in it:
            if name <= last:  # out of order: finish on the slow path
                rest = [(name, action), *it]
                break
            if not parts:
                first = name
            data = enc(name, action)
            parts.append(data)
            size += len(data)
            last = name
            if size >= TARGET_CHUNK_BYTES:
                chunks.append(Chunk(first, b"".join(parts), len(parts)))
                parts, size = [], 0
        if parts:
            chunks.append(Chunk(first, b"".join(parts), len(parts)))
        if rest:
            merged = dict(decode_chunk_entries(chunks, store.encoder))
            merged.update((n, enc(n, a)) for n, a in rest)
            chunks = _cut(sorted(merged.items()))
        store.view = ZoneView(serial, seq, [c.first for c in chunks], chunks,
                              names=sum(c.names for c in chunks),
                              wire_bytes=sum(len(c.blob) for c in chunks))
        return store

    # -- changing ---------------------------------------------------------------------------
    def apply(self, changes: Iterable[tuple[str, RpzAction | None]], *, serial: int,
              seq: int) -> ZoneView:
        """Apply one change set and publish the new view; returns it.

        Cost: for each touched chunk, decode and re-encode a few kilobytes, plus one copy of
        the chunk list (pointers only).
        """
        old = self.view
        by_chunk: dict[int, dict[str, RpzAction | None]] = {}
        firsts = old.firsts
        for name, action in changes:
            i = max(bisect.bisect_right(firsts, name) - 1, 0)
            by_chunk.setdefault(i, {})[name] = action
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
            for name, action in wanted.items():
                if action is None:
                    current.pop(name, None)
                else:
                    current[name] = self.encoder.entry(name, action)
            pieces = _split(sorted(current.items()))
            for piece in pieces:
                names += piece.names
                wire += len(piece.blob)
            new_chunks[i:i + 1] = pieces
            new_firsts[i:i + 1] = [p.first for p in pieces]
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
        header = json.dumps({"config": self.config.as_dict(), "serial": view.serial,
                             "seq": view.seq, "chunks": len(view.chunks), "names": view.names,
                             "wire_bytes": view.wire_bytes}).encode()
        with open(tmp, "wb") as f:
            f.write(SNAPSHOT_MAGIC + struct.pack(">I", len(header)) + header)
            for chunk in view.chunks:
                first = chunk.first.encode("ascii")
                f.write(struct.pack(">HII", len(first), chunk.names, len(chunk.blob)))
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
                    flen, count, blen = struct.unpack(">HII", f.read(10))
                    first = f.read(flen).decode("ascii")
                    blob = f.read(blen)
                    if len(blob) != blen:
                        return None
                    chunks.append(Chunk(first, blob, count))
        except (OSError, ValueError, struct.error, KeyError):
            return None
        view = ZoneView(int(header["serial"]), int(header["seq"]), [c.first for c in chunks],
                        chunks, names=int(header["names"]),
                        wire_bytes=int(header["wire_bytes"]))
        return cls(config, view)


def _split(entries: list[tuple[str, bytes]]) -> list[Chunk]:
    if not entries:
        return []
    total = sum(len(d) for _, d in entries)
    if total <= MAX_CHUNK_BYTES:
        return [Chunk(entries[0][0], b"".join(d for _, d in entries), len(entries))]
    return _cut(entries)
