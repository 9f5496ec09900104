"""TCP admission for the RPZ primary: who may hold a connection, for how long, and the
counted summary of everyone refused.

Why (issue 12, finding 3): one global limit of 256 connections with a 30 s idle timeout
let 260 idle connections from one address, touched every 20 s, stop every SOA, AXFR and
IXFR for all ISPs, and each refusal wrote a log line. Following RFC 7766 section 6.2:

- a connection that has sent nothing yet is *pending*: it may stay silent only
  ``idle_first`` seconds, at most ``per_address`` of them (and ``per_prefix`` per /24 or
  /64) come from one source, and when ``connections`` of them are pending the oldest is
  closed to make room, so idle connections from many addresses cannot fill the server
  either: a real client sends its query within milliseconds of connecting;
- after its first message a connection is *authenticated* when that message carried a
  valid TSIG signature or came from an allow-listed address (allow-listed addresses are
  authenticated at accept: TCP source addresses cannot be spoofed), and *anonymous*
  otherwise. Anonymous connections may hold at most ``connections - reserved`` slots, so
  ``reserved`` slots are always there for the subscribers' transfers; an anonymous
  connection beyond that gets its one answer and is closed;
- each refusal is counted by reason and address and logged as one summary line per
  ``log_interval``, never one line per refused packet or connection.

Everything here is bookkeeping on the event loop (no locks): O(1) per connection.
"""

from __future__ import annotations

import collections
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge

from tangkal.settings import Settings

#: Connections held are a sum over the live processes holding them ("livesum"; only the
#: RPZ primary's process does, and a dead process holds none).
TCP_CONNECTIONS = Gauge(
    "tangkal_rpz_tcp_connections",
    "TCP connections held by the RPZ primary",
    ["state"],
    multiprocess_mode="livesum",
)
TCP_REFUSED = Counter(
    "tangkal_rpz_tcp_refused_total",
    "TCP connections the RPZ primary refused or closed early, by reason",
    ["reason"],
)
TOP_ADDRESSES = 5  # addresses named in each refusal summary


@dataclass(frozen=True, slots=True)
class TcpLimits:
    """The limits, from the settings (validated there; see ``Settings.rpz_tcp_*``)."""

    connections: int = 1024
    reserved: int = 256
    per_address: int = 16
    per_prefix: int = 64
    idle_first: float = 3.0
    idle: float = 10.0
    log_interval: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TcpLimits:
        return cls(
            connections=settings.rpz_tcp_connections,
            reserved=settings.rpz_tcp_reserved,
            per_address=settings.rpz_tcp_per_address,
            per_prefix=settings.rpz_tcp_per_prefix,
            idle_first=settings.rpz_tcp_idle_first,
            idle=settings.rpz_tcp_idle,
            log_interval=settings.rpz_refused_log_interval,
        )


def prefix_of(ip: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) holding ``ip``: what one customer or host usually has,
    so a flood spread over a few neighbouring addresses is still one source."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    bits = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False))


class Refusals:
    """Refusals counted by reason and by address, logged as one summary per interval.

    The address table is bounded: past 10,000 distinct addresses in one interval the rest
    are counted under ``"other"``, so a flood from a million spoofed UDP sources costs a
    bounded dictionary, not memory per source.
    """

    MAX_ADDRESSES = 10_000
    # A refusal an operator may want the details of (a TSIG key refused, a transfer from an
    # address on no allow-list) still gets a line of its own the first time its reason and
    # address are seen in an interval, at most this many lines per interval.
    DETAIL_LINES = 20

    def __init__(self) -> None:
        self.reasons: collections.Counter[str] = collections.Counter()
        self.addresses: collections.Counter[str] = collections.Counter()
        self.detailed: set[tuple[str, str]] = set()

    def note(self, reason: str, ip: str) -> bool:
        """Count one refusal; True when it deserves a detail line of its own (the first of
        its reason and address this interval, within ``DETAIL_LINES``)."""
        self.reasons[reason] += 1
        detail = (reason, ip) not in self.detailed and len(self.detailed) < self.DETAIL_LINES
        if detail:
            self.detailed.add((reason, ip))
        if ip in self.addresses or len(self.addresses) < self.MAX_ADDRESSES:
            self.addresses[ip] += 1
        else:
            self.addresses["other"] += 1
        return detail

    def take(self) -> dict[str, Any] | None:
        """The summary of everything noted since the last call (None if nothing was), as
        log fields: the total, a count per reason and the top addresses."""
        if not self.reasons:
            return None
        top = ",".join(f"{ip}={n}" for ip, n in self.addresses.most_common(TOP_ADDRESSES))
        fields: dict[str, Any] = {
            "total": sum(self.reasons.values()),
            "addresses": len(self.addresses),
            "top": top,
        }
        fields.update({f"reason_{r}": n for r, n in sorted(self.reasons.items())})
        self.reasons = collections.Counter()
        self.addresses = collections.Counter()
        self.detailed = set()
        return fields


@dataclass(eq=False, slots=True)
class Ticket:
    """One TCP connection's place: its state and how to close it when evicted."""

    ip: str
    prefix: str
    state: str  # "pending", "anonymous" or "authenticated"
    close: Callable[[], None]
    counted: bool = field(default=False)  # in the per-address and per-prefix counts
    evicted: bool = False


class Gate:
    """The connection accounting described in the module docstring."""

    def __init__(self, limits: TcpLimits, refusals: Refusals) -> None:
        self.limits = limits
        self.refusals = refusals
        self.per_ip: collections.Counter[str] = collections.Counter()
        self.per_prefix: collections.Counter[str] = collections.Counter()
        # Pending tickets in arrival order (dict order), for evicting the oldest.
        self.pending: dict[Ticket, None] = {}
        self.anonymous = 0
        self.authenticated = 0

    def refuse(self, reason: str, ip: str) -> None:
        """Count a connection closed early for ``reason`` (metric and summary)."""
        TCP_REFUSED.labels(reason).inc()
        self.refusals.note(reason, ip)

    def _gauges(self) -> None:
        TCP_CONNECTIONS.labels("pending").set(len(self.pending))
        TCP_CONNECTIONS.labels("anonymous").set(self.anonymous)
        TCP_CONNECTIONS.labels("authenticated").set(self.authenticated)

    def admit(self, ip: str, allowed: bool, close: Callable[[], None]) -> Ticket | None:
        """A ticket for a new connection from ``ip`` (``allowed``: its address is on a
        subscriber's allow-list), or None, counted as refused, when it must be closed."""
        prefix = prefix_of(ip)
        if allowed:
            if self.anonymous + self.authenticated >= self.limits.connections:
                self.refuse("full", ip)
                return None
            self.authenticated += 1
            self._gauges()
            return Ticket(ip, prefix, "authenticated", close)
        if self.per_ip[ip] >= self.limits.per_address:
            self.refuse("per_address", ip)
            return None
        if self.per_prefix[prefix] >= self.limits.per_prefix:
            self.refuse("per_prefix", ip)
            return None
        if len(self.pending) >= self.limits.connections:
            oldest = next(iter(self.pending))
            self._drop(oldest)
            oldest.evicted = True
            self.refuse("evicted_idle", oldest.ip)
            oldest.close()
        ticket = Ticket(ip, prefix, "pending", close, counted=True)
        self.per_ip[ip] += 1
        self.per_prefix[prefix] += 1
        self.pending[ticket] = None
        self._gauges()
        return ticket

    def first_message(self, ticket: Ticket, authenticated: bool) -> bool:
        """Classify a pending connection by its first message; False when it may not stay
        (its one answer is still sent, then it is closed)."""
        if ticket.state != "pending":
            return True
        self.pending.pop(ticket, None)
        held = self.anonymous + self.authenticated
        if authenticated:
            self._uncount(ticket)
            if held >= self.limits.connections:
                ticket.state = "closing"
                self.refuse("full", ticket.ip)
                self._gauges()
                return False
            ticket.state = "authenticated"
            self.authenticated += 1
        elif (
            self.anonymous >= self.limits.connections - self.limits.reserved
            or held >= self.limits.connections
        ):
            ticket.state = "closing"
            self.refuse("anonymous_full", ticket.ip)
            self._gauges()
            return False
        else:
            ticket.state = "anonymous"
            self.anonymous += 1
        self._gauges()
        return True

    def release(self, ticket: Ticket) -> None:
        """The connection closed (by either side, or evicted)."""
        self._drop(ticket)
        self._gauges()

    def _drop(self, ticket: Ticket) -> None:
        if ticket.state == "pending":
            self.pending.pop(ticket, None)
        elif ticket.state == "anonymous":
            self.anonymous -= 1
        elif ticket.state == "authenticated":
            self.authenticated -= 1
        ticket.state = "closed"
        self._uncount(ticket)

    def _uncount(self, ticket: Ticket) -> None:
        if not ticket.counted:
            return
        ticket.counted = False
        for table, key in ((self.per_ip, ticket.ip), (self.per_prefix, ticket.prefix)):
            table[key] -= 1
            if table[key] <= 0:
                del table[key]
