"""Zone transfer over TLS (XoT, RFC 9103) for the RPZ primary.

Why: a resolver that cannot sign its requests with TSIG (Unbound) can only be let in by
its address, and its transfers then cross the network in clear, so anyone on the path
reads the whole blocking list and every change. XoT gives such an ISP, and any other, a
channel that is private and whose server is authenticated by its certificate.

How: a listener of its own (``TANGKAL_RPZ_XOT_PORT``; 853 is the registered port) that
accepts TCP like the plain port, admits the connection through the same per-address
limits (``tangkal.rpz.limits.Gate``) *before* the handshake, so a flood of handshakes
costs no more than a flood of plain connections, and then speaks TLS 1.3 with the ALPN
token ``dot`` (RFC 9103 7.1: XoT is DNS over TLS, and a client that does not offer
``dot`` is closed). Inside, every message is handled exactly as on the plain port: the
same authorisation (TSIG, or the subscriber's allow-list of addresses), the same
answers, the same bookkeeping. TLS does not replace authorisation; it adds privacy.

The certificate and key are read when the settings are read (``Settings``), so a file
that is missing, not PEM, or a key that does not belong to the certificate stops
``tangkal serve`` at start, naming the setting, rather than failing on the first
subscriber's connection.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

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


async def handshake(writer: asyncio.StreamWriter, ctx: ssl.SSLContext, timeout: float) -> bool:
    """Upgrade an accepted connection to TLS; False when the handshake fails, takes longer
    than ``timeout``, or the client did not agree on ALPN ``dot`` (close it then)."""
    try:
        await writer.start_tls(ctx, ssl_handshake_timeout=timeout)
    except (ssl.SSLError, ConnectionError, OSError, TimeoutError):
        return False
    ssl_object = writer.get_extra_info("ssl_object")
    return ssl_object is not None and ssl_object.selected_alpn_protocol() == ALPN
