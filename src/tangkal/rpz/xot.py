"""Zone transfer over TLS (XoT, RFC 9103) for the RPZ primary.

Why: a resolver that cannot sign its requests with TSIG (Unbound) can only be let in by
its address, and its transfers then cross the network in clear, so anyone on the path
reads the whole blocking list and every change. XoT gives such an ISP, and any other, a
channel that is private and whose server is authenticated by its certificate.

How: a listener of its own (``TANGKAL_RPZ_XOT_PORT``; 853 is the registered port) that
accepts TCP like the plain port, admits the connection through the same per-address
limits (``tangkal.rpz.limits.Gate``) *before* the handshake, so a flood of handshakes
costs no more than a flood of plain connections, and then speaks TLS 1.3 offering the
ALPN token ``dot`` (RFC 9103 7.1). BIND 9.18 and kdig negotiate ``dot``; Unbound 1.17
offers no ALPN at all, so a client that negotiates none is served too (Python's TLS
cannot tell "offered none" from "offered only another protocol": both end without one).
Inside, every message is handled exactly as on the plain port: the same authorisation
(TSIG, or the subscriber's allow-list of addresses), the same answers, the same
bookkeeping. TLS does not replace authorisation; it adds privacy.

The certificate and key are read when the settings are read (``Settings``), so a file
that is missing, not PEM, or a key that does not belong to the certificate stops
``tangkal serve`` at start, naming the setting, rather than failing on the first
subscriber's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

ALPN = "dot"


def check_certificate(path: Path) -> None:
    """Raise ValueError unless ``path`` holds at least one PEM certificate that parses."""
    from cryptography import x509

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ValueError(f"{path} is not a PEM certificate ({exc})") from None
    if not certs:
        raise ValueError(f"{path} holds no certificate")


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The TLS context of the XoT listener; raises ValueError naming what is wrong.

    TLS 1.3 only: RFC 9103 9 requires XoT to use TLS 1.3 or later, and every XoT client
    (BIND 9.18, Knot 3.x, NSD 4.7) has it. ALPN ``dot`` is offered; no client certificate
    is asked for (the subscriber is authorised inside, by TSIG or address).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols([ALPN])
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except FileNotFoundError as exc:
        raise ValueError(f"cannot read {exc.filename}") from None
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise ValueError(f"cannot use {key} as the key of {cert}: {reason}") from None
    return ctx


def listen(host: str, port: int) -> socket.socket:
    """The XoT listening socket (non-blocking, a deep accept queue like the plain port)."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(4096)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def accept(listener: socket.socket, on_accept: Callable[[socket.socket, Any], None]) -> None:
    """Accept connections for ever, handing each raw socket to ``on_accept`` before a byte
    of it is read: the caller admits it through the gate, then calls :func:`upgrade`.

    Why raw sockets: the loop's own TLS server does the handshake before any code of ours
    runs (no per-address limit before it), and upgrading a stream that is already reading
    (``StreamWriter.start_tls``) can swallow a ClientHello that arrived first (BIND and
    Unbound send it at once), after which the handshake waits for ever.
    """
    loop = asyncio.get_running_loop()
    while True:
        try:
            conn, address = await loop.sock_accept(listener)
        except OSError:  # e.g. out of file descriptors: try again shortly
            await asyncio.sleep(0.05)
            continue
        on_accept(conn, address)


def shut(conn: socket.socket) -> None:
    """Close a connection at once, also while its handshake is under way."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


async def upgrade(
    conn: socket.socket, ctx: ssl.SSLContext, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """TLS on an accepted socket, as a stream; None (the socket closed) when the handshake
    fails (not TLS, or older than 1.3), takes longer than ``timeout``, or ends with an ALPN
    other than ``dot``."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 16, loop=loop)
    # Our own reference: uvloop returns its TLS protocol here, not the one we made.
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    try:
        transport, _ = await loop.connect_accepted_socket(
            lambda: protocol,
            conn,
            ssl=ctx,
            ssl_handshake_timeout=timeout,
        )
    except (ssl.SSLError, ConnectionError, OSError, TimeoutError):
        conn.close()
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None or ssl_object.selected_alpn_protocol() not in (ALPN, None):
        transport.abort()
        return None
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)
