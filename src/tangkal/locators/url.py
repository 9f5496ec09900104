"""http(s) URLs, canonicalised so that the same page reported twice has one key.

Normalisation (RFC 3986 §6.2.2 and §6.2.3, plus what reports need):

* scheme and host lower-cased; host through :meth:`Domain.parse` (IDNA, public suffixes
  refused) or, for an IP literal, only public (global) addresses: a private, loopback or
  link-local address names nobody's content on the internet and is almost always a mistake;
* default ports (80 for http, 443 for https) and the fragment dropped; an empty path is ``/``;
* percent-encoding normalised: escapes of unreserved characters decoded, other escapes in
  upper case, characters that may not appear raw (spaces, non-ASCII) percent-encoded as UTF-8;
* ``.`` and ``..`` path segments resolved (RFC 3986 §5.2.4);
* tracking parameters removed (``utm_*``, ``fbclid``, ``gclid``, ``igshid``, ``si``, ...);
  the remaining parameters keep their order, since some servers depend on it, and empty
  ``&&`` pieces and an empty ``?`` are dropped.

The canonical key leaves out the scheme: a takedown concerns the content, and the same
path served over http and https is, in practice, the same item. ``Locator.url`` keeps
the scheme that was given. Refused: other schemes, user-info (``user@host`` is a classic
way to disguise the real host), backslashes, control characters and URLs over 2048 chars.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote

from tangkal.errors import InvalidLocator, Msg
from tangkal.locators import telegram
from tangkal.locators.domain import Domain, _show, could_be_ip
from tangkal.locators.model import Locator, LocatorKind

__all__ = ["MAX_URL_LENGTH", "TRACKING_PARAMS", "parse_url"]

MAX_URL_LENGTH = 2048

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "igsh",
        "si",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
    }
)
_TRACKING_PREFIXES = ("utm_",)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_URI = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):(?://(?P<authority>[^/?#]*))?"
    r"(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#.*)?\Z",
    re.DOTALL,
)
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = frozenset("!$&'()*+,;=")
_PATH_SAFE = _UNRESERVED | _SUB_DELIMS | frozenset(":@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_HEX = frozenset("0123456789abcdefABCDEF")
_FIELD = "locator"


def _fail(message: str | Msg) -> InvalidLocator:
    return InvalidLocator(message, field=_FIELD)


def normalise_percent(component: str, safe: frozenset[str]) -> str:
    """Apply RFC 3986 §6.2.2.2 to one component; reserved characters keep their meaning."""
    if safe.issuperset(component):  # nothing to decode or encode ("%" is never safe)
        return component
    out: list[str] = []
    i = 0
    while i < len(component):
        char = component[i]
        if char == "%" and i + 2 < len(component) and set(component[i + 1 : i + 3]) <= _HEX:
            decoded = chr(int(component[i + 1 : i + 3], 16))
            out.append(
                decoded if decoded in _UNRESERVED else "%" + component[i + 1 : i + 3].upper()
            )
            i += 3
            continue
        if char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        i += 1
    return "".join(out)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, so that ``/a/./b/../c`` and ``/a/c`` are one path."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _is_tracking(name: str) -> bool:
    lowered = unquote(name).lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


def _normalise_query(query: str | None) -> str:
    if not query:
        return ""
    kept = [
        normalise_percent(piece, _QUERY_SAFE)
        for piece in query.split("&")
        if piece and not _is_tracking(piece.split("=", 1)[0])
    ]
    return "&".join(kept)


def _split_host_port(authority: str, original: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        end = authority.find("]")
        if end == -1:
            raise _fail(Msg("%(text)s has an unclosed '[' in its host", text=_show(original)))
        host, rest = authority[: end + 1], authority[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _fail(
                Msg("%(text)s has text after the bracketed IPv6 host", text=_show(original))
            )
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = authority.partition(":")
        if ":" in port_text:
            raise _fail(Msg("%(text)s has more than one ':' in its host", text=_show(original)))
    if not port_text:
        return host, None
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _fail(
            Msg(
                "%(text)s has an invalid port %(port)r; use 1-65535",
                text=_show(original),
                port=port_text,
            )
        )
    return host, int(port_text)


def _ip_host(host: str, original: str) -> str | None:
    """Canonical form of an IP-literal host, None if the host is not one."""
    bracketed = host.startswith("[") and host.endswith("]")
    if not bracketed and not could_be_ip(host):
        return None
    try:
        address = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        if bracketed:
            raise _fail(
                Msg("%(text)s has an invalid IPv6 address in brackets", text=_show(original))
            ) from None
        return None
    if isinstance(address, ipaddress.IPv6Address) and not bracketed:
        raise _fail(
            Msg("%(text)s: an IPv6 address in a URL must be in [brackets]", text=_show(original))
        )
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global:
        raise _fail(
            Msg(
                "%(text)s points at %(address)s, a private, loopback or reserved address "
                "that is not reachable on the public internet; give the public address or name",
                text=_show(original),
                address=str(address),
            )
        )
    return f"[{address.compressed}]" if address.version == 6 else str(address)


def parse_url(text: str) -> Locator:
    """Canonicalise an http(s) URL (already stripped of copy-paste junk) into a Locator."""
    if len(text) > MAX_URL_LENGTH:
        raise _fail(
            Msg(
                "the URL is %(length)s characters long; the limit is %(limit)s",
                length=len(text),
                limit=MAX_URL_LENGTH,
            )
        )
    if "\\" in text:
        raise _fail(
            Msg(
                "%(text)s contains a backslash, which browsers read as '/' and which can "
                "disguise the real host; write the URL with '/'",
                text=_show(text),
            )
        )
    match = _URI.match(text)
    if match is None:
        raise _fail(Msg("%(text)s is not a URL", text=_show(text)))
    scheme = match["scheme"].lower()
    if scheme not in _DEFAULT_PORTS:
        raise _fail(
            Msg(
                "%(text)s is a %(scheme)r URL; only http and https URLs, domains and "
                "Telegram links can be named",
                text=_show(text),
                scheme=scheme,
            )
        )
    authority = match["authority"]
    if not authority:
        raise _fail(
            Msg(
                "%(text)s has no host; write it as %(scheme)s://example.com/...",
                text=_show(text),
                scheme=scheme,
            )
        )
    if "@" in authority:
        raise _fail(
            Msg(
                "%(text)s contains a user name or password ('...@'), which is often used to "
                "disguise the real host; give the URL without it",
                text=_show(text),
            )
        )
    host_text, port = _split_host_port(authority, text)
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    path = remove_dot_segments(normalise_percent(match["path"] or "/", _PATH_SAFE))
    query = _normalise_query(match["query"])

    domain: Domain | None = None
    host = _ip_host(host_text, text)
    if host is None:
        # Hosts may be percent-encoded (WHATWG decodes them), and carry IDN.
        domain = Domain.parse(unquote(host_text), field=_FIELD)
        host = domain.name
        if port is None and telegram.is_telegram_host(domain):
            found = telegram.from_url_parts(domain, path, query, text)
            if found is not None:
                return found

    authority_out = host if port is None else f"{host}:{port}"
    tail = path + (f"?{query}" if query else "")
    url = f"{scheme}://{authority_out}{tail}"
    if len(url) > MAX_URL_LENGTH:
        raise _fail(
            Msg(
                "the URL is %(length)s characters long; the limit is %(limit)s",
                length=len(url),
                limit=MAX_URL_LENGTH,
            )
        )
    shown_host = domain.unicode if domain is not None else host
    shown_authority = shown_host if port is None else f"{shown_host}:{port}"
    return Locator(
        kind=LocatorKind.URL,
        canonical=f"url:{authority_out}{tail}",
        display=f"{scheme}://{shown_authority}{tail}",
        domain=domain,
        url=url,
    )
