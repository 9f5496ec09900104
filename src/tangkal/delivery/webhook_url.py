"""A platform's webhook URL as a validated, canonical value, parsed once at the edge.

The URL is where this server will POST orders, so it is parsed strictly when it is
registered (the API, the CLI) and stored only in its canonical form; the worker parses the
stored text again before each send, so a row written before these rules is held to them
too. What is refused, and why:

* a scheme other than ``https`` (``http`` only with ``TANGKAL_WEBHOOK_ALLOW_HTTP``, for local
  tests): the orders name unlawful content and the platform's people;
* a user name or password: the request is authenticated by its signature, and a URL with
  credentials ends up in logs and in the audit trail;
* whitespace and control characters (CR/LF could split a request line or a header);
* a host that is neither a DNS name nor an IP address in its usual form: ``0x7f000001``,
  ``2130706433``, ``127.1`` and ``0177.0.0.1`` all mean 127.0.0.1 to some resolvers and
  libraries, and a check that reads them differently from the connection is no check;
* an IP literal that :func:`tangkal.delivery.egress.forbidden_reason` refuses, at once,
  rather than at the first delivery. Names are checked at connect time (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import idna

from tangkal.delivery.egress import IPAddress, IPNetwork, forbidden_reason
from tangkal.errors import InvalidInput, Msg

if TYPE_CHECKING:
    from tangkal.settings import Settings

__all__ = [
    "FIELD",
    "WebhookURL",
    "allowed_networks",
    "parse_webhook_url",
    "webhook_url_from_settings",
]

FIELD = "webhook_url"
MAX_LENGTH = 2048

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_NUMERIC_LOOKING = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z")  # what inet_aton would read
_EXAMPLE = "https://hooks.example.com/tangkal"


@dataclass(frozen=True, slots=True)
class WebhookURL:
    """A webhook URL that passed :func:`parse_webhook_url`; ``url`` is its canonical text."""

    url: str
    scheme: str
    host: str  # A-label DNS name, or the IP address as text
    port: int
    ip: IPAddress | None  # when the host is an IP literal

    def __str__(self) -> str:
        return self.url


def _fail(message: Msg) -> InvalidInput:
    return InvalidInput(message, field=FIELD)


def _first_bad_character(text: str) -> int | None:
    for i, ch in enumerate(text):
        if ch.isspace() or unicodedata.category(ch)[0] in "CZ" or ord(ch) < 0x21:
            return i
    return None


def _host(raw: str) -> tuple[str, IPAddress | None]:
    """The canonical host and its address when it is a literal; refuses odd numeric forms."""
    if raw.startswith("["):
        inner = raw[1:-1] if raw.endswith("]") and "%" not in raw else ""
        try:
            v6 = ipaddress.IPv6Address(inner)  # a zone id ('%eth0') was refused above
        except ValueError:
            raise _fail(_bad_host(raw)) from None
        return f"[{v6.compressed}]", v6
    name = raw[:-1] if raw.endswith(".") else raw
    labels = name.lower().split(".")
    if labels and _NUMERIC_LOOKING.match(labels[-1]):
        # A name whose last label is a number is an IP address to inet_aton; accept only the
        # one spelling everyone reads alike.
        try:
            v4 = ipaddress.IPv4Address(name)
        except ValueError:
            raise _fail(_bad_host(raw)) from None
        return str(v4), v4
    try:
        ascii_name = idna.encode(name, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise _fail(_bad_host(raw)) from None
    if len(ascii_name) > 253 or not all(_LABEL.match(lb) for lb in ascii_name.split(".")):
        raise _fail(_bad_host(raw))
    return ascii_name, None


def _bad_host(raw: str) -> Msg:
    return Msg(
        "The webhook host %(host)s is neither a DNS name nor an IP address in its usual "
        "form; write a name such as hooks.example.com, or an address such as 192.0.2.10 "
        "or [2001:db8::1].",
        host=raw[:80],
    )


def parse_webhook_url(
    text: str, *, allow_http: bool = False, allow_networks: Sequence[IPNetwork] = ()
) -> WebhookURL:
    """Parse and check ``text``; an :class:`InvalidInput` on the ``webhook_url`` field says
    what to type instead."""
    if len(text) > MAX_LENGTH:
        raise _fail(Msg("A webhook URL is at most %(n)d characters.", n=MAX_LENGTH))
    bad = _first_bad_character(text)
    if bad is not None:
        raise _fail(
            Msg(
                "A webhook URL must not contain spaces, line breaks or other control "
                "characters (one is at position %(pos)d); remove it.",
                pos=bad + 1,
            )
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _fail(
            Msg("This is not a URL the server can read; write one such as %(ex)s.", ex=_EXAMPLE)
        ) from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_http):
        raise _fail(
            Msg(
                "A webhook URL must start with https://, such as %(ex)s (http:// is "
                "accepted only by a test server, TANGKAL_WEBHOOK_ALLOW_HTTP).",
                ex=_EXAMPLE,
            )
        )
    netloc = parts.netloc
    if "@" in netloc:
        raise _fail(
            Msg(
                "A webhook URL must not hold a user name or password (before an @); "
                "remove them: each delivery is authenticated by its signature."
            )
        )
    if netloc.startswith("["):
        hostport = netloc[: netloc.find("]") + 1] if "]" in netloc else netloc
    else:
        hostport = netloc.rpartition(":")[0] if ":" in netloc else netloc
    if not hostport:
        raise _fail(Msg("A webhook URL needs a host, such as %(ex)s.", ex=_EXAMPLE))
    if port == 0:
        raise _fail(Msg("A webhook URL's port must be a number from 1 to 65535."))
    if parts.fragment or text.endswith("#"):
        raise _fail(Msg("A webhook URL must not end in a #fragment; remove it."))
    host, ip = _host(hostport)
    if ip is not None:
        reason = forbidden_reason(ip, allow_networks)
        if reason is not None:
            raise _fail(
                Msg(
                    "The webhook address %(host)s is not public: %(reason)s. This server "
                    "sends only to public addresses, and to the networks its operator lists "
                    "in TANGKAL_WEBHOOK_ALLOW_NETWORKS.",
                    host=host,
                    reason=reason,
                )
            )
    default_port = 443 if scheme == "https" else 80
    shown_port = "" if port is None or port == default_port else f":{port}"
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return WebhookURL(
        url=f"{scheme}://{host}{shown_port}{path}{query}",
        scheme=scheme,
        host=host,
        port=port or default_port,
        ip=ip,
    )


def webhook_url_from_settings(text: str, settings: Settings | None = None) -> WebhookURL:
    """:func:`parse_webhook_url` with this server's ``TANGKAL_WEBHOOK_ALLOW_*`` settings."""
    if settings is None:
        from tangkal.settings import get_settings

        settings = get_settings()
    return parse_webhook_url(
        text,
        allow_http=settings.webhook_allow_http,
        allow_networks=allowed_networks(settings),
    )


def allowed_networks(settings: Settings) -> tuple[IPNetwork, ...]:
    """The settings' allow-list as :mod:`ipaddress` networks (for the worker's transport)."""
    return tuple(ipaddress.ip_network(str(n)) for n in settings.webhook_allow_networks)
