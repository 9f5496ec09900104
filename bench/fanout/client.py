"""N simulated subscribers in one asyncio process: each listens for NOTIFY on its own UDP
port, acknowledges it, and pulls the zone by IXFR over TCP signed with its own TSIG key.

Hand-written on the project's wire helpers rather than dnspython: at 10,000 subscribers the
client shares two cores with the server it measures, and dnspython's message objects
would make the client, not the server, the figure. Every response's first message is
checked against its TSIG MAC (RFC 8945 5.3); later messages of a multi-message stream are
not (a small IXFR is one message).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import hashlib
import hmac
import random
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from tangkal.rpz import wire
from tangkal.rpz.values import serial_lt
from tangkal.rpz.zone import name_to_wire

TSIG_TAIL = struct.pack(">HH", wire.TYPE_TSIG, wire.CLASS_ANY)


class TransferError(Exception):
    pass


@dataclass(eq=False)
class Sub:
    """One simulated resolver."""

    index: int
    key_name: str
    secret: bytes
    key_wire: bytes = b""
    port: int = 0
    transport: asyncio.DatagramTransport | None = None
    serial: int = 0  # held; 0 = nothing yet
    held_at: dict[int, float] = field(default_factory=dict)  # serial -> monotonic time
    notified_at: dict[int, float] = field(default_factory=dict)  # first NOTIFY of a serial
    pulling: bool = False
    wanted: int = 0  # newest serial a NOTIFY announced
    notifies: int = 0
    errors: int = 0


class _SockReader:
    """readexactly() on a raw non-blocking socket."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self.loop = loop
        self.sock = sock
        self.buf = bytearray()

    async def readexactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = await self.loop.sock_recv(self.sock, 65536)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(self.buf), n)
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, fleet: Fleet, sub: Sub) -> None:
        self.fleet = fleet
        self.sub = sub

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.sub.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.fleet.on_notify(self.sub, data, addr)


def _soa_serial(msg: bytes, pos: int) -> tuple[int, int]:
    """(serial, position after the RR) of the SOA RR whose rdata starts after its header."""
    _mname, p = wire.read_name(msg, pos)
    _rname, p = wire.read_name(msg, p)
    return struct.unpack_from(">I", msg, p)[0], p


class Fleet:
    """The subscribers, their NOTIFY listeners and their transfers."""

    def __init__(self, keys: list[tuple[str, bytes]], zone: str, *, tcp_limit: int = 2000) -> None:
        self.zone = zone
        self.zone_wire = name_to_wire(zone)
        self.subs = [
            Sub(i, name, secret, name_to_wire(name)) for i, (name, secret) in enumerate(keys)
        ]
        self.primary: tuple[str, int] = ("127.0.0.1", 0)
        # The client's own bound on open connections: the process's descriptors are shared
        # by N UDP sockets and these (ulimit -n); a server that admits fewer at a time
        # makes the rest wait in its accept queue either way.
        self.tcp_limit = tcp_limit
        self.tcp_open = 0
        self.tcp_waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.changed = asyncio.Event()
        self.transfers = 0
        self.last_error = ""
        self.phases: list[tuple[float, float, float]] = []  # connect start, connected, done
        self.target = 0  # the serial wait_all counts holders of
        self.reached = 0

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        for sub in self.subs:
            await loop.create_datagram_endpoint(
                functools.partial(_Listener, self, sub), local_addr=("127.0.0.1", 0)
            )
            assert sub.transport is not None
            sub.port = int(sub.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        for sub in self.subs:
            if sub.transport is not None:
                sub.transport.close()

    def reset(self) -> None:
        """Forget what is held (before following another primary)."""
        self.target = self.reached = 0
        for sub in self.subs:
            sub.serial = 0
            sub.wanted = 0
            sub.held_at.clear()
            sub.notified_at.clear()

    # -- NOTIFY ------------------------------------------------------------------------------
    def on_notify(self, sub: Sub, data: bytes, addr: tuple[str | Any, int]) -> None:
        if len(data) < 12:
            return
        qid, flags, qd, an = struct.unpack_from(">HHHH", data, 0)
        if flags & 0x8000 or (flags >> 11) & 0xF != wire.OP_NOTIFY or qd != 1:
            return
        try:
            _qname, pos = wire.read_name(data, 12)
            question = data[12 : pos + 4]
            serial = None
            if an:
                _owner, p = wire.read_name(data, pos + 4)
                rtype = struct.unpack_from(">H", data, p)[0]
                if rtype == wire.TYPE_SOA:
                    serial, _ = _soa_serial(data, p + 10)
        except (wire.FormError, struct.error):
            return
        sub.notifies += 1
        if serial is not None:
            sub.notified_at.setdefault(serial, time.monotonic())
        ack = (
            struct.pack(">HHHHHH", qid, 0x8000 | (wire.OP_NOTIFY << 11) | 0x0400, 1, 0, 0, 0)
            + question
        )
        if sub.transport is not None:
            sub.transport.sendto(ack, addr)
        if not self.primary[1]:
            return  # a primary's start-up NOTIFY before the bench points the fleet at it
        if serial is None or serial_lt(sub.serial, serial) or sub.serial == 0:
            sub.wanted = serial or sub.wanted
            self.pull_soon(sub)

    def pull_soon(self, sub: Sub) -> None:
        if not sub.pulling:
            sub.pulling = True
            asyncio.get_running_loop().create_task(self._pull_loop(sub))

    async def _pull_loop(self, sub: Sub) -> None:
        try:
            for _ in range(50):  # bounded: a refused or failed transfer is retried a while
                try:
                    await self.pull(sub)
                except (OSError, TransferError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    sub.errors += 1
                    self.last_error = repr(exc)
                    await asyncio.sleep(0.2 + random.random() * 0.3)
                    continue
                if not sub.wanted or not serial_lt(sub.serial, sub.wanted):
                    return
        finally:
            sub.pulling = False

    # -- IXFR ------------------------------------------------------------------------------
    def _query(self, sub: Sub, qid: int) -> tuple[bytes, bytes]:
        """A signed IXFR (AXFR while nothing is held) and its MAC."""
        if sub.serial:
            soa = (
                b"\xc0\x0c"
                + struct.pack(">HHIH", wire.TYPE_SOA, wire.CLASS_IN, 0, 22)
                + b"\x00\x00"
                + struct.pack(">IIIII", sub.serial, 0, 0, 0, 0)
            )
            body = (
                struct.pack(">HHHHHH", qid, 0, 1, 0, 1, 0)
                + self.zone_wire
                + struct.pack(">HH", wire.TYPE_IXFR, wire.CLASS_IN)
                + soa
            )
        else:
            body = (
                struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
                + self.zone_wire
                + struct.pack(">HH", wire.TYPE_AXFR, wire.CLASS_IN)
            )
        now = int(time.time())
        mac = hmac.new(
            sub.secret,
            body + wire._tsig_variables(sub.key_wire, wire.HMAC_SHA256, now, wire.FUDGE, 0, b""),
            hashlib.sha256,
        ).digest()
        ar = struct.unpack_from(">H", body, 10)[0]
        signed = (
            body[:10]
            + struct.pack(">H", ar + 1)
            + body[12:]
            + wire.tsig_rr(sub.key_wire, now, mac, qid)
        )
        return signed, mac

    def _verify(self, sub: Sub, msg: bytes, request_mac: bytes) -> None:
        at = msg.rfind(sub.key_wire + TSIG_TAIL)
        if at < 12:
            raise TransferError("response not signed")
        p = at + len(sub.key_wire) + 4 + 4 + 2
        alg, p = wire.read_name(msg, p)
        t_hi, t_lo, fudge, mac_len = struct.unpack_from(">HIHH", msg, p)
        p += 10
        mac = msg[p : p + mac_len]
        orig_id, error, other_len = struct.unpack_from(">HHH", msg, p + mac_len)
        other = msg[p + mac_len + 6 : p + mac_len + 6 + other_len]
        ar = struct.unpack_from(">H", msg, 10)[0]
        unsigned = struct.pack(">H", orig_id) + msg[2:10] + struct.pack(">H", ar - 1) + msg[12:at]
        digest = hmac.new(
            sub.secret,
            struct.pack(">H", len(request_mac))
            + request_mac
            + unsigned
            + wire._tsig_variables(sub.key_wire, alg, (t_hi << 32) | t_lo, fudge, error, other),
            hashlib.sha256,
        ).digest()
        if error or not hmac.compare_digest(digest, mac):
            raise TransferError(f"bad TSIG on the response (error {error})")

    async def pull(self, sub: Sub) -> None:
        # A plain counter and a queue of futures, not asyncio.Semaphore, whose locked()
        # walks its waiters on every acquire; and raw non-blocking sockets, not streams:
        # the client's own cost per transfer is kept small next to the server's.
        if self.tcp_open >= self.tcp_limit:
            fut = asyncio.get_running_loop().create_future()
            self.tcp_waiting.append(fut)
            await fut
        self.tcp_open += 1
        try:
            async with asyncio.timeout(30):
                new = await self._transfer(sub)
        finally:
            self.tcp_open -= 1
            while self.tcp_waiting:
                fut = self.tcp_waiting.popleft()
                if not fut.done():
                    fut.set_result(None)
                    break
        self.transfers += 1
        if new is not None and (sub.serial == 0 or serial_lt(sub.serial, new)):
            before = self._holds(sub.serial)
            sub.serial = new
            sub.held_at[new] = time.monotonic()
            if not before and self._holds(new):
                self.reached += 1
                if self.reached >= len(self.subs):
                    self.changed.set()
        elif new is not None:
            sub.held_at.setdefault(new, time.monotonic())

    def _holds(self, serial: int) -> bool:
        return (
            bool(self.target)
            and bool(serial)
            and (serial == self.target or serial_lt(self.target, serial))
        )

    async def _transfer(self, sub: Sub) -> int | None:
        loop = asyncio.get_running_loop()
        qid = random.randrange(1 << 16)
        query, mac = self._query(sub, qid)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            t0 = time.monotonic()
            await loop.sock_connect(sock, self.primary)
            t1 = time.monotonic()
            await loop.sock_sendall(sock, struct.pack(">H", len(query)) + query)
            got = await self._read_transfer(sub, _SockReader(loop, sock), mac)
            self.phases.append((t0, t1, time.monotonic()))
            return got
        finally:
            sock.close()

    async def _read_transfer(self, sub: Sub, reader: _SockReader, request_mac: bytes) -> int | None:
        """Read the response stream to its end; the serial it leaves the client at."""
        first: int | None = None
        seen_new = 0
        rrs = 0
        ixfr = False
        n_msg = 0
        while True:
            (length,) = struct.unpack(">H", await reader.readexactly(2))
            msg = await reader.readexactly(length)
            if n_msg == 0:
                self._verify(sub, msg, request_mac)
            n_msg += 1
            rcode = struct.unpack_from(">H", msg, 2)[0] & 0xF
            if rcode:
                raise TransferError(f"rcode {rcode}")
            qd, an = struct.unpack_from(">HH", msg, 4)
            pos = 12
            for _ in range(qd):
                _n, pos = wire.read_name(msg, pos)
                pos += 4
            for _ in range(an):
                _n, pos = wire.read_name(msg, pos)
                rtype, _cls, _ttl, rdlen = struct.unpack_from(">HHIH", msg, pos)
                pos += 10
                if rtype == wire.TYPE_SOA:
                    serial, _ = _soa_serial(msg, pos)
                    if first is None:
                        first = serial
                    elif rrs == 1 and serial != first:
                        ixfr = True
                    if serial == first:
                        seen_new += 1
                rrs += 1
                pos += rdlen
            if first is not None and (
                (rrs == 1 and n_msg == 1 and sub.serial == first)  # up to date
                or (not ixfr and seen_new >= 2)
                or (ixfr and seen_new >= 3)
            ):
                return first
            if first is None:
                raise TransferError("no SOA first")

    # -- waiting ---------------------------------------------------------------------------
    async def sync(self, serial: int, limit: float) -> None:
        """Every subscriber pulls (without a NOTIFY) until it holds ``serial``."""
        for sub in self.subs:
            sub.wanted = serial
            self.pull_soon(sub)
        await self.wait_all(serial, limit)

    def holding(self, serial: int) -> int:
        return sum(
            1 for s in self.subs if s.serial == serial or (s.serial and serial_lt(serial, s.serial))
        )

    def expect(self, serial: int) -> None:
        """Count holders of ``serial`` from now on (call before the change is made, so the
        fastest subscribers are counted too)."""
        self.target = serial
        self.changed.clear()
        self.reached = self.holding(serial)

    async def wait_all(self, serial: int, limit: float) -> bool:
        """True when every subscriber holds ``serial`` within ``limit`` seconds; woken by
        the transfer that completes the count (no scan per transfer)."""
        if self.target != serial:
            self.expect(serial)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit):
                while self.reached < len(self.subs):
                    await self.changed.wait()
                    self.changed.clear()
                    self.reached = self.holding(serial)  # once per wake-up, a check
        return self.reached >= len(self.subs)
