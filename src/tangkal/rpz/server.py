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
import heapq
import ipaddress
import random
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select

from tangkal.db.base import utcnow
from tangkal.db.session import Database
from tangkal.livegauges import forget
from tangkal.rpz import edns, limits, wakeup, wire, xot
from tangkal.rpz.journal import (
    JOURNAL_RETENTION_DAYS,
    ChangeSet,
    changesets_after,
    ensure_state,
    latest_seq,
    oldest_journal_seq,
    prune_journal,
    seq_for_serial,
    sync_landing,
)
from tangkal.rpz.models import RpzEntry, Subscriber, TsigKey
from tangkal.rpz.reader import read_snapshot
from tangkal.rpz.services import Credit, record_notify_acks, record_transfers, zone_config
from tangkal.rpz.values import RpzAction, serial_distance, serial_lt, stored_landing
from tangkal.rpz.zone import ZoneConfig, ZoneStore, ZoneView, name_to_wire
from tangkal.settings import Settings

log = structlog.get_logger("tangkal.rpz")

TRANSFERS = Counter("tangkal_rpz_transfers_total", "Zone transfers served", ["kind"])
REFUSED = Counter("tangkal_rpz_refused_total", "DNS requests refused or malformed", ["reason"])
# The gauges below are set by the one process running the RPZ primary (under --workers N
# the worker elected in tangkal.api.asgi): "livemostrecent" shows that process's value, one
# series without a pid label, and forgets it when the process dies (tangkal.api.workers).
SERIAL = Gauge("tangkal_rpz_serial", "SOA serial being served", multiprocess_mode="livemostrecent")
NAMES = Gauge("tangkal_rpz_names", "Names in the served zone", multiprocess_mode="livemostrecent")
# Per subscriber: one label value per registered subscriber (its id) and the ISP's name,
# which the id determines, so the series are as many as subscribers: hundreds nationally,
# a few thousand at most, well within what one Prometheus keeps. Nothing per request,
# address or serial becomes a label.
SUB_LAG = Gauge(
    "tangkal_rpz_subscriber_lag_serials",
    "Serials between the one served and the one last credited to the subscriber "
    "(its group's, when credited as a group); absent until its first transfer",
    ["subscriber", "org"],
    multiprocess_mode="livemostrecent",
)
SUB_LAST_TRANSFER = Gauge(
    "tangkal_rpz_subscriber_last_transfer_timestamp_seconds",
    "When the subscriber (or its group) was last credited a transfer",
    ["subscriber", "org"],
    multiprocess_mode="livemostrecent",
)
NEVER_TRANSFERRED = Gauge(
    "tangkal_rpz_subscribers_never_transferred",
    "Subscribers with no transfer credited yet",
    multiprocess_mode="livemostrecent",
)
GROUP_CREDITED = Gauge(
    "tangkal_rpz_subscribers_credited_as_group",
    "Subscribers whose last transfer could only be credited to a group",
    multiprocess_mode="livemostrecent",
)
NOTIFY_FAILURES = Counter(
    "tangkal_rpz_notify_failures_total",
    "NOTIFY never acknowledged after every retry (RFC 1996 4.6)",
    ["subscriber", "org"],
)
NOTIFY_SENT = Counter("tangkal_rpz_notify_sent_total", "NOTIFY datagrams sent, retries included")
NOTIFY_ACKED = Counter("tangkal_rpz_notify_acknowledged_total", "NOTIFY acknowledgements")
APPLY_LATENCY = Histogram(
    "tangkal_rpz_commit_to_served_seconds",
    "From change-set commit to being served",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

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
# Transfer log lines: one per transfer up to this rate, then counts (see _may_log).
TRANSFER_LOG_RATE = 20.0
TRANSFER_LOG_BURST = 200

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
    key: str | None = None  # the one TSIG key it signs with, when registered
    source: str | None = None  # the address it transfers from, when registered
    source_port: int | None = None  # and the port, when registered
    org: str = ""  # the ISP's name, for metrics and logs


@dataclass(frozen=True, slots=True)
class Identified:
    """Who a transfer came from: one subscriber, or the group that cannot be told apart."""

    subscribers: tuple[SubscriberRef, ...]
    by: str  # what told them apart, e.g. "key+source-port"; "+group" when nothing did

    @property
    def group(self) -> bool:
        return len(self.subscribers) > 1


class Access:
    """Keys and subscribers as the server sees them, indexed for identifying a transfer.

    The rule (docs/rpz-subscribers.md): a signed request comes from a subscriber bound to
    that key, or else from one of the key's organisation bound to no key; an unsigned one
    from a subscriber whose allow-list holds the source address. A registered transfer
    source (address, and port) excludes subscribers it does not match; a port that matches
    picks out its subscriber. Of several left, those whose NOTIFY address is the source
    address are taken when that narrows them. Whatever remains is credited together.
    Lookups are by dictionary, so ten thousand subscribers cost no more per transfer than
    ten.
    """

    def __init__(
        self,
        keys: dict[bytes, wire.TsigKey] | None = None,
        subscribers: tuple[SubscriberRef, ...] = (),
    ) -> None:
        self.keys = keys or {}
        self.subscribers = subscribers
        self.by_key: dict[str, list[SubscriberRef]] = {}
        self.by_org_unbound: dict[str, list[SubscriberRef]] = {}
        self.by_ip: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, list[SubscriberRef]] = {}
        self.wide: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, SubscriberRef]] = []
        for sub in subscribers:
            if sub.key is not None:
                self.by_key.setdefault(sub.key, []).append(sub)
            else:
                self.by_org_unbound.setdefault(sub.org_id, []).append(sub)
            for net in sub.nets:
                if net.num_addresses == 1:
                    self.by_ip.setdefault(net.network_address, []).append(sub)
                else:
                    self.wide.append((net, sub))

    def allowed_unsigned(self, ip: str) -> list[SubscriberRef]:
        """Subscribers whose allow-list holds ``ip`` (who may transfer without TSIG)."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return []
        found = list(self.by_ip.get(addr, ()))
        found += [sub for net, sub in self.wide if addr in net and sub not in found]
        return found

    def by_address(self, ip: str) -> SubscriberRef | None:
        """The first subscriber allowed to transfer unsigned from ``ip`` (kept for callers
        that only ask whether any is)."""
        found = self.allowed_unsigned(ip)
        return found[0] if found else None

    def identify(self, key: wire.TsigKey | None, ip: str, port: int | None) -> Identified | None:
        """Whom a transfer from ``ip``:``port`` (signed with ``key``, or not) is credited to;
        None when no subscriber can have sent it."""
        by: list[str] = []
        if key is not None:
            cands = self.by_key.get(key.label)
            if cands:
                by.append("key")
            else:
                cands = self.by_org_unbound.get(key.org_id, [])
                by.append("organisation-key")
        else:
            cands = self.allowed_unsigned(ip)
            by.append("allow-ip")
        with contextlib.suppress(ValueError):
            ip = str(ipaddress.ip_address(ip))  # one spelling, as the registration has it
        cands = [s for s in cands if s.source is None or s.source == ip]
        exact = [s for s in cands if s.source_port is not None and s.source_port == port]
        if not exact:  # a subscriber with a registered port never transfers from another
            cands = [s for s in cands if s.source_port is None]
        if any(s.source == ip for s in exact or cands):
            by.append("source-address")
        if exact:
            cands = exact
            by.append("source-port")
        if len(cands) > 1:
            near = [s for s in cands if (s.source or s.notify[0]) == ip]
            if near and len(near) < len(cands):
                cands = near
                by.append("notify-address")
        if not cands:
            return None
        if len(cands) > 1:
            by.append("group")
            cands = sorted(cands, key=lambda s: s.id)
        return Identified(tuple(cands), "+".join(by))

    def for_key(self, key: wire.TsigKey, ip: str) -> SubscriberRef | None:
        """One subscriber for a signed transfer (compatibility: :meth:`identify` is the
        rule; this answers only when it names exactly one)."""
        found = self.identify(key, ip, None)
        return found.subscribers[0] if found and not found.group else None


Stored = dict[str, tuple[int | None, tuple[str, ...], float]]


def load_access(db: Database) -> tuple[Access, Stored]:
    """The access list, and each subscriber's last credit as the database has it (serial,
    the group it was shared with, when). Plain rows, no ORM objects: it is read again
    whenever keys or subscribers change, and ten thousand of them should cost milliseconds."""
    import base64

    from tangkal.accounts.models import Organization

    k, sb = TsigKey.__table__.c, Subscriber.__table__.c
    with read_snapshot(db) as s:
        keys = {}
        for name, secret, org_id in s.execute(
            select(k.name, k.secret, k.org_id).where(k.revoked_at.is_(None))
        ):
            keys[name_to_wire(name)] = wire.TsigKey(
                name_to_wire(name), base64.b64decode(secret), name, org_id
            )
        names = dict(
            s.execute(
                select(Organization.id, Organization.name).where(
                    Organization.id.in_(select(sb.org_id).distinct())
                )
            ).all()
        )
        subs = []
        serials: Stored = {}
        for row in s.execute(
            select(
                sb.id,
                sb.org_id,
                sb.notify_host,
                sb.notify_port,
                sb.allow_ips,
                sb.tsig_key_name,
                sb.transfer_host,
                sb.transfer_port,
                sb.last_serial,
                sb.credit_shared_with,
                sb.last_transfer_at,
            )
        ):
            subs.append(
                SubscriberRef(
                    row.id,
                    row.org_id,
                    (row.notify_host, int(row.notify_port)),
                    tuple(ipaddress.ip_network(n, strict=False) for n in (row.allow_ips or [])),
                    row.tsig_key_name,
                    row.transfer_host,
                    int(row.transfer_port) if row.transfer_port else None,
                    str(names.get(row.org_id, "")),
                )
            )
            at = row.last_transfer_at
            serials[row.id] = (
                None if row.last_serial is None else int(row.last_serial),
                tuple(row.credit_shared_with or ()),
                at.timestamp() if isinstance(at, datetime) else 0.0,
            )
    return Access(keys, tuple(subs)), serials


def access_fingerprint(db: Database) -> tuple[Any, ...]:
    """What changes whenever a key or subscriber is added, removed or revoked: one cheap
    query, so the access list is re-read only then (every 2 s it was read in full)."""
    k, sb = TsigKey.__table__.c, Subscriber.__table__.c
    with read_snapshot(db) as s:
        keys = s.execute(
            select(
                func.count(),
                func.max(k.created_at),
                func.max(k.revoked_at),
                func.count(k.revoked_at),
            )
        ).one()
        subs = s.execute(select(func.count(), func.max(sb.created_at))).one()
    return (*keys, *subs)


class RpzPrimary:
    """Background service: ``start()`` loads the zone and opens the sockets."""

    name = "rpz"

    def __init__(
        self,
        db: Database,
        settings: Settings,
        host: str,
        port: int,
        *,
        poll_interval: float | None = None,
        snapshot_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.host = host
        self.port = port
        self.poll_interval = poll_interval or settings.rpz_poll_interval
        self.config: ZoneConfig = zone_config(settings)
        self.origin = name_to_wire(self.config.origin)
        self.snapshot_path = (snapshot_dir or Path(settings.data_dir) / "rpz") / (
            self.config.origin.rstrip(".") + ".snapshot"
        )
        self.store = ZoneStore(self.config)
        self.access = Access()
        self.recent: collections.deque[ChangeSet] = collections.deque()
        self.recent_changes = 0
        self.transfer_log: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)
        self._pending_transfers: list[Credit] = []
        self._pending_acks: list[tuple[str, int, datetime]] = []
        # The serial each subscriber was last credited (its slot, for a group member) and
        # the group it was credited with: the state identification and lag are computed
        # from, ahead of the batched writes to the database.
        self.credits: dict[str, int | None] = {}
        self.credited_at: dict[str, float] = {}
        self.groups: dict[str, tuple[str, ...]] = {}
        self._lag_dirty = True
        self._lag_updated = 0.0
        self._lag_shown: set[tuple[str, str]] = set()  # subscribers with series in /metrics
        self._access_stale = False
        # Transfers no subscriber could be found for (key, ip, port, serial, kind, asked,
        # when): bounded, retried after each refresh for a minute.
        self._unmatched: collections.deque[
            tuple[wire.TsigKey | None, str, int | None, int, str, int | None, float]
        ] = collections.deque(maxlen=10_000)
        self._pending_lock = threading.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self._tcp: asyncio.base_events.Server | None = None
        self._xot: socket.socket | None = None  # zone transfer over TLS: its listener
        self._xot_udp: asyncio.DatagramTransport | None = None  # its SOA over UDP
        self._connections: set[asyncio.Task[None]] = set()  # XoT connections being served
        self.xot_port = settings.rpz_xot_port
        self._udp: asyncio.DatagramTransport | None = None
        self._notifier: Notifier | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.listening = False  # the PostgreSQL LISTEN connection is up
        self._unwatch: Callable[[], None] | None = None  # stops the SQLite file watch
        self._access_refreshed = 0.0
        self._access_mark: tuple[Any, ...] | None = None
        self._log_budget = float(TRANSFER_LOG_BURST)
        self._log_filled = time.monotonic()
        self._unlogged: collections.Counter[str] = collections.Counter()
        self._snapshot_seq = -1
        self.limits = limits.TcpLimits.from_settings(settings)
        self.refusals = limits.Refusals()
        self._gate = limits.Gate(self.limits, self.refusals)
        self._refusals_logged = time.monotonic()
        self._journal_readers = ThreadPoolExecutor(
            JOURNAL_READERS, thread_name_prefix="rpz-journal"
        )
        self.started_at = 0.0
        self.ready_at = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self.started_at = time.monotonic()
        await asyncio.to_thread(self._load)
        self._access_mark = await asyncio.to_thread(access_fingerprint, self.db)
        self._take_access(*await asyncio.to_thread(load_access, self.db))
        self._access_refreshed = time.monotonic()
        loop = asyncio.get_running_loop()
        # A deep accept queue: after a NOTIFY round thousands of subscribers connect within
        # milliseconds, and the default of 100 makes the rest retry their SYN a second
        # later (the kernel caps it at net.core.somaxconn).
        self._tcp = await asyncio.start_server(
            self._serve_tcp, self.host, self.port, reuse_address=True, limit=1 << 16, backlog=4096
        )
        if self.xot_port is not None:
            await self._start_xot()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(self.host, self.port)
        )
        self._udp = transport
        _ntransport, nproto = await loop.create_datagram_endpoint(
            lambda: Notifier(self), local_addr=(self.host, 0)
        )
        self._notifier = nproto
        self.ready_at = time.monotonic()
        self._loop = loop
        wakeup.subscribe(self.wake)
        database = self.db.engine.url.database
        if self.db.is_sqlite and database and database != ":memory:":
            self._unwatch = wakeup.watch_sqlite(Path(database).resolve(), self._wake.set, loop)
        elif not self.db.is_sqlite:
            self._tasks.append(
                asyncio.create_task(
                    wakeup.listen(self.db.url, self._wake.set, on_state=self._listening),
                    name="rpz-listen",
                )
            )
        view = self.store.view
        SERIAL.set(view.serial)
        NAMES.set(view.names)
        log.info(
            "rpz primary serving",
            zone=self.config.origin,
            host=self.host,
            port=self.port,
            xot_port=self.xot_port,
            serial=view.serial,
            names=view.names,
            startup_seconds=round(self.ready_at - self.started_at, 3),
        )
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
        if self._xot_udp is not None:
            self._xot_udp.close()
        if self._xot is not None:  # its accept task was cancelled with the others
            self._xot.close()
        if self._udp is not None:
            self._udp.close()
        if self._notifier is not None:
            self._notifier.close()
        # A read still waiting on the database finishes on its own; nothing waits for it.
        self._journal_readers.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._flush_transfers)
        if self.store.view.seq != self._snapshot_seq:
            await asyncio.to_thread(self._save_snapshot)

    async def _start_xot(self) -> None:
        """The XoT listener (RFC 9103): plain TCP accepted through the same gate as the DNS
        port, then TLS (``tangkal.rpz.xot``); the certificate was checked with the
        settings, so a failure here is only the port being taken."""
        cert, key = self.settings.rpz_xot_cert_file, self.settings.rpz_xot_key_file
        port = self.xot_port
        assert cert is not None and key is not None and port  # the settings require all three
        ctx = xot.server_context(cert, key)
        self._xot = xot.listen(self.host, port)
        self._tasks.append(
            asyncio.create_task(
                xot.accept(self._xot, functools.partial(self._accept_xot, ctx)), name="rpz-xot"
            )
        )
        # SOA over UDP on the same port: Unbound probes the serial with a plain UDP query
        # to the port it transfers from (its `primary: addr@port#name`), and without an
        # answer never starts the transfer. The SOA is no secret (the plain port gives it
        # to anyone); a transfer over UDP is refused as on the plain port.
        self._xot_udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(self.host, port)
        )

    # -- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        with self.db.unit_of_work() as s:
            ensure_state(s)
            sync_landing(s, self.config.default_landing)  # a changed landing: new serial
        store = ZoneStore.load_snapshot(self.snapshot_path, self.config)
        if store is not None and self._snapshot_usable(store.view):
            self.store = store
            self._snapshot_seq = store.view.seq
            replayed = self._catch_up()
            log.info(
                "rpz zone loaded from snapshot",
                serial=self.store.view.serial,
                names=self.store.view.names,
                replayed_changesets=replayed,
            )
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
            rows = (
                s.connection()
                .execution_options(yield_per=50_000)
                .exec_driver_sql(
                    f"SELECT name, action, landing FROM {RpzEntry.__tablename__} ORDER BY name"
                )
            )
            self.store = ZoneStore.build(
                self.config,
                ((n, actions[a], stored_landing(lt)) for n, a, lt in rows),
                serial=serial,
                seq=seq,
            )
        log.info(
            "rpz zone built from database",
            serial=serial,
            names=self.store.view.names,
            seconds=round(time.monotonic() - t0, 3),
        )
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
        log.info(
            "rpz snapshot written",
            serial=view.serial,
            names=view.names,
            seconds=round(time.monotonic() - t0, 3),
        )

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
                log.warning("rpz journal does not reach our serial; rebuilding", ours=view.seq)
                self._build_from_database()
                return applied
            now = utcnow()
            for cs in sets:
                if cs.from_serial != self.store.view.serial:
                    log.warning("rpz journal out of step; rebuilding", seq=cs.seq)
                    self._build_from_database()
                    return applied
                self.store.apply(
                    ((c.name, c.new, c.new_landing) for c in cs.changes),
                    serial=cs.serial,
                    seq=cs.seq,
                )
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
                # NOTIFY first, with the access list as it is: a subscriber added since
                # the last refresh is told by the refresh itself (_take_access), so reading
                # thousands of subscribers never stands between a change and its NOTIFYs.
                self._notify_all(view.serial)
                self._lag_dirty = True  # every subscriber is one serial further behind
                await self._refresh_access(force=True)

    async def _refresh_access(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._access_refreshed < 2:
            return
        self._access_refreshed = time.monotonic()
        try:
            mark = await asyncio.to_thread(access_fingerprint, self.db)
            if mark == self._access_mark:
                return  # no key or subscriber added, removed or revoked: nothing to read
            access, stored = await asyncio.to_thread(load_access, self.db)
            self._access_mark = mark
            self._take_access(access, stored)
        except Exception as exc:
            log.warning("rpz access list not refreshed", error=str(exc))

    def _take_access(self, access: Access, stored: Stored) -> None:
        """Use a freshly read access list. Credits this server made stay as they are (the
        database may not have them yet); the database's fill in the rest (another server
        process, or before a restart). Subscribers new to this server get a NOTIFY of the
        serial being served."""
        known = {sub.id for sub in self.access.subscribers}
        self.access = access
        if self._notifier is not None:  # None during start(), which then notifies all
            current = self.store.view.serial
            for sub in access.subscribers:
                if sub.id not in known:
                    self._notifier.send(sub, current, self.store.encoder.soa(current))
        for sub_id, (serial, shared, at) in stored.items():
            if sub_id not in self.credits:
                self.credits[sub_id] = serial
                if at:
                    self.credited_at[sub_id] = at
                if shared:
                    self.groups[sub_id] = shared
        for gone in set(self.credits) - set(stored):
            self.credits.pop(gone, None)
            self.groups.pop(gone, None)
            self.credited_at.pop(gone, None)
        self._lag_dirty = True

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
                self._rematch()
            await self._refresh_access()
            if self._pending_transfers or self._pending_acks:
                await asyncio.to_thread(self._flush_transfers)
            if self._lag_dirty:
                self._update_lag_metrics()
            if time.monotonic() - self._refusals_logged >= self.limits.log_interval:
                self._refusals_logged = time.monotonic()
                summary = self.refusals.take()
                if summary:
                    log.warning(
                        "rpz refused (summary)", interval=self.limits.log_interval, **summary
                    )
            if self._unlogged and self._log_budget >= 1:
                counts, self._unlogged = dict(self._unlogged), collections.Counter()
                log.info("rpz transfers not logged one by one", **counts)
            if time.monotonic() - last_prune > PRUNE_EVERY:
                last_prune = time.monotonic()
                await asyncio.to_thread(self._prune)
            if self.store.view.seq != self._snapshot_seq and time.monotonic() - last_snapshot > 300:
                last_snapshot = time.monotonic()
                await asyncio.to_thread(self._save_snapshot)

    def _flush_transfers(self) -> None:
        """Write the credits and NOTIFY acknowledgements gathered since the last flush, in
        one transaction: after a NOTIFY round to thousands of subscribers that is one
        commit, not thousands."""
        with self._pending_lock:
            pending, self._pending_transfers = self._pending_transfers, []
            acks, self._pending_acks = self._pending_acks, []
        if not pending and not acks:
            return
        try:
            with self.db.unit_of_work() as s:
                record_transfers(s, pending)
                record_notify_acks(s, acks)
        except Exception as exc:
            log.warning("rpz transfer bookkeeping failed", error=str(exc))

    def _update_lag_metrics(self) -> None:
        """Per-subscriber lag in /metrics, from the credits in memory: O(subscribers), so
        run by the housekeeping at most once a second, never per transfer (ten thousand
        subscribers cost ~50 ms a pass)."""
        if time.monotonic() - self._lag_updated < 1.0:
            return
        self._lag_updated = time.monotonic()
        self._lag_dirty = False
        serial = self.store.view.serial
        never = grouped = 0
        shown: set[tuple[str, str]] = set()
        for sub in self.access.subscribers:
            members = self.groups.get(sub.id, ())
            held = [c for c in (self.credits.get(i) for i in (sub.id, *members)) if c is not None]
            if members:
                grouped += 1
            if not held:
                never += 1
                forget(SUB_LAG, sub.id, sub.org)
                continue
            shown.add((sub.id, sub.org))
            newest = held[0]
            for c in held[1:]:
                if serial_lt(newest, c):
                    newest = c
            SUB_LAG.labels(sub.id, sub.org).set(serial_distance(newest, serial))
            at = max((self.credited_at.get(i, 0.0) for i in (sub.id, *members)), default=0.0)
            if at:
                SUB_LAST_TRANSFER.labels(sub.id, sub.org).set(at)
        for gone in self._lag_shown - shown:  # no longer a subscriber (or no credit left)
            forget(SUB_LAG, *gone)
            forget(SUB_LAST_TRANSFER, *gone)
        self._lag_shown = shown
        NEVER_TRANSFERRED.set(never)
        GROUP_CREDITED.set(grouped)

    def _notify_all(self, serial: int) -> None:
        if self._notifier is None:
            return
        for sub in self.access.subscribers:
            self._notifier.send(sub, serial, self.store.encoder.soa(serial))

    def notify_acknowledged(self, sub: SubscriberRef, serial: int) -> None:
        """Booked with the transfers (one write per housekeeping pass, not one per ack)."""
        with self._pending_lock:
            self._pending_acks.append((sub.id, serial, utcnow()))

    # -- answering ---------------------------------------------------------------------------
    def answer(
        self, data: bytes, peer: str, *, tcp: bool, peer_port: int | None = None
    ) -> Iterator[bytes]:
        """The response messages for one request (none for junk); never raises.

        Synchronous: a database read, should the request need one, runs inline. Only an IXFR
        over TCP ever does, and the TCP server uses :meth:`steps` instead; UDP answers (the
        SOA, and IXFR over UDP, which gets just the SOA) never touch the database.
        """
        for step in self.steps(data, peer, tcp=tcp, peer_port=peer_port):
            if isinstance(step, DatabaseRead):
                step.run()
            else:
                yield step

    def steps(
        self, data: bytes, peer: str, *, tcp: bool, peer_port: int | None = None
    ) -> Iterator[Step]:
        """The response messages for one request, with a :class:`DatabaseRead` yielded
        before any message that needs the database; the caller runs it (on a worker thread)
        and then resumes the generator. Never raises."""
        try:
            yield from self._answer(data, peer, tcp=tcp, peer_port=peer_port)
        except Exception as exc:  # a bug must cost one answer, not the server
            log.error("rpz request failed", peer=peer, error=repr(exc))
            REFUSED.labels("error").inc()
            reply = wire.error_response(data, wire.RCODE_SERVFAIL)
            if reply:
                yield reply

    def _answer(
        self, data: bytes, peer: str, *, tcp: bool, peer_port: int | None = None
    ) -> Iterator[Step]:
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
                if self.refusals.note("badkey", peer):  # else counted in the summary
                    log.info(
                        "rpz tsig key unknown", peer=peer, key=wire.wire_to_text(q.tsig.key_name)
                    )
                yield wire.tsig_error_response(q, wire.RCODE_NOTAUTH, wire.TSIG_BADKEY)
                return
            error = wire.verify_request(q, key)
            if error:
                REFUSED.labels("badsig").inc()
                if self.refusals.note("badsig", peer):
                    log.info("rpz tsig refused", peer=peer, key=key.label, tsig_error=error)
                yield wire.tsig_error_response(q, wire.RCODE_NOTAUTH, error)
                return
        signer = wire.TsigSigner(key, q.tsig.mac, q.id) if key and q.tsig else None
        if q.edns is not None and q.edns.version != 0:
            # RFC 6891 6.1.3: an EDNS version we do not speak: BADVERS, our OPT saying 0.
            REFUSED.labels("badvers").inc()
            msg = wire.answer_header(q, rcode=edns.RCODE_BADVERS, aa=False) + q.opt
            yield signer.sign(msg) if signer else msg
            return
        limit = wire.MAX_MESSAGE if tcp else q.udp_limit
        view = self.store.view
        if q.qtype in (wire.TYPE_SOA, wire.TYPE_NS):
            rr = (
                self.store.encoder.soa(view.serial)
                if q.qtype == wire.TYPE_SOA
                else self.store.encoder.ns()
            )
            yield self._message(q, [rr], 1, signer, limit)
            return
        if q.qtype not in (wire.TYPE_AXFR, wire.TYPE_IXFR):
            REFUSED.labels("qtype").inc()
            yield self._refuse(q)
            return
        if key is None and not self.access.allowed_unsigned(peer):
            self._access_stale = True  # perhaps just added: look again soon
            REFUSED.labels("not_allowed").inc()
            if self.refusals.note("not_allowed", peer):
                log.info("rpz transfer refused", peer=peer, qtype=q.qtype)
            yield self._refuse(q)
            return
        sub = self.access.identify(key, peer, peer_port)
        if q.qtype == wire.TYPE_AXFR:
            if not tcp:
                REFUSED.labels("axfr_udp").inc()
                yield self._refuse(q)
                return
            yield from self._transfer(
                q, view, "AXFR", peer, key, sub, signer, self._axfr_items(view), peer_port=peer_port
            )
            return
        # IXFR
        if q.ixfr_serial is None:
            REFUSED.labels("formerr").inc()
            yield wire.answer_header(q, rcode=wire.RCODE_FORMERR, aa=False) + q.opt
            return
        client = q.ixfr_serial
        if client == view.serial or serial_lt(view.serial, client) or not tcp:
            # Up to date (or ahead of us); over UDP always just the SOA: "use TCP" (RFC 1995).
            if client == view.serial:
                self._note_transfer(
                    sub, view.serial, "UPTODATE", peer, key, 0, 0, 0.0, peer_port=peer_port
                )
            yield self._message(q, [self.store.encoder.soa(view.serial)], 1, signer, limit)
            return
        sets = yield from self._journal_between(client, view)
        if sets is None:
            yield from self._transfer(
                q,
                view,
                "AXFR",
                peer,
                key,
                sub,
                signer,
                self._axfr_items(view),
                asked=client,
                peer_port=peer_port,
            )
            return
        yield from self._transfer(
            q,
            view,
            "IXFR",
            peer,
            key,
            sub,
            signer,
            self._ixfr_items(view, sets),
            asked=client,
            peer_port=peer_port,
        )

    def _refuse(self, q: wire.Query) -> bytes:
        return wire.answer_header(q, rcode=wire.RCODE_REFUSED, aa=False) + q.opt

    def _message(
        self,
        q: wire.Query,
        rrs: list[bytes],
        count: int,
        signer: wire.TsigSigner | None,
        limit: int = wire.MAX_MESSAGE,
    ) -> bytes:
        """One answer message; over UDP, when it (with its TSIG) exceeds what the requester
        can take (``limit``: its EDNS payload size, or 512 without EDNS), the question and
        OPT alone with TC set, so that it asks again over TCP (RFC 6891 7, RFC 1035)."""
        body = b"".join(rrs)
        msg = wire.answer_header(q, an=count) + body + q.opt
        if len(msg) + (signer.overhead if signer else 0) > limit:
            msg = wire.answer_header(q, tc=True) + q.opt
        return signer.sign(msg) if signer else msg

    def _journal_between(
        self, client: int, view: ZoneView
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
            yield chunk.blob, chunk.records
        yield enc.soa(view.serial), 1

    def _ixfr_items(self, view: ZoneView, sets: list[ChangeSet]) -> Iterator[tuple[bytes, int]]:
        enc = self.store.encoder
        yield enc.soa(view.serial), 1
        for cs in sets:
            yield enc.soa(cs.from_serial), 1
            for c in cs.changes:
                if c.old is not None:
                    yield enc.entry(c.name, c.old, c.old_landing), enc.count(c.old, c.old_landing)
            yield enc.soa(cs.serial), 1
            for c in cs.changes:
                if c.new is not None:
                    yield enc.entry(c.name, c.new, c.new_landing), enc.count(c.new, c.new_landing)
        yield enc.soa(view.serial), 1

    def _transfer(
        self,
        q: wire.Query,
        view: ZoneView,
        kind: str,
        peer: str,
        key: wire.TsigKey | None,
        sub: Identified | None,
        signer: wire.TsigSigner | None,
        items: Iterable[tuple[bytes, int]],
        asked: int | None = None,
        peer_port: int | None = None,
    ) -> Iterator[bytes]:
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
        self._note_transfer(
            sub,
            view.serial,
            kind,
            peer,
            key,
            records,
            size,
            time.monotonic() - t0,
            asked,
            peer_port=peer_port,
        )
        if held is not None:
            yield held

    def _note_transfer(
        self,
        ident: Identified | None,
        serial: int,
        kind: str,
        peer: str,
        key: wire.TsigKey | None,
        records: int,
        size: int,
        seconds: float,
        asked: int | None = None,
        *,
        peer_port: int | None = None,
    ) -> None:
        entry = {
            "kind": kind,
            "peer": peer,
            "serial": serial,
            "from_serial": asked,
            "records": records,
            "bytes": size,
            "seconds": round(seconds, 4),
            "key": key.label if key else None,
            "subscriber": ",".join(s.id for s in ident.subscribers) if ident else None,
            "identified_by": ident.by if ident else None,
        }
        self.transfer_log.append(entry)
        if kind != "UPTODATE":
            if self._may_log():
                log.info("rpz transfer", **entry)
            else:
                self._unlogged[kind] += 1
        if ident is not None:
            self._credit(ident, serial, kind, asked)
        else:
            # Perhaps a subscriber added since the access list was read (the key was
            # already known): look again after the next refresh, then credit it.
            self._access_stale = True
            self._unmatched.append((key, peer, peer_port, serial, kind, asked, time.monotonic()))

    def _rematch(self) -> None:
        """Credit transfers that matched no subscriber when served, now that the access
        list is fresh; those still unmatched after a minute are logged and dropped."""
        waiting, self._unmatched = list(self._unmatched), collections.deque(maxlen=10_000)
        for key, peer, port, serial, kind, asked, at in waiting:
            ident = self.access.identify(key, peer, port)
            if ident is not None:
                self._credit(ident, serial, kind, asked)
            elif time.monotonic() - at < 60:
                self._unmatched.append((key, peer, port, serial, kind, asked, at))
                self._access_stale = True
            else:
                log.info(
                    "rpz transfer matches no subscriber",
                    peer=peer,
                    key=key.label if key else None,
                    serial=serial,
                )

    def _may_log(self) -> bool:
        """At most TRANSFER_LOG_RATE transfer lines a second (bursts of TRANSFER_LOG_BURST):
        a round to ten thousand subscribers is a summary line, not ten thousand lines that
        cost more than the transfers (the housekeeping logs what was left out)."""
        now = time.monotonic()
        self._log_budget = min(
            float(TRANSFER_LOG_BURST),
            self._log_budget + (now - self._log_filled) * TRANSFER_LOG_RATE,
        )
        self._log_filled = now
        if self._log_budget >= 1:
            self._log_budget -= 1
            return True
        return False

    def _credit(self, ident: Identified, serial: int, kind: str, asked: int | None) -> None:
        """Credit a transfer: to its subscriber, or to the group it could not be told apart
        from. A group's members are slots of one multiset of serials: the transfer moves one
        slot (the one at the serial the IXFR asked from; else one never credited; else the
        furthest behind) and every member is told it shares the credit, so the API shows the
        group, never one member chosen at random (docs/rpz-subscribers.md)."""
        subs = ident.subscribers
        mover: SubscriberRef | None = subs[0]
        if ident.group:
            held = [(sub, self.credits.get(sub.id)) for sub in subs]
            mover = next((sub for sub, c in held if asked is not None and c == asked), None)
            if mover is None and kind == "UPTODATE" and any(c == serial for _s, c in held):
                mover = None  # one already holds it: an up-to-date answer proves no more
            elif mover is None:
                mover = (
                    next((sub for sub, c in held if c is None), None)
                    or max(held, key=lambda h: serial_distance(h[1] or 0, serial))[0]
                )
        now = utcnow()
        stored_kind = "IXFR" if kind == "UPTODATE" else kind
        ids = tuple(sub.id for sub in subs)
        credits = []
        for sub in subs:
            others = tuple(i for i in ids if i != sub.id)
            moved = sub is mover
            if moved:
                self.credits[sub.id] = serial
                self.credited_at[sub.id] = time.time()
            if others:
                self.groups[sub.id] = others
            else:
                self.groups.pop(sub.id, None)
            credits.append(
                Credit(sub.id, serial if moved else None, stored_kind, now, ident.by, others)
            )
        self._lag_dirty = True
        with self._pending_lock:
            self._pending_transfers.extend(credits)

    # -- sockets -------------------------------------------------------------------------------
    def _signed(self, data: bytes) -> bool:
        """Whether a request carries a valid TSIG signature of a key we know: what makes an
        unlisted address's connection a subscriber's (limits.Gate)."""
        try:
            q = wire.parse_query(data)
        except Exception:
            return False
        key = self.access.keys.get(q.tsig.key_name) if q.tsig is not None else None
        return key is not None and wire.verify_request(q, key) == 0

    def _accept_xot(self, ctx: ssl.SSLContext, conn: socket.socket, peer: Any) -> None:
        """A new XoT connection, not read from yet: admitted by the same gate as the plain
        port first, so that the TLS handshake is only done for a connection the limits let
        in, and within the time a new connection has for its first query."""
        ip = str(peer[0]) if peer else "?"
        port = int(peer[1]) if peer else None
        ticket = self._gate.admit(
            ip, bool(self.access.allowed_unsigned(ip)), functools.partial(xot.shut, conn)
        )
        if ticket is None:  # counted in the refusal summary; no line of its own
            conn.close()
            return
        task = asyncio.get_running_loop().create_task(self._serve_xot(ctx, conn, ticket, ip, port))
        self._connections.add(task)  # held until done (the loop keeps weak references)
        task.add_done_callback(self._connections.discard)

    async def _serve_xot(
        self,
        ctx: ssl.SSLContext,
        conn: socket.socket,
        ticket: limits.Ticket,
        ip: str,
        port: int | None,
    ) -> None:
        stream = await xot.upgrade(conn, ctx, self.limits.idle_first)
        if stream is None:
            # Not TLS (a plain DNS client on the XoT port), TLS before 1.3, another ALPN,
            # or too slow: closed at once, counted like any other early close.
            self._gate.refuse("tls", ip)
            REFUSED.labels("tls").inc()
            self._gate.release(ticket)
            return
        reader, writer = stream
        ticket.close = writer.transport.abort  # evicting it closes the TLS connection
        await self._serve_stream(reader, writer, ticket, ip, port)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        ip = peer[0] if peer else "?"
        port = int(peer[1]) if peer else None

        def close() -> None:  # at once, no lingering: refused or evicted
            transport = getattr(writer, "transport", None)
            if transport is not None:
                transport.abort()
            else:
                writer.close()

        ticket = self._gate.admit(ip, bool(self.access.allowed_unsigned(ip)), close)
        if ticket is None:  # counted in the refusal summary; no line of its own
            close()
            return
        await self._serve_stream(reader, writer, ticket, ip, port)

    async def _serve_stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ticket: limits.Ticket,
        ip: str,
        port: int | None,
    ) -> None:
        """The queries of one admitted connection, plain TCP or XoT, until it closes."""
        try:
            keep = True
            while keep:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps each read
                # in a task of its own, three per transfer, which a NOTIFY round to
                # thousands of subscribers pays thousands of times (bench.fanout).
                # Silent connections are closed soon (RFC 7766 6.2.3): a new or anonymous
                # one after idle_first, a subscriber's after idle; a transfer being
                # written is not idle and is not cut.
                wait = (
                    self.limits.idle if ticket.state == "authenticated" else self.limits.idle_first
                )
                try:
                    async with asyncio.timeout(wait):
                        head = await reader.readexactly(2)
                    (length,) = struct.unpack(">H", head)
                    async with asyncio.timeout(self.limits.idle_first):
                        data = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                if len(data) < 12 or data[2] & 0x80:
                    # Not a request (too short for a header, or a response): nothing a
                    # client sends, and what keeps a flood's connection "busy" with
                    # two bytes at a time. Closed, counted (RFC 7766 6.2.3).
                    self._gate.refuse("junk", ip)
                    REFUSED.labels("junk").inc()
                    return
                if ticket.state == "pending":
                    keep = self._gate.first_message(ticket, self._signed(data))
                pending = 0
                slice_start = time.monotonic()
                for msg in self.steps(data, ip, tcp=True, peer_port=port):
                    if isinstance(msg, DatabaseRead):
                        # Off the loop: other queries are served while the database
                        # answers (a long journal, a locked table).
                        await asyncio.get_running_loop().run_in_executor(
                            self._journal_readers, msg.run
                        )
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
            self._gate.release(ticket)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def pack(q: wire.Query, items: Iterable[tuple[bytes, int]]) -> Iterator[tuple[bytes, int]]:
    """Group pre-encoded records into messages of at most ~64 KB, question in each, and
    our OPT at the end of each when the query had EDNS (a TSIG goes after it)."""
    parts: list[bytes] = []
    count = 0
    size = 0
    opt = q.opt
    budget = MAX_BODY - len(q.question) - len(opt)
    for blob, n in items:
        if parts and size + len(blob) > budget:
            parts.append(opt)
            yield wire.answer_header(q, an=count) + b"".join(parts), count
            parts, count, size = [], 0, 0
        parts.append(blob)
        count += n
        size += len(blob)
    if parts:
        parts.append(opt)
        yield wire.answer_header(q, an=count) + b"".join(parts), count


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, primary: RpzPrimary) -> None:
        self.primary = primary
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self.transport is None:
            return
        # Each answer is already within the requester's UDP size (RpzPrimary._message).
        for msg in self.primary.answer(data, str(addr[0]), tcp=False, peer_port=int(addr[1])):
            self.transport.sendto(msg, addr)


@dataclass(slots=True, eq=False)
class _Outstanding:
    """One subscriber's NOTIFY for one serial, until acknowledged, superseded or given up."""

    sub: SubscriberRef
    serial: int
    msg: bytes
    qid: int
    sent: int = 0
    done: bool = False


class Notifier(asyncio.DatagramProtocol):
    """Sends NOTIFY to every subscriber and retries until each is acknowledged (RFC 1996
    4.6), or until a newer serial supersedes it.

    One pump sends for all subscribers from one queue, at most ``RATE`` datagrams a second
    (bursts of ``BURST``), retries included, so no subscriber waits behind another's
    retries and a round to ten thousand subscribers neither floods the uplink nor grows a
    send buffer without bound. State is one small record per subscriber (no task, no
    timer per subscriber); retries wait in one heap. A query ID is unique among the NOTIFYs
    outstanding to one address, so an acknowledgement is matched on its ID and source
    address even when it comes from another port than the NOTIFY went to; subscribers
    sharing an address (several resolvers on one host) each have their own.
    """

    RETRY_DELAYS = (0.5, 1, 2, 4, 8, 15, 30, 60)
    # BIND's default notify-rate is 20 a second, a setting for the slow links of the
    # 1990s; 10,000 a second is ~10 Mbit/s of NOTIFY, and 1,000 subscribers are told in a
    # tenth of a second (docs/benchmarks.md, fan-out).
    RATE = 10_000.0
    BURST = 1000

    def __init__(self, primary: RpzPrimary) -> None:
        self.primary = primary
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[str, _Outstanding] = {}  # by subscriber id
        self.by_target: dict[tuple[int, str], _Outstanding] = {}  # qid, host
        self.queue: collections.deque[_Outstanding] = collections.deque()
        self.retries: list[tuple[float, int, _Outstanding]] = []
        self._order = 0
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._tokens = float(self.BURST)
        self._filled = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._pump = asyncio.get_running_loop().create_task(self._run(), name="rpz-notify")

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if len(data) < 12:
            return
        qid, flags = struct.unpack_from(">HH", data, 0)
        if not flags & 0x8000 or (flags >> 11) & 0xF != wire.OP_NOTIFY:
            return
        o = self.by_target.get((qid, str(addr[0])))
        if o is None or o.done:
            return
        self._finish(o)
        NOTIFY_ACKED.inc()  # no log line per acknowledgement: thousands per round
        self.primary.notify_acknowledged(o.sub, o.serial)

    def send(self, sub: SubscriberRef, serial: int, soa: bytes) -> None:
        old = self.pending.get(sub.id)
        if old is not None:
            self._finish(old)
        host = sub.notify[0]
        qid = random.randrange(1 << 16)
        for _ in range(1000):  # bounded: 65,536 outstanding to one address exhaust the IDs
            if (qid, host) not in self.by_target:
                break
            qid = random.randrange(1 << 16)
        o = _Outstanding(sub, serial, wire.notify_message(qid, self.primary.origin, soa), qid)
        self.pending[sub.id] = o
        self.by_target[(qid, host)] = o
        self.queue.append(o)
        self._wake.set()

    def _finish(self, o: _Outstanding) -> None:
        o.done = True
        if self.pending.get(o.sub.id) is o:
            del self.pending[o.sub.id]
        if self.by_target.get((o.qid, o.sub.notify[0])) is o:
            del self.by_target[(o.qid, o.sub.notify[0])]

    async def _run(self) -> None:
        """The pump: send what is queued as the rate allows, re-queue what is due a retry,
        give up after the last retry; sleep until there is something to do."""
        while True:
            now = time.monotonic()
            while self.retries and self.retries[0][0] <= now:
                _due, _n, o = heapq.heappop(self.retries)
                if o.done:
                    continue
                if o.sent >= len(self.RETRY_DELAYS):
                    self._finish(o)
                    NOTIFY_FAILURES.labels(o.sub.id, o.sub.org).inc()
                    log.warning(
                        "rpz notify never acknowledged",
                        subscriber=o.sub.id,
                        target=f"{o.sub.notify[0]}:{o.sub.notify[1]}",
                        serial=o.serial,
                        attempts=o.sent,
                    )
                else:
                    self.queue.append(o)
            self._tokens = min(float(self.BURST), self._tokens + (now - self._filled) * self.RATE)
            self._filled = now
            while self.queue and self._tokens >= 1 and self.transport is not None:
                o = self.queue.popleft()
                if o.done:
                    continue
                with contextlib.suppress(OSError):
                    self.transport.sendto(o.msg, o.sub.notify)
                NOTIFY_SENT.inc()
                self._tokens -= 1
                o.sent += 1
                self._order += 1
                heapq.heappush(self.retries, (now + self.RETRY_DELAYS[o.sent - 1], self._order, o))
            if self.queue:
                wait: float | None = max((1 - self._tokens) / self.RATE, 0.001)
            elif self.retries:
                wait = max(self.retries[0][0] - time.monotonic(), 0.0)
            else:
                wait = None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        if self.transport is not None:
            self.transport.close()


def create_service(app_state: Any) -> RpzPrimary | None:
    """The factory ``tangkal.api.app`` calls; no DNS port means no primary."""
    port = getattr(app_state, "dns_port", None)
    if not port:
        return None
    return RpzPrimary(
        app_state.db, app_state.settings, getattr(app_state, "dns_host", "127.0.0.1"), int(port)
    )
