"""Immutable values of the RPZ: actions, one zone change, and SOA serial arithmetic.

Kept apart from the models so that both the models and the journal can import them
without a cycle; ``tangkal.rpz.journal`` re-exports them for callers.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import re
from dataclasses import dataclass

from tangkal.errors import InvalidInput

SERIAL_BITS = 32
SERIAL_MOD = 1 << SERIAL_BITS
SERIAL_HALF = 1 << (SERIAL_BITS - 1)


class RpzAction(enum.StrEnum):
    """What a resolver does with a listed name (and all names beneath it)."""

    NXDOMAIN = "nxdomain"  # CNAME .
    NODATA = "nodata"  # CNAME *.
    LANDING = "landing"  # CNAME to the laman labuh (block landing page)
    PASSTHRU = "passthru"  # CNAME rpz-passthru.  (allow-list: never block)


# Lower-case LDH labels (underscore tolerated: real lists contain _dmarc-like names).
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")

# Longest name we accept, so that "*.<name>.<zone>" still fits in 255 wire octets with a
# zone name as long as "rpz.tangkal." and room to spare for longer zone names.
MAX_NAME_LENGTH = 200


def check_name(name: str) -> str:
    """Refuse anything that is not already a canonical ASCII name (as ``Domain.parse`` makes).

    The journal is fed by code, not people, so a bad name here is a programming error in
    the caller; still, it must never reach the zone, where it would break every transfer.
    """
    if not isinstance(name, str) or not name:
        raise InvalidInput("An RPZ name must be a non-empty string.", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"The name {name[:40]!r}... is {len(name)} characters; the RPZ takes at most "
            f"{MAX_NAME_LENGTH}.",
            field="name",
        )
    if name.endswith(".") or not name.isascii():
        raise InvalidInput(
            f"{name!r} is not canonical: pass Domain.parse(text).name (ASCII, no trailing dot).",
            field="name",
        )
    labels = name.split(".")
    if len(labels) < 2:
        raise InvalidInput(
            f"{name!r} is a bare top-level label; the RPZ lists whole names.", field="name"
        )
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidInput(
                f"{name!r} has an invalid label {label!r}: use Domain.parse(text).name.",
                field="name",
            )
    return name


@dataclass(frozen=True, slots=True)
class Landing:
    """Where a ``landing`` block sends the resolver's client: the laman labuh.

    Either a name (one CNAME record: BIND, Unbound and PowerDNS follow it) or addresses
    (A/AAAA local data: what Knot Resolver needs, since it does not follow a CNAME to a
    target of the zone's choosing, and what lists that must not depend on another name
    resolving use). Written ``cname:<name>`` or ``a:<ipv4>,aaaa:<ipv6>`` (repeatable), or
    as the interface contract puts it, a name alone (``laman.example.``) or the addresses
    alone (``192.0.2.80,2001:db8::80``; an IPv6 address whose first group is ``aaaa``
    needs its ``aaaa:`` written, since the prefix is read first); :meth:`text` is the one
    canonical spelling, stored in the journal and compared.
    """

    cname: str | None = None  # absolute, lower-case, with the trailing dot
    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, *, field: str = "landing") -> Landing:
        """Strict: anything that is not exactly one of the two forms is refused, naming
        the part that is wrong (a bad setting must stop the server, not serve nonsense)."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(
                "The landing is empty: use cname:<name> or a:<ipv4>,aaaa:<ipv6>.", field=field
            )
        cname: str | None = None
        a: list[str] = []
        aaaa: list[str] = []
        for part in text.strip().split(","):
            bare = part.strip()
            prefixed = bare.lower().startswith(("cname:", "a:", "aaaa:"))
            try:  # the interface contract's plain forms: addresses as they are ...
                ip = None if prefixed else ipaddress.ip_address(bare)
            except ValueError:
                ip = None
            if ip is not None:
                (a if ip.version == 4 else aaaa).append(str(ip))
                continue
            if (
                not prefixed and ":" not in bare and "," not in text.strip()
            ):  # ... and a name alone (CNAME)
                if bare.replace(".", "").isdigit():
                    raise InvalidInput(f"{bare!r} is not an IPv4 address (landing).", field=field)
                cname = _landing_name(bare, field)
                continue
            kind, sep, value = bare.partition(":")
            kind, value = kind.strip().lower(), value.strip()
            if not sep or not value:
                raise InvalidInput(
                    f"{part.strip()!r} in the landing is not KIND:VALUE "
                    "(cname:<name>, a:<ipv4> or aaaa:<ipv6>).",
                    field=field,
                )
            if kind == "cname":
                if cname is not None:
                    raise InvalidInput("The landing names more than one cname.", field=field)
                cname = _landing_name(value, field)
            elif kind in ("a", "aaaa"):
                try:
                    ip = (ipaddress.IPv4Address if kind == "a" else ipaddress.IPv6Address)(value)
                except ValueError:
                    raise InvalidInput(
                        f"{value!r} is not an IPv{4 if kind == 'a' else 6} "
                        f"address (landing {kind}:).",
                        field=field,
                    ) from None
                (a if kind == "a" else aaaa).append(str(ip))
            else:
                raise InvalidInput(
                    f"Unknown landing kind {kind!r}; use cname, a or aaaa.", field=field
                )
        if cname is not None and (a or aaaa):
            raise InvalidInput(
                "A landing is either cname:<name> or addresses "
                "(a:, aaaa:), not both: a CNAME cannot have other data.",
                field=field,
            )
        return cls(cname, tuple(sorted(set(a))), tuple(sorted(set(aaaa))))

    def text(self) -> str:
        if self.cname is not None:
            return f"cname:{self.cname}"
        return ",".join([f"a:{x}" for x in self.a] + [f"aaaa:{x}" for x in self.aaaa])

    def __str__(self) -> str:
        return self.text()


@functools.lru_cache(maxsize=1024)
def stored_landing(text: str | None) -> Landing | None:
    """A landing as the database stores it (``Landing.text()``; None stays None); cached,
    since a zone of millions of names holds only a few distinct landings."""
    return None if text is None else Landing.parse(text)


def _landing_name(value: str, field: str) -> str:
    name = value.rstrip(".").lower()
    if not name or len(name) > 253 or not all(_LABEL.match(lab) for lab in name.split(".")):
        raise InvalidInput(f"{value!r} is not a host name (landing cname:).", field=field)
    return name + "."


@dataclass(frozen=True, slots=True)
class ZoneChange:
    """One name set to an action, or removed (``action=None``) with its ``*.name`` trigger."""

    name: str  # ASCII, IDNA-normalised by Domain.parse, no trailing dot
    action: RpzAction | None  # None = remove the name (and its *.name trigger) from the zone
    # A landing of its own for a landing block where it differs from the zone's default
    # (TANGKAL_RPZ_LANDING); None: the default, and it follows the default when that changes.
    landing: Landing | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.action is not None and not isinstance(self.action, RpzAction):
            try:
                object.__setattr__(self, "action", RpzAction(self.action))
            except ValueError:
                known = ", ".join(a.value for a in RpzAction)
                raise InvalidInput(
                    f"Unknown RPZ action {self.action!r}; use one of {known} or None to remove.",
                    field="action",
                ) from None
        if self.landing is not None:
            if not isinstance(self.landing, Landing):
                object.__setattr__(self, "landing", Landing.parse(str(self.landing)))
            if self.action != RpzAction.LANDING:
                raise InvalidInput(
                    f"{self.name!r}: a landing goes only with the landing action, "
                    f"not {self.action}.",
                    field="landing",
                )


def serial_next(serial: int) -> int:
    """The serial after ``serial`` (RFC 1982 addition of 1); skips 0, which some software
    treats as "unset"."""
    nxt = (serial + 1) % SERIAL_MOD
    return nxt or 1


def serial_lt(a: int, b: int) -> bool:
    """RFC 1982 "a precedes b" (undefined for distance exactly 2^31; that is False here)."""
    return a != b and ((a < b and b - a < SERIAL_HALF) or (a > b and a - b > SERIAL_HALF))


def serial_distance(older: int, newer: int) -> int:
    """How many increments lead from ``older`` to ``newer`` (modulo 2^32)."""
    return (newer - older) % SERIAL_MOD
