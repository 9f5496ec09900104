"""The export formats of the list: one table, read by ``tangkal rpz export`` and the API.

Each format is one :class:`ExportFormat`: its name, media type, file extension, whether its
entries cover subdomains, and how it writes its header and one listed name. Nothing outside
this module branches on a format's name; a new format is one more entry in ``FORMATS``.

What each resolver accepts (checked against the software, see docs/rpz-subscribers.md):

* ``rpz``: a master file (RFC 1035) of the policy zone, as BIND, NSD and Knot DNS load it as
  a primary zone, and as Knot Resolver's ``policy.rpz`` reads it (a file only: it has no
  zone transfer). Knot Resolver ignores a CNAME to a custom target, so a landing given as a
  name does nothing there; give the landing as addresses (``TANGKAL_RPZ_LANDING=a:...``).
* ``unbound``: ``local-zone``/``local-data`` lines (Unbound without its RPZ module).
* ``dnsmasq``: ``address=`` lines; dnsmasq matches a domain and every name beneath it.
* ``hosts``: ``/etc/hosts`` lines, which match exact names only.
* ``domains``: one name a line, for tools of one's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tangkal.errors import InvalidInput
from tangkal.rpz.values import Landing, RpzAction
from tangkal.rpz.zone import NS_HOST, ZoneConfig

_RPZ_TARGET = {RpzAction.NXDOMAIN: ".", RpzAction.NODATA: "*.", RpzAction.PASSTHRU: "rpz-passthru."}
_UNBOUND_TYPE = {
    RpzAction.NXDOMAIN: "always_nxdomain",
    RpzAction.NODATA: "always_nodata",
    RpzAction.PASSTHRU: "always_transparent",
}


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One way of writing the list.

    ``header(config, serial)`` is written once; ``line(name, action, landing, config)``
    once per listed name (it may be empty, or several lines); ``landing`` is what a landing
    block points to (its own, or the zone's default).
    """

    name: str
    media_type: str
    extension: str
    covers_subdomains: bool
    description: str
    header: Callable[[ZoneConfig, int], str]
    line: Callable[[str, RpzAction, Landing, ZoneConfig], str]


def _landing_records(owner: str, landing: Landing, ttl: int) -> str:
    if landing.cname is not None:
        return f"{owner} CNAME {landing.cname}\n"
    return "".join(
        [f"{owner} {ttl} A {x}\n" for x in landing.a]
        + [f"{owner} {ttl} AAAA {x}\n" for x in landing.aaaa]
    )


def _rpz_header(c: ZoneConfig, serial: int) -> str:
    return (
        f"$ORIGIN {c.origin}\n$TTL {c.ttl}\n"
        f"@ SOA {NS_HOST} hostmaster {serial} {c.refresh} {c.retry} {c.expire} "
        f"{c.minimum}\n@ NS {NS_HOST}\n"
        f"; tangkal blocklist serial {serial}: each name and *.name (covers subdomains)\n"
    )


def _rpz_line(name: str, action: RpzAction, landing: Landing, c: ZoneConfig) -> str:
    if action == RpzAction.LANDING:
        return _landing_records(name, landing, c.ttl) + _landing_records(
            f"*.{name}", landing, c.ttl
        )
    target = _RPZ_TARGET[action]
    return f"{name} CNAME {target}\n*.{name} CNAME {target}\n"


def _hosts_header(c: ZoneConfig, serial: int) -> str:
    return (
        f"# tangkal blocklist {c.origin} serial {serial}\n"
        "# A hosts file matches EXACT NAMES ONLY: subdomains of a listed name are NOT "
        "blocked by it.\n# Use the rpz, unbound or dnsmasq format to block them too. "
        "Allow-list (passthru) entries are left out.\n"
    )


def _hosts_line(name: str, action: RpzAction, landing: Landing, c: ZoneConfig) -> str:
    if action == RpzAction.PASSTHRU:
        return ""
    if action == RpzAction.LANDING and landing.cname is None:
        return "".join(f"{ip} {name}\n" for ip in (*landing.a, *landing.aaaa))
    return f"0.0.0.0 {name}\n"


def _domains_header(c: ZoneConfig, serial: int) -> str:
    return ""


def _domains_line(name: str, action: RpzAction, landing: Landing, c: ZoneConfig) -> str:
    return "" if action == RpzAction.PASSTHRU else name + "\n"


def _unbound_header(c: ZoneConfig, serial: int) -> str:
    return f"# tangkal blocklist {c.origin} serial {serial} (covers subdomains)\nserver:\n"


def _unbound_line(name: str, action: RpzAction, landing: Landing, c: ZoneConfig) -> str:
    if action != RpzAction.LANDING:
        return f'local-zone: "{name}." {_UNBOUND_TYPE[action]}\n'
    if landing.cname is not None:
        data = [f"{name}. {c.ttl} IN CNAME {landing.cname}"]
    else:
        data = [f"{name}. {c.ttl} IN A {x}" for x in landing.a] + [
            f"{name}. {c.ttl} IN AAAA {x}" for x in landing.aaaa
        ]
    return f'local-zone: "{name}." redirect\n' + "".join(f'local-data: "{d}"\n' for d in data)


def _dnsmasq_header(c: ZoneConfig, serial: int) -> str:
    return (
        f"# tangkal blocklist {c.origin} serial {serial}: every line covers the name "
        "and all its subdomains\n"
        "# dnsmasq has no per-domain NODATA: nodata blocks are written as NXDOMAIN. "
        "A landing given as a name (CNAME) cannot be written either:\n"
        "# those blocks are NXDOMAIN too; give TANGKAL_RPZ_LANDING as addresses.\n"
    )


def _dnsmasq_line(name: str, action: RpzAction, landing: Landing, c: ZoneConfig) -> str:
    if action == RpzAction.PASSTHRU:
        return f"server=/{name}/#\n"  # the usual upstream servers: exempt from wider blocks
    if action == RpzAction.LANDING and landing.cname is None:
        # local= keeps other types of the domain from going upstream (NODATA for them)
        return (
            "".join(f"address=/{name}/{ip}\n" for ip in (*landing.a, *landing.aaaa))
            + f"local=/{name}/\n"
        )
    return f"address=/{name}/\n"


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "rpz",
            "text/dns",
            "rpz",
            True,
            "the policy zone as a master file: BIND, NSD, Knot DNS, Knot Resolver",
            _rpz_header,
            _rpz_line,
        ),
        ExportFormat(
            "hosts",
            "text/plain",
            "hosts",
            False,
            "/etc/hosts lines: exact names only",
            _hosts_header,
            _hosts_line,
        ),
        ExportFormat(
            "domains",
            "text/plain",
            "domains",
            False,
            "one blocked name a line",
            _domains_header,
            _domains_line,
        ),
        ExportFormat(
            "unbound",
            "text/plain",
            "unbound",
            True,
            "Unbound local-zone/local-data",
            _unbound_header,
            _unbound_line,
        ),
        ExportFormat(
            "dnsmasq",
            "text/plain",
            "conf",
            True,
            "dnsmasq address=/name/ lines",
            _dnsmasq_header,
            _dnsmasq_line,
        ),
    )
}


def get_format(name: str | None) -> ExportFormat:
    """The format called ``name`` (default ``rpz``); an unknown one is refused, listing
    the names."""
    key = (name or "rpz").strip().lower()
    fmt = FORMATS.get(key)
    if fmt is None:
        raise InvalidInput(
            f"Unknown export format {name!r}; use one of {', '.join(FORMATS)}.", field="format"
        )
    return fmt


def names_help() -> str:
    return ", ".join(FORMATS)
