"""Which addresses a webhook may reach, checked when the connection is made.

A webhook URL is chosen by a platform, so without a check the delivery worker is a way for
anyone with a platform admin token to make this server open connections inside its own
network (the database on 127.0.0.1:5432, the cloud metadata service on 169.254.169.254, an
SSH daemon on ``[::1]:22``) and read back what they answer. Checking the URL when it is
registered is not enough: a name that resolved to a public address then may resolve to
127.0.0.1 at delivery time (DNS rebinding). So the check is made here, on the address the
socket is about to connect to, after the name was resolved, and the connection is made to
that checked address (TLS still names the host, so SNI and the certificate check are those
of the URL, and so is the ``Host`` header).

An operator whose platforms receive on an internal network (an on-premises deployment) lists
those networks in ``TANGKAL_WEBHOOK_ALLOW_NETWORKS``; nothing else inside is reachable.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable, Sequence
from typing import Any

import anyio
import httpcore
import httpx

from tangkal.errors import WebhookRefused

__all__ = [
    "GuardedBackend",
    "GuardedTransport",
    "IPAddress",
    "IPNetwork",
    "forbidden_reason",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known prefix: the last 32 bits are IPv4


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), whose
    packets end at that IPv4 address; checking only the IPv6 form would let
    ``::ffff:127.0.0.1`` through."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_reason(ip: IPAddress, allow: Sequence[IPNetwork] = ()) -> str | None:
    """Why a webhook may not connect to ``ip``, or None when it may.

    An address inside one of the ``allow`` networks is allowed whatever it is; any other must
    be globally routable: not loopback, private, link-local, multicast, unspecified,
    reserved, shared (CGNAT, 100.64.0.0/10) or documentation space, nor an IPv6 form of one.
    """
    if any(ip.version == net.version and ip in net for net in allow):
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = forbidden_reason(inner, allow)
            return None if reason is None else f"{reason} (as {ip})"
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "shared (CGNAT)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "not globally routable"),
    )
    for hit, reason in checks:
        if hit:
            return f"{ip} is {reason}"
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the check between resolving and connecting.

    httpcore hands ``connect_tcp`` the URL's host; this resolves it, drops every address
    :func:`forbidden_reason` refuses and connects to the first that remains and answers. With
    none left, :class:`WebhookRefused` says which address was refused and why."""

    def __init__(self, allow: Sequence[IPNetwork] = ()) -> None:
        self.allow = tuple(allow)
        self._inner = httpcore.AnyIOBackend()

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        out: list[IPAddress] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if ip not in out:
                out.append(ip)
        return out

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        refused: list[str] = []
        last: Exception | None = None
        for ip in addresses:
            reason = forbidden_reason(ip, self.allow)
            if reason is not None:
                refused.append(reason)
                continue
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        if last is not None:
            raise last
        shown = "; ".join(refused[:3]) or "no address"
        raise WebhookRefused(
            f"refused: {host} resolves only to addresses this server does not send to "
            f"({shown}); register a public https address, or ask the operator to allow "
            "the network in TANGKAL_WEBHOOK_ALLOW_NETWORKS"
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise WebhookRefused("refused: webhooks are not sent over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over :class:`GuardedBackend`: no proxy (a proxy would connect for
    us, unchecked), no Unix socket, certificates verified against the URL's host."""

    def __init__(
        self,
        allow: Sequence[IPNetwork] = (),
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow),
        )
