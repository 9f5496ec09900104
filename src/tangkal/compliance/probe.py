"""Asking resolvers: A and AAAA for a name, and the policy zone's SOA.

UDP first, TCP when the answer is truncated; a query that times out is tried once more, so
a single lost datagram is not an "unreachable". Concurrency is bounded for the whole
process and per resolver, and every resolver is asked at a bounded rate (a token bucket per
address, shared by all rounds of the process), so a round over many names never floods an
ISP's resolver. Nothing a resolver sends can raise out of here: timeouts, refused
connections and garbage become an :class:`Answer` with ``error`` set.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
from prometheus_client import Counter, Histogram

from tangkal.compliance.compare import Answer, Observation, absolute

TIMEOUT = 2.0  # seconds per attempt
ATTEMPTS = 2  # a timeout is tried once more
CONCURRENCY = 256  # queries in flight in the process
PER_RESOLVER = 8  # queries in flight at one resolver

LATENCY = Histogram(
    "tangkal_compliance_probe_seconds",
    "Time a resolver took to answer one probe query",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0),
)
FAILURES = Counter(
    "tangkal_compliance_probe_failures_total",
    "Probe queries without a usable answer, by ISP (or 'control') and reason",
    ["isp", "reason"],
)


@dataclass(frozen=True, slots=True)
class Target:
    """A registered resolver as the prober sees it."""

    id: str
    host: str
    port: int
    isp: str  # the ISP's name, or "control"


class RateLimit:
    """A token bucket: ``rate`` queries a second, bursts of up to ``burst``.

    Each caller reserves the next slot (the bucket may go into debt) and sleeps until it,
    with no await between reading and updating the bucket: no lock, so one bucket serves
    every event loop of the process (the server's, a command's).
    """

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = max(0.1, float(rate))
        self.burst = max(1.0, float(burst if burst is not None else rate))
        self.clock = clock
        self.tokens = self.burst
        self.at = clock()

    def reserve(self) -> float:
        """Take a token; returns how long to wait until it is due (0: now)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate) - 1
        self.at = now
        return max(0.0, -self.tokens / self.rate)

    async def take(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


def parse_answer(msg: dns.message.Message, rdtype: int) -> Answer:
    """The rcode, the addresses of ``rdtype`` and the CNAME targets of a response."""
    if not msg.flags & dns.flags.QR:
        return Answer.failed("garbage: not a response")
    rcode = dns.rcode.to_text(msg.rcode())
    addresses: set[str] = set()
    cnames: list[str] = []
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.CNAME:
            cnames.extend(rd.target.to_text().lower() for rd in rrset)
        elif rrset.rdtype == rdtype:
            addresses.update(rd.address for rd in rrset)
    return Answer(rcode, frozenset(addresses), tuple(cnames))


def soa_serial_of(msg: dns.message.Message, zone: str) -> int | None:
    """The serial of ``zone``'s SOA in the answer section, if the resolver gave one."""
    if msg.rcode() != dns.rcode.NOERROR:
        return None
    origin = dns.name.from_text(absolute(zone))
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == origin:
            for rd in rrset:
                return int(rd.serial)
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, dns.exception.Timeout | TimeoutError):
        return "timeout"
    if isinstance(exc, OSError):
        return "network"
    return "garbage"


class Prober:
    """Queries registered resolvers; one per round or shared, on the running loop."""

    # per process: every round (and every event loop) shares one bucket per address
    _limits: ClassVar[dict[tuple[str, int], RateLimit]] = {}

    def __init__(
        self,
        *,
        rate: float,
        timeout: float = TIMEOUT,
        concurrency: int = CONCURRENCY,
        per_resolver: int = PER_RESOLVER,
    ) -> None:
        self.rate = rate
        self.timeout = timeout
        self.per_resolver = per_resolver
        self._all = asyncio.Semaphore(concurrency)
        self._each: dict[tuple[str, int], asyncio.Semaphore] = {}

    def _limit(self, target: Target) -> RateLimit:
        key = (target.host, target.port)
        limit = self._limits.get(key)
        if limit is None or limit.rate != max(0.1, float(self.rate)):
            limit = self._limits[key] = RateLimit(self.rate)
        return limit

    async def _ask(
        self, target: Target, name: str, rdtype: dns.rdatatype.RdataType
    ) -> tuple[dns.message.Message | None, str | None]:
        key = (target.host, target.port)
        each = self._each.setdefault(key, asyncio.Semaphore(self.per_resolver))
        error = "timeout"
        for _attempt in range(ATTEMPTS):
            await self._limit(target).take()
            async with self._all, each:
                started = time.monotonic()
                try:
                    q = dns.message.make_query(name, rdtype)
                    msg, _tcp = await dns.asyncquery.udp_with_fallback(
                        q, target.host, timeout=self.timeout, port=target.port
                    )
                except Exception as exc:  # every failure is a state, never a crash
                    error = _reason(exc)
                    if error != "timeout":
                        detail = type(exc).__name__
                        return None, f"{error}: {detail}"
                    continue
                LATENCY.observe(time.monotonic() - started)
                return msg, None
        return None, error

    async def query(self, target: Target, name: str, rdtype: dns.rdatatype.RdataType) -> Answer:
        msg, error = await self._ask(target, name, rdtype)
        if msg is None:
            FAILURES.labels(target.isp, (error or "timeout").partition(":")[0]).inc()
            return Answer.failed(error or "timeout")
        answer = parse_answer(msg, rdtype)
        if not answer.usable:
            FAILURES.labels(target.isp, "rcode" if answer.error is None else "garbage").inc()
        return answer

    async def observe(self, target: Target, name: str) -> Observation:
        a, aaaa = await asyncio.gather(
            self.query(target, name, dns.rdatatype.A), self.query(target, name, dns.rdatatype.AAAA)
        )
        return Observation(a, aaaa)

    async def soa_serial(self, target: Target, zone: str) -> int | None:
        """The policy zone's serial as the resolver answers it, else None (most recursive
        resolvers do not serve their RPZ to clients; BIND's secondary zone does)."""
        msg, _error = await self._ask(target, absolute(zone), dns.rdatatype.SOA)
        return None if msg is None else soa_serial_of(msg, zone)

    async def observe_all(
        self, targets: Sequence[Target], names: Iterable[str]
    ) -> dict[str, dict[str, Observation]]:
        """``{target id: {name: Observation}}`` for every target and name."""
        names = list(dict.fromkeys(names))
        out: dict[str, dict[str, Observation]] = {t.id: {} for t in targets}

        async def one(target: Target, name: str) -> None:
            out[target.id][name] = await self.observe(target, name)

        await asyncio.gather(*(one(t, n) for t in targets for n in names))
        return out
