"""The RPZ primary: SOA, AXFR, IXFR and NOTIFY over asyncio TCP and UDP.

It runs inside ``tangkal serve`` as a background service. The zone lives in memory as a
:class:`~tangkal.rpz.zone.ZoneStore`; the database stays the source of truth. A follower
reads the journal when told a change set committed (``tangkal.rpz.wakeup``: an after-commit
hook in this process; on PostgreSQL a LISTEN connection hearing every process's commits; on
SQLite an inotify watch on the database file) and otherwise every ``rpz_poll_interval``
(0.25 s), which bounds the delay should a signal be lost. An idle server therefore reads the
database a few times a second, not fifty; a change is applied and announced (NOTIFY) within
milliseconds.

On start the zone comes from a snapshot file plus the journal entries after it (seconds even
at millions of names), or, without a usable snapshot, from a full read of the database, after
which a snapshot is written.

Answers come from memory on the event loop. The one exception is an IXFR from a serial older
than the change sets kept in memory, which reads the journal from the database: that read
runs on a worker thread (the answer yields a :class:`DatabaseRead` step for it), so a long
journal, a PostgreSQL round trip or a locked table holds up only that transfer, never the SOA
queries and other transfers served by the same loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import ipaddress
import random
import struct
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import select

from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.rpz import wakeup, wire
from tangkal.rpz.journal import (
    JOURNAL_RETENTION_DAYS,
    ChangeSet,
    changesets_after,
    ensure_state,
    latest_seq,
    oldest_journal_seq,
    prune_journal,
    seq_for_serial,
)
from tangkal.rpz.models import RpzEntry, Subscriber, TsigKey
from tangkal.rpz.reader import read_snapshot
from tangkal.rpz.services import record_notify_ack, record_transfers, zone_config
from tangkal.rpz.values import RpzAction, serial_lt
from tangkal.rpz.zone import ZoneConfig, ZoneStore, ZoneView, name_to_wire
from tangkal.settings import Settings

log = structlog.get_logger("tangkal.rpz")

TRANSFERS = Counter("tangkal_rpz_transfers_total", "Zone transfers served", ["kind"])
REFUSED = Counter("tangkal_rpz_refused_total", "DNS requests refused or malformed", ["reason"])
SERIAL = Gauge("tangkal_rpz_serial", "SOA serial being served")
NAMES = Gauge("tangkal_rpz_names", "Names in the served zone")
APPLY_LATENCY = Histogram("tangkal_rpz_commit_to_served_seconds",
                          "From change-set commit to being served",
                          buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

MAX_BODY = 65535 - 400  # room for the header, question and a TSIG record
RECENT_CHANGES = 200_000  # change rows kept in memory for IXFR without a database read
PRUNE_EVERY = 3600.0  # seconds between journal prunes (keeps JOURNAL_RETENTION_DAYS)
# At most one journal read per this many seconds while commits stream in: a burst of change
# sets becomes one new serial and one round of NOTIFY, not one per commit (as when the
# journal was polled every 20 ms).
MIN_READ_GAP = 0.02
# A transfer gives the event loop back at least this often (seconds), so that SOA and IXFR
# queries from other resolvers and NOTIFY acknowledgements are answered while a full
# transfer of millions of names is under way: before, the loop ran other work only when the
# socket backed up, and a client reading as fast as we write kept it for a quarter of a
# second at a time (7 million names). A coroutine woken meanwhile (a TCP query, an awaited
# future) runs only after two or three slices (the transfer's own wake-up is queued ahead of
# it), hence slices this short; checking the clock once per ~64 KB message and yielding
# every 2 ms costs the transfer a few per cent at most (docs/benchmarks-rpz.md).
TRANSFER_SLICE = 0.002
DRAIN_BYTES = 1 << 20  # written between waits for the transport to empty below its limit
# Journal reads for IXFR run on their own few threads: clients far behind (after an outage,
# all at once) then queue among themselves and hold at most this many database connections,
# and never take the default executor's threads from the follower and the housekeeping.
JOURNAL_READERS = 4

T = TypeVar("T")


class DatabaseRead(Generic[T]):
    """A step of an answer that must read the database.

    The answer generator yields it and reads :meth:`result` when resumed; in between, the
    TCP server runs it on a worker thread, so the event loop serves other queries while the
    database answers. An error is kept and raised in the generator, where it costs that one
    answer a SERVFAIL as it did when the read ran inline.
    """

    __slots__ = ("_done", "_error", "_fn", "_value")

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._value: T | None = None
        self._error: Exception | None = None
        self._done = False

    def run(self) -> None:
        try:
            self._value = self._fn()
        except Exception as exc:
            self._error = exc
        self._done = True

    def result(self) -> T:
        if not self._done:
            raise RuntimeError("database read resumed before it ran")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set by run() when no error


Step = bytes | DatabaseRead[Any]  # what an answer generator yields


@dataclass(frozen=True, slots=True)
class SubscriberRef:
    id: str
    org_id: str
    notify: tuple[str, int]
    nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@dataclass(frozen=True, slots=True)
class Access:
    keys: dict[bytes, wire.TsigKey] = field(default_factory=dict)
    subscribers: tuple[SubscriberRef, ...] = ()

    def by_address(self, ip: str) -> SubscriberRef | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for sub in self.subscribers:
            if any(addr in net for net in sub.nets):
                return sub
        return None

    def for_key(self, key: wire.TsigKey, ip: str) -> SubscriberRef | None:
        mine = [s for s in self.subscribers if s.org_id == key.org_id]
        for s in mine:
            if s.notify[0] == ip:
                return s
        return mine[0] if mine else None


def load_access(db: Database) -> Access:
    import base64

    with read_snapshot(db) as s:
        keys = {}
        for k in s.scalars(select(TsigKey).where(TsigKey.revoked_at.is_(None))):
            keys[name_to_wire(k.name)] = wire.TsigKey(name_to_wire(k.name),
                                                      base64.b64decode(k.secret), k.name, k.org_id)
        subs = tuple(
            SubscriberRef(sub.id, sub.org_id, (sub.notify_host, int(sub.notify_port)),
                          tuple(ipaddress.ip_network(n, strict=False)
                                for n in (sub.allow_ips or [])))
            for sub in s.scalars(select(Subscriber)))
    return Access(keys, subs)


class RpzPrimary:
    """Background service: ``start()`` loads the zone and opens the sockets."""

    name = "rpz"

    def __init__(self, db: Database, settings: Settings, host: str, port: int, *,
                 poll_interval: float | None = None, snapshot_dir: Path | None = None) -> None:
        self.db = db
        self.settings = settings
        self.host = host
        self.port = port
        self.poll_interval = poll_interval or settings.rpz_poll_interval
        self.config: ZoneConfig = zone_config(settings)
        self.origin = name_to_wire(self.config.origin)
        self.snapshot_path = (snapshot_dir or Path(settings.data_dir) / "rpz") / (
            self.config.origin.rstrip(".") + ".snapshot")
        self.store = ZoneStore(self.config)
        self.access = Access()
        self.recent: collections.deque[ChangeSet] = collections.deque()
        self.recent_changes = 0
        self.transfer_log: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)
        self._pending_transfers: list[tuple[str | None, str | None, str, int, str,
                                            datetime]] = []
        self._access_stale = False
        self._pending_lock = threading.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self._tcp: asyncio.base_events.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._notifier: Notifier | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.listening = False  # the PostgreSQL LISTEN connection is up
        self._unwatch: Callable[[], None] | None = None  # stops the SQLite file watch
        self._access_refreshed = 0.0
        self._snapshot_seq = -1
        self._conn_limit = asyncio.Semaphore(256)
        self._journal_readers = ThreadPoolExecutor(JOURNAL_READERS,
                                                   thread_name_prefix="rpz-journal")
        self.started_at = 0.0
        self.ready_at = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self.started_at = time.monotonic()
        await asyncio.to_thread(self._load)
        self.access = await asyncio.to_thread(load_access, self.db)
        self._access_refreshed = time.monotonic()
        loop = asyncio.get_running_loop()
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port,
                                               reuse_address=True, limit=1 << 16)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(self.host, self.port))
        self._udp = transport
        _ntransport, nproto = await loop.create_datagram_endpoint(
            lambda: Notifier(self), local_addr=(self.host, 0))
        self._notifier = nproto
        self.ready_at = time.monotonic()
        self._loop = loop
        wakeup.subscribe(self.wake)
        database = self.db.engine.url.database
        if self.db.is_sqlite and database and database != ":memory:":
            self._unwatch = wakeup.watch_sqlite(Path(database).resolve(), self._wake.set, loop)
        elif not self.db.is_sqlite:
            self._tasks.append(asyncio.create_task(
                wakeup.listen(self.db.url, self._wake.set, on_state=self._listening),
                name="rpz-listen"))
        view = self.store.view
        SERIAL.set(view.serial)
        NAMES.set(view.names)
        log.info("rpz primary serving", zone=self.config.origin, host=self.host, port=self.port,
                 serial=view.serial, names=view.names,
                 startup_seconds=round(self.ready_at - self.started_at, 3))
        self._tasks.append(asyncio.create_task(self._follow(), name="rpz-follow"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="rpz-housekeeping"))
        self._notify_all(view.serial)

    async def stop(self) -> None:
        wakeup.unsubscribe(self.wake)
        if self._unwatch is not None:
            self._unwatch()
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 2)
        if self._udp is not None:
            self._udp.close()
        if self._notifier is not None:
            self._notifier.close()
        # A read still waiting on the database finishes on its own; nothing waits for it.
        self._journal_readers.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._flush_transfers)
        if self.store.view.seq != self._snapshot_seq:
            await asyncio.to_thread(self._save_snapshot)

    # -- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        with self.db.unit_of_work() as s:
            ensure_state(s)
        store = ZoneStore.load_snapshot(self.snapshot_path, self.config)
        if store is not None and self._snapshot_usable(store.view):
            self.store = store
            self._snapshot_seq = store.view.seq
            replayed = self._catch_up()
            log.info("rpz zone loaded from snapshot", serial=self.store.view.serial,
                     names=self.store.view.names, replayed_changesets=replayed)
            return
        self._build_from_database()

    def _snapshot_usable(self, view: ZoneView) -> bool:
        with read_snapshot(self.db) as s:
            seq, serial = latest_seq(s)
            if view.seq > seq:
                return False  # the database went back (restored, replaced): rebuild
            if view.seq == seq:
                return view.serial == serial
            if seq_for_serial(s, view.serial) != view.seq:
                return False
            oldest = oldest_journal_seq(s)
            return oldest is not None and oldest <= view.seq + 1

    def _build_from_database(self) -> None:
        t0 = time.monotonic()
        actions = {a.value: a for a in RpzAction}
        with read_snapshot(self.db) as s:
            seq, serial = latest_seq(s)
            # Plain driver rows (no ORM or enum processing per row): millions of them.
            rows = s.connection().execution_options(yield_per=50_000).exec_driver_sql(
                f"SELECT name, action FROM {RpzEntry.__tablename__} ORDER BY name")
            self.store = ZoneStore.build(self.config, ((n, actions[a]) for n, a in rows),
                                         serial=serial, seq=seq)
        log.info("rpz zone built from database", serial=serial, names=self.store.view.names,
                 seconds=round(time.monotonic() - t0, 3))
        self._save_snapshot()

    def _save_snapshot(self) -> None:
        view = self.store.view
        t0 = time.monotonic()
        try:
            self.store.save_snapshot(self.snapshot_path, view)
        except OSError as exc:
            log.warning("rpz snapshot not written", path=str(self.snapshot_path), error=str(exc))
            return
        self._snapshot_seq = view.seq
        log.info("rpz snapshot written", serial=view.serial, names=view.names,
                 seconds=round(time.monotonic() - t0, 3))

    # -- following the journal ---------------------------------------------------------------
    def _catch_up(self) -> int:
        """Apply every committed change set the zone does not have yet; returns how many."""
        applied = 0
        while True:
            view = self.store.view
            with read_snapshot(self.db) as s:
                seq, _serial = latest_seq(s)
                if seq == view.seq:
                    return applied
                if seq < view.seq:
                    log.warning("rpz journal went back; rebuilding", ours=view.seq, db=seq)
                    self._build_from_database()
                    return applied
                sets = changesets_after(s, view.seq, limit=200)
            if not sets or sets[0].seq != view.seq + 1:
                log.warning("rpz journal does not reach our serial; rebuilding",
                            ours=view.seq)
                self._build_from_database()
                return applied
            now = utcnow()
            for cs in sets:
                if cs.from_serial != self.store.view.serial:
                    log.warning("rpz journal out of step; rebuilding", seq=cs.seq)
                    self._build_from_database()
                    return applied
                self.store.apply(((c.name, c.new) for c in cs.changes), serial=cs.serial,
                                 seq=cs.seq)
                self._remember(cs)
                APPLY_LATENCY.observe(max((now - cs.committed_at).total_seconds(), 0))
                applied += 1

    def _remember(self, cs: ChangeSet) -> None:
        self.recent.append(cs)
        self.recent_changes += len(cs.changes)
        while self.recent and self.recent_changes > RECENT_CHANGES:
            self.recent_changes -= len(self.recent.popleft().changes)

    def wake(self) -> None:
        """Read the journal now; safe from any thread (committing threads call it)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake.set)

    def _listening(self, up: bool) -> None:
        self.listening = up

    async def _follow(self) -> None:
        last_read = 0.0
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            gap = last_read + MIN_READ_GAP - time.monotonic()
            if gap > 0:
                await asyncio.sleep(gap)
            self._wake.clear()  # before reading: a commit from now on wakes us again
            last_read = time.monotonic()
            before = self.store.view.serial
            try:
                await asyncio.to_thread(self._catch_up)
            except Exception as exc:  # the database may be briefly unavailable
                log.warning("rpz journal poll failed", error=str(exc))
                await asyncio.sleep(1)
                continue
            view = self.store.view
            if view.serial != before:
                SERIAL.set(view.serial)
                NAMES.set(view.names)
                log.info("rpz serving new serial", serial=view.serial, names=view.names)
                await self._refresh_access(force=True)
                self._notify_all(view.serial)

    async def _refresh_access(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._access_refreshed < 2:
            return
        self._access_refreshed = time.monotonic()
        try:
            self.access = await asyncio.to_thread(load_access, self.db)
        except Exception as exc:
            log.warning("rpz access list not refreshed", error=str(exc))

    def _prune(self) -> None:
        """Keep the journal to its retention (90 days); idempotent, so several server
        processes pruning the same database is harmless."""
        try:
            with self.db.unit_of_work() as s:
                gone = prune_journal(s, keep_days=JOURNAL_RETENTION_DAYS)
            if gone:
                log.info("rpz journal pruned", changesets=gone, keep_days=JOURNAL_RETENTION_DAYS)
        except Exception as exc:
            log.warning("rpz journal prune failed", error=str(exc))

    async def _housekeeping(self) -> None:
        last_snapshot = time.monotonic()
        last_prune = 0.0
        while not self._stopping.is_set():
            await asyncio.sleep(0.25)
            if self._access_stale:
                self._access_stale = False
                await self._refresh_access(force=True)
            await self._refresh_access()
            if self._pending_transfers:
                await asyncio.to_thread(self._flush_transfers)
            if time.monotonic() - last_prune > PRUNE_EVERY:
                last_prune = time.monotonic()
                await asyncio.to_thread(self._prune)
            if (self.store.view.seq != self._snapshot_seq and
                    time.monotonic() - last_snapshot > 300):
                last_snapshot = time.monotonic()
                await asyncio.to_thread(self._save_snapshot)

    def _flush_transfers(self) -> None:
        with self._pending_lock:
            pending, self._pending_transfers = self._pending_transfers, []
        if not pending:
            return
        try:
            with self.db.unit_of_work() as s:
                record_transfers(s, pending)
        except Exception as exc:
            log.warning("rpz transfer bookkeeping failed", error=str(exc))

    def _notify_all(self, serial: int) -> None:
        if self._notifier is None:
            return
        for sub in self.access.subscribers:
            self._notifier.send(sub, serial, self.store.encoder.soa(serial))

    def notify_acknowledged(self, sub: SubscriberRef, serial: int) -> None:
        def save() -> None:
            with self.db.unit_of_work() as s:
                record_notify_ack(s, sub.id, serial)
        task = asyncio.get_running_loop().run_in_executor(None, save)
        task.add_done_callback(lambda f: f.exception())

    # -- answering ---------------------------------------------------------------------------
    def answer(self, data: bytes, peer: str, *, tcp: bool) -> Iterator[bytes]:
        """The response messages for one request (none for junk); never raises.

        Synchronous: a database read, should the request need one, runs inline. Only an IXFR
        over TCP ever does, and the TCP server uses :meth:`steps` instead; UDP answers (the
        SOA, and IXFR over UDP, which gets just the SOA) never touch the database.
        """
        for step in self.steps(data, peer, tcp=tcp):
            if isinstance(step, DatabaseRead):
                step.run()
            else:
                yield step

    def steps(self, data: bytes, peer: str, *, tcp: bool) -> Iterator[Step]:
        """The response messages for one request, with a :class:`DatabaseRead` yielded
        before any message that needs the database; the caller runs it (on a worker thread)
        and then resumes the generator. Never raises."""
        try:
            yield from self._answer(data, peer, tcp=tcp)
        except Exception as exc:  # a bug must cost one answer, not the server
            log.error("rpz request failed", peer=peer, error=repr(exc))
            REFUSED.labels("error").inc()
            reply = wire.error_response(data, wire.RCODE_SERVFAIL)
            if reply:
                yield reply

    def _answer(self, data: bytes, peer: str, *, tcp: bool) -> Iterator[Step]:
        if len(data) < 12 or data[2] & 0x80:  # too short, or a response: stay silent
            REFUSED.labels("junk").inc()
            return
        try:
            q = wire.parse_query(data)
        except wire.FormError:
            REFUSED.labels("formerr").inc()
            reply = wire.error_response(data, wire.RCODE_FORMERR)
            if reply:
                yield reply
            return
        if q.opcode != wire.OP_QUERY or q.qclass != wire.CLASS_IN or q.qname != self.origin:
            REFUSED.labels("not_ours").inc()
            yield self._refuse(q)
            return
        key: wire.TsigKey | None = None
        if q.tsig is not None:
            key = self.access.keys.get(q.tsig.key_name)
            if key is None:
                self._access_stale = True
                REFUSED.labels("badkey").inc()
                log.info("rpz tsig key unknown", peer=peer,
                         key=wire.wire_to_text(q.tsig.key_name))
                yield wire.tsig_error_response(q, wire.RCODE_NOTAUTH, wire.TSIG_BADKEY)
                return
            error = wire.verify_request(q, key)
            if error:
                REFUSED.labels("badsig").inc()
                log.info("rpz tsig refused", peer=peer, key=key.label, tsig_error=error)
                yield wire.tsig_error_response(q, wire.RCODE_NOTAUTH, error)
                return
        signer = wire.TsigSigner(key, q.tsig.mac, q.id) if key and q.tsig else None
        view = self.store.view
        if q.qtype in (wire.TYPE_SOA, wire.TYPE_NS):
            rr = self.store.encoder.soa(view.serial) if q.qtype == wire.TYPE_SOA \
                else self.store.encoder.ns()
            yield self._message(q, [rr], 1, signer)
            return
        if q.qtype not in (wire.TYPE_AXFR, wire.TYPE_IXFR):
            REFUSED.labels("qtype").inc()
            yield self._refuse(q)
            return
        sub = self.access.for_key(key, peer) if key else self.access.by_address(peer)
        if key is None and sub is None:
            self._access_stale = True  # perhaps just added: look again soon
            REFUSED.labels("not_allowed").inc()
            log.info("rpz transfer refused", peer=peer, qtype=q.qtype)
            yield self._refuse(q)
            return
        if q.qtype == wire.TYPE_AXFR:
            if not tcp:
                REFUSED.labels("axfr_udp").inc()
                yield self._refuse(q)
                return
            yield from self._transfer(q, view, "AXFR", peer, key, sub, signer,
                                      self._axfr_items(view))
            return
        # IXFR
        if q.ixfr_serial is None:
            REFUSED.labels("formerr").inc()
            yield wire.header(q.id, q.flags, rcode=wire.RCODE_FORMERR, aa=False) + q.question
            return
        client = q.ixfr_serial
        if client == view.serial or serial_lt(view.serial, client) or not tcp:
            # Up to date (or ahead of us); over UDP always just the SOA: "use TCP" (RFC 1995).
            if client == view.serial:
                self._note_transfer(sub, view.serial, "UPTODATE", peer, key, 0, 0, 0.0)
            yield self._message(q, [self.store.encoder.soa(view.serial)], 1, signer)
            return
        sets = yield from self._journal_between(client, view)
        if sets is None:
            yield from self._transfer(q, view, "AXFR", peer, key, sub, signer,
                                      self._axfr_items(view), asked=client)
            return
        yield from self._transfer(q, view, "IXFR", peer, key, sub, signer,
                                  self._ixfr_items(view, sets), asked=client)

    def _refuse(self, q: wire.Query) -> bytes:
        return wire.header(q.id, q.flags, rcode=wire.RCODE_REFUSED, aa=False) + q.question

    def _message(self, q: wire.Query, rrs: list[bytes], count: int,
                 signer: wire.TsigSigner | None) -> bytes:
        msg = wire.header(q.id, q.flags, an=count) + q.question + b"".join(rrs)
        return signer.sign(msg) if signer else msg

    def _journal_between(self, client: int, view: ZoneView
                         ) -> Generator[DatabaseRead[Any], None, list[ChangeSet] | None]:
        """Change sets from ``client`` to the view's serial, or None to fall back to AXFR.

        From memory when the recent change sets reach back to ``client``; otherwise from the
        database, through a :class:`DatabaseRead` the caller runs off the event loop.
        """
        # The follower appends from a worker thread; copying is one C call under the
        # interpreter lock, where iterating the deque itself could see it change.
        recent = [cs for cs in self.recent.copy() if cs.seq <= view.seq]
        for i, cs in enumerate(recent):
            if cs.from_serial == client:
                sets: list[ChangeSet] | None = recent[i:]
                break
        else:
            read = DatabaseRead(functools.partial(self._journal_from_database, client, view))
            yield read
            sets = read.result()
        if not sets or sets[-1].serial != view.serial or sets[0].from_serial != client:
            return None
        if sum(len(cs.changes) for cs in sets) > max(view.names, 1000):
            return None  # a full transfer is smaller
        return sets

    def _journal_from_database(self, client: int, view: ZoneView) -> list[ChangeSet] | None:
        """The journal from ``client`` up to the view (None if it no longer has ``client``);
        runs on a worker thread."""
        with read_snapshot(self.db) as s:
            seq = seq_for_serial(s, client)
            if seq is None:
                return None
            return changesets_after(s, seq, up_to_seq=view.seq)

    def _axfr_items(self, view: ZoneView) -> Iterator[tuple[bytes, int]]:
        enc = self.store.encoder
        yield enc.soa(view.serial), 1
        yield enc.ns(), 1
        for chunk in view.chunks:
            yield chunk.blob, 2 * chunk.names
        yield enc.soa(view.serial), 1

    def _ixfr_items(self, view: ZoneView, sets: list[ChangeSet]) -> Iterator[tuple[bytes, int]]:
        enc = self.store.encoder
        yield enc.soa(view.serial), 1
        for cs in sets:
            yield enc.soa(cs.from_serial), 1
            for c in cs.changes:
                if c.old is not None:
                    yield enc.entry(c.name, c.old), 2
            yield enc.soa(cs.serial), 1
            for c in cs.changes:
                if c.new is not None:
                    yield enc.entry(c.name, c.new), 2
        yield enc.soa(view.serial), 1

    def _transfer(self, q: wire.Query, view: ZoneView, kind: str, peer: str,
                  key: wire.TsigKey | None, sub: SubscriberRef | None,
                  signer: wire.TsigSigner | None, items: Iterable[tuple[bytes, int]],
                  asked: int | None = None) -> Iterator[bytes]:
        t0 = time.monotonic()
        records = 0
        size = 0
        held: bytes | None = None
        for msg, count in pack(q, items):
            if held is not None:
                yield held
            records += count
            size += len(msg)
            held = signer.sign(msg) if signer else msg
        # Book the transfer before the last message leaves, so whoever sees the transfer
        # complete also sees it in the log.
        TRANSFERS.labels(kind).inc()
        self._note_transfer(sub, view.serial, kind, peer, key, records, size,
                            time.monotonic() - t0, asked)
        if held is not None:
            yield held

    def _note_transfer(self, sub: SubscriberRef | None, serial: int, kind: str, peer: str,
                       key: wire.TsigKey | None, records: int, size: int, seconds: float,
                       asked: int | None = None) -> None:
        entry = {"kind": kind, "peer": peer, "serial": serial, "from_serial": asked,
                 "records": records, "bytes": size, "seconds": round(seconds, 4),
                 "key": key.label if key else None, "subscriber": sub.id if sub else None}
        self.transfer_log.append(entry)
        if kind != "UPTODATE":
            log.info("rpz transfer", **entry)
        if sub is not None or key is not None:
            with self._pending_lock:
                self._pending_transfers.append(
                    (sub.id if sub else None, key.org_id if key else None, peer, serial,
                     "IXFR" if kind == "UPTODATE" else kind, utcnow()))

    # -- sockets -------------------------------------------------------------------------------
    async def _serve_tcp(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        ip = peer[0] if peer else "?"
        async with self._conn_limit:
            try:
                while True:
                    try:
                        head = await asyncio.wait_for(reader.readexactly(2), 30)
                        (length,) = struct.unpack(">H", head)
                        data = await asyncio.wait_for(reader.readexactly(length), 10)
                    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                        return
                    pending = 0
                    slice_start = time.monotonic()
                    for msg in self.steps(data, ip, tcp=True):
                        if isinstance(msg, DatabaseRead):
                            # Off the loop: other queries are served while the database
                            # answers (a long journal, a locked table).
                            await asyncio.get_running_loop().run_in_executor(
                                self._journal_readers, msg.run)
                            slice_start = time.monotonic()
                            continue
                        writer.write(struct.pack(">H", len(msg)) + msg)
                        pending += len(msg)
                        if pending > DRAIN_BYTES:
                            await writer.drain()
                            pending = 0
                        if time.monotonic() - slice_start > TRANSFER_SLICE:
                            # drain() returns at once while the socket keeps up: let the
                            # other requests waiting on the loop run before the next slice.
                            await asyncio.sleep(0)
                            slice_start = time.monotonic()
                    await writer.drain()
            except (ConnectionError, OSError):
                return
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()


def pack(q: wire.Query, items: Iterable[tuple[bytes, int]]) -> Iterator[tuple[bytes, int]]:
    """Group pre-encoded records into messages of at most ~64 KB, question in each."""
    parts: list[bytes] = []
    count = 0
    size = 0
    budget = MAX_BODY - len(q.question)
    for blob, n in items:
        if parts and size + len(blob) > budget:
            yield wire.header(q.id, q.flags, an=count) + q.question + b"".join(parts), count
            parts, count, size = [], 0, 0
        parts.append(blob)
        count += n
        size += len(blob)
    if parts:
        yield wire.header(q.id, q.flags, an=count) + q.question + b"".join(parts), count


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, primary: RpzPrimary) -> None:
        self.primary = primary
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self.transport is None:
            return
        for msg in self.primary.answer(data, str(addr[0]), tcp=False):
            if len(msg) > 512:  # never more than a plain UDP answer: set TC
                msg = msg[:2] + bytes([msg[2] | 0x02, msg[3]]) + b"\x00\x01" + \
                    b"\x00" * 6 + msg[12:12 + len(self.primary.origin) + 4]
            self.transport.sendto(msg, addr)


class Notifier(asyncio.DatagramProtocol):
    """Sends NOTIFY to each subscriber and retries until it is acknowledged (RFC 1996 4.6),
    or until a newer serial supersedes it."""

    RETRY_DELAYS = (0.5, 1, 2, 4, 8, 15, 30, 60)

    def __init__(self, primary: RpzPrimary) -> None:
        self.primary = primary
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, tuple[str, asyncio.Future[None]]] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if len(data) < 12:
            return
        qid, flags = struct.unpack_from(">HH", data, 0)
        if not flags & 0x8000 or (flags >> 11) & 0xF != wire.OP_NOTIFY:
            return
        waiting = self.waiting.get(qid)
        if waiting and waiting[0] == str(addr[0]) and not waiting[1].done():
            waiting[1].set_result(None)

    def send(self, sub: SubscriberRef, serial: int, soa: bytes) -> None:
        old = self.tasks.get(sub.id)
        if old is not None:
            old.cancel()
        self.tasks[sub.id] = asyncio.create_task(self._notify(sub, serial, soa))

    async def _notify(self, sub: SubscriberRef, serial: int, soa: bytes) -> None:
        loop = asyncio.get_running_loop()
        qid = random.randrange(1 << 16)
        while qid in self.waiting:
            qid = random.randrange(1 << 16)
        fut: asyncio.Future[None] = loop.create_future()
        self.waiting[qid] = (sub.notify[0], fut)
        msg = wire.notify_message(qid, self.primary.origin, soa)
        try:
            for attempt, delay in enumerate(self.RETRY_DELAYS, 1):
                if self.transport is None:
                    return
                with contextlib.suppress(OSError):
                    self.transport.sendto(msg, sub.notify)
                try:
                    await asyncio.wait_for(asyncio.shield(fut), delay)
                except TimeoutError:
                    continue
                log.info("rpz notify acknowledged", subscriber=sub.id,
                         target=f"{sub.notify[0]}:{sub.notify[1]}", serial=serial,
                         attempts=attempt)
                self.primary.notify_acknowledged(sub, serial)
                return
            log.warning("rpz notify never acknowledged", subscriber=sub.id,
                        target=f"{sub.notify[0]}:{sub.notify[1]}", serial=serial)
        finally:
            self.waiting.pop(qid, None)

    def close(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        if self.transport is not None:
            self.transport.close()


def create_service(app_state: Any) -> RpzPrimary | None:
    """The factory ``tangkal.api.app`` calls; no DNS port means no primary."""
    port = getattr(app_state, "dns_port", None)
    if not port:
        return None
    return RpzPrimary(app_state.db, app_state.settings, getattr(app_state, "dns_host",
                                                                  "127.0.0.1"), int(port))
