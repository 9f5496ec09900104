"""What a resolver should answer for a name, and whether what it answered is that.

Pure functions over parsed answers, no I/O, so every rule is unit-tested on its own.

* A name under an active block: the block's action says the answer, for A and AAAA alike:
  ``nxdomain`` -> NXDOMAIN; ``nodata`` -> NOERROR without addresses; ``landing`` -> a CNAME
  to the landing host (laman labuh) or only its addresses (AAAA may also be empty).
* A name that is open (never blocked, restored, or allow-listed beneath a block): the answer
  must be consistent with the control resolvers, in the spirit of OONI's DNS consistency
  test: the same rcode and either both without addresses, or overlapping addresses, or both
  with addresses (CDNs answer differently per network) unless the resolver's addresses are
  all non-public (a sinkhole such as 0.0.0.0 or 127.0.0.1, or a private block page) while
  the control's are public. A landing answer is never consistent. Without a usable control
  an open name is compliant when it has addresses that are not a sinkhole (0.0.0.0, ::,
  loopback, link-local); NXDOMAIN or NODATA then count as blocked, so register a control.
* No usable answer (timeout, garbage, SERVFAIL, REFUSED) is ``unreachable``: never a verdict.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tangkal.compliance.models import ProbeState
from tangkal.errors import Msg

NXDOMAIN = "NXDOMAIN"
NOERROR = "NOERROR"
USABLE_RCODES = (NOERROR, NXDOMAIN)

OPEN = "open"
BLOCK_KINDS = ("nxdomain", "nodata", "landing")
EXPECTED_KINDS = (*BLOCK_KINDS, OPEN)


@dataclass(frozen=True, slots=True)
class Answer:
    """One query's outcome: ``rcode`` None when nothing usable came back (``error`` says
    why); addresses and CNAME targets from the answer section (names lower-case, with the
    final dot)."""

    rcode: str | None
    addresses: frozenset[str] = frozenset()
    cnames: tuple[str, ...] = ()
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.error is None and self.rcode in USABLE_RCODES

    @classmethod
    def failed(cls, error: str) -> Answer:
        return cls(None, error=error)


@dataclass(frozen=True, slots=True)
class Observation:
    """A resolver's answers for one name: A and AAAA."""

    a: Answer
    aaaa: Answer

    @property
    def usable(self) -> bool:
        return self.a.usable and self.aaaa.usable

    @property
    def addresses(self) -> frozenset[str]:
        return self.a.addresses | self.aaaa.addresses


@dataclass(frozen=True, slots=True)
class Expectation:
    kind: str  # one of EXPECTED_KINDS
    landing_host: str = ""
    landing_addresses: frozenset[str] = field(default_factory=frozenset)

    @property
    def blocked(self) -> bool:
        return self.kind in BLOCK_KINDS


@dataclass(frozen=True, slots=True)
class Verdict:
    state: ProbeState
    observed: str

    @property
    def compliant(self) -> bool:
        return self.state is ProbeState.COMPLIANT


def absolute(name: str) -> str:
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


def expectation_for(
    action: str | None, landing_host: str, landing_addresses: Iterable[str] = ()
) -> Expectation:
    """The expected outcome of a block action (``None``, or ``passthru``, is open)."""
    kind = action if action in BLOCK_KINDS else OPEN
    return Expectation(kind, absolute(landing_host), frozenset(landing_addresses))


def _public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def _sinkhole(address: str) -> bool:
    """0.0.0.0, ::, loopback, link-local: where filters send a name to nowhere."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True
    return ip.is_unspecified or ip.is_loopback or ip.is_link_local


def is_landing(answer: Answer, exp: Expectation) -> bool:
    """The landing answer: a CNAME to the landing host, or only the landing's addresses."""
    if exp.landing_host and exp.landing_host in answer.cnames:
        return True
    return (
        bool(answer.addresses)
        and bool(exp.landing_addresses)
        and answer.addresses <= exp.landing_addresses
    )


def looks_landing(obs: Observation, exp: Expectation) -> bool:
    return is_landing(obs.a, exp) or is_landing(obs.aaaa, exp)


def matches_block(exp: Expectation, obs: Observation) -> bool:
    """Whether both answers are what the block's action says resolvers answer."""
    if exp.kind == "nxdomain":
        return obs.a.rcode == NXDOMAIN and obs.aaaa.rcode == NXDOMAIN
    if exp.kind == "nodata":
        return all(x.rcode == NOERROR and not x.addresses for x in (obs.a, obs.aaaa))
    if exp.kind == "landing":
        if obs.a.rcode != NOERROR or not is_landing(obs.a, exp):
            return False
        # AAAA: the landing too, or nothing (a landing page reachable over IPv4 only)
        return obs.aaaa.rcode == NOERROR and (is_landing(obs.aaaa, exp) or not obs.aaaa.addresses)
    return False


def consistent(answer: Answer, control: Answer) -> bool:
    """One query type's answer against a control's (both usable)."""
    if answer.rcode != control.rcode:
        return False
    if not answer.addresses or not control.addresses:
        return not answer.addresses and not control.addresses
    if answer.addresses & control.addresses:
        return True
    # both have addresses but none in common: a CDN, unless the resolver's point nowhere
    return any(_public(a) for a in answer.addresses) or not any(
        _public(a) for a in control.addresses
    )


def judge(exp: Expectation, obs: Observation, controls: Sequence[Observation] = ()) -> Verdict:
    """The state of one name at one resolver; ``controls`` are the usable control
    resolvers' observations of the same name (those found filtering left out)."""
    observed = describe(obs)
    if not obs.usable:
        return Verdict(ProbeState.UNREACHABLE, observed)
    if exp.blocked:
        ok = matches_block(exp, obs)
    elif looks_landing(obs, exp):
        ok = False
    else:
        refs = [c for c in controls if c.usable]
        if refs:
            ok = any(consistent(obs.a, c.a) and consistent(obs.aaaa, c.aaaa) for c in refs)
        else:
            addresses = obs.addresses
            ok = (
                obs.a.rcode == NOERROR
                and bool(addresses)
                and not all(_sinkhole(a) for a in addresses)
            )
    return Verdict(ProbeState.COMPLIANT if ok else ProbeState.NOT_COMPLIANT, observed)


def _describe_one(answer: Answer) -> str:
    if answer.error is not None:
        return answer.error
    if answer.rcode != NOERROR:
        return str(answer.rcode)
    parts = [f"CNAME {c}" for c in answer.cnames[:2]]
    addresses = sorted(answer.addresses)
    parts += addresses[:4]
    if len(addresses) > 4:
        parts.append(f"+{len(addresses) - 4}")
    return " ".join(parts) if parts else "NODATA"


def describe(obs: Observation) -> str:
    """What a resolver answered, in a line: ``A 192.0.2.20; AAAA NODATA``."""
    text = f"A {_describe_one(obs.a)}; AAAA {_describe_one(obs.aaaa)}"
    return text if len(text) <= 300 else text[:297] + "..."


def filtering_controls(
    blocked: Mapping[str, Expectation],
    controls: Mapping[str, Mapping[str, Observation]],
    others: Mapping[str, Sequence[Observation]],
) -> dict[str, str]:
    """Control resolvers that answer a blocked name as a filter does: ``{control: why}``.

    A landing answer gives a control away at once. NXDOMAIN or NODATA as the block says is
    filtering when the name has public addresses elsewhere (at another control or at any
    probed resolver), since otherwise the name may simply not exist. One control that
    filters while every ISP complies cannot be told from a name that does not exist:
    register two controls on different networks.
    """
    flagged: dict[str, str] = {}
    for name, exp in blocked.items():
        if not exp.blocked:
            continue
        seen = {cid: obs[name] for cid, obs in controls.items() if name in obs and obs[name].usable}
        elsewhere = any(
            any(_public(a) for a in o.addresses) and not looks_landing(o, exp)
            for o in [*seen.values(), *others.get(name, ())]
            if o.usable
        )
        for cid, obs in seen.items():
            if cid in flagged:
                continue
            if looks_landing(obs, exp):
                flagged[cid] = f"answered the landing page for {name} ({describe(obs)})"
            elif matches_block(exp, obs) and elsewhere:
                flagged[cid] = (
                    f"answered {describe(obs)} for {name}, which is blocked "
                    f"({exp.kind}) and resolves at other resolvers"
                )
    return flagged


def isp_state(states: Iterable[ProbeState]) -> ProbeState | None:
    """One ISP's state for a name from its resolvers': not compliant if any resolver is,
    compliant if at least one answered and all that answered comply, else unreachable."""
    seen = set(states)
    if not seen:
        return None
    if ProbeState.NOT_COMPLIANT in seen:
        return ProbeState.NOT_COMPLIANT
    if ProbeState.COMPLIANT in seen:
        return ProbeState.COMPLIANT
    return ProbeState.UNREACHABLE


_LANDING_NOTE = re.compile(r"answered the landing page for (?P<name>\S+) \((?P<answer>.*)\)\Z")
_BLOCK_NOTE = re.compile(
    r"answered (?P<answer>.*) for (?P<name>\S+), which is blocked \((?P<kind>[a-z]+)\) "
    r"and resolves at other resolvers\Z"
)


def filtering_message(note: str | None) -> Msg:
    """Why a control was found filtering (``Resolver.filtering_note``, stored in English as
    :func:`filtering_controls` wrote it) as a message a page can translate; the answer and
    the name stay as they were. A note of another shape is shown as it is."""
    text = note or ""
    m = _LANDING_NOTE.match(text)
    if m:
        return Msg(
            "answered the landing page for %(name)s (%(answer)s)",
            name=m["name"],
            answer=m["answer"],
        )
    m = _BLOCK_NOTE.match(text)
    if m:
        return Msg(
            "answered %(answer)s for %(name)s, which is blocked (%(kind)s) and resolves at "
            "other resolvers",
            answer=m["answer"],
            name=m["name"],
            kind=m["kind"],
        )
    return Msg("%(note)s", note=text)
