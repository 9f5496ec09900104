"""Zone transfer over TLS (XoT, RFC 9103): the listener, its authorisation and limits, and
the settings that start it, against a primary on real sockets and a client built on
Python's own TLS (the certificate authority is made in the test)."""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import pydantic
import pytest

from tangkal.accounts.principal import SYSTEM
from tangkal.db.session import Database
from tangkal.rpz import services
from tangkal.rpz.journal import RpzAction, ZoneChange, publish
from tangkal.settings import Settings
from tests.factories import Factory
from tests.support import free_port
from tests.unit.rpz.certs import Certs, make_certs
from tests.unit.rpz.harness import running_primary

ZONE = "rpz.tangkal."
NAMES = 3000  # several messages in a full transfer


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return make_certs(tmp_path / "tls")


@pytest.fixture
def key(db: Database, factory: Factory) -> tuple[str, str]:
    """An ISP with a TSIG key whose one subscriber is allow-listed elsewhere (192.0.2.1),
    so that from 127.0.0.1 only signed transfers are allowed; and a zone of NAMES names."""
    org = factory.isp()
    with db.unit_of_work() as s:
        k, secret = services.create_tsig_key(s, SYSTEM, org.name)
        services.add_subscriber(s, SYSTEM, org.name, "127.0.0.1:9", ["192.0.2.1/32"])
    with db.unit_of_work() as s:
        publish(s, [ZoneChange(f"n{i}.contoh.id", RpzAction.NXDOMAIN) for i in range(NAMES)])
    return k.name, secret


def client_context(certs: Certs, *, alpn: list[str] | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs.ca))
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    return ctx


def xot_messages(
    port: int, q: dns.message.Message, ctx: ssl.SSLContext, hostname: str
) -> Iterator[bytes]:
    """Send ``q`` over TLS, yield each length-prefixed answer until the transfer's closing
    SOA (or the one answer of anything else)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        data = q.to_wire()
        tls.sendall(struct.pack(">H", len(data)) + data)
        soas = 0
        while True:
            (length,) = struct.unpack(">H", _read(tls, 2))
            msg = _read(tls, length)
            yield msg
            r = dns.message.from_wire(msg, xfr=True, ignore_trailing=True, keyring=False)
            soas += sum(1 for rr in r.answer if rr.rdtype == dns.rdatatype.SOA)
            if q.question[0].rdtype != dns.rdatatype.AXFR or soas >= 2 or r.rcode():
                return


def _read(sock: ssl.SSLSocket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def axfr_over_xot(
    port: int, certs: Certs, key: tuple[str, str] | None
) -> tuple[int, list[dns.message.Message]]:
    """(rcode, messages) of an AXFR over XoT, every TSIG verified when signed."""
    q = dns.message.make_query(ZONE, "AXFR", use_edns=0)
    keyring = None
    if key is not None:
        keyring = dns.tsigkeyring.from_text({key[0]: key[1]})
        q.use_tsig(keyring, key[0], algorithm=dns.tsig.HMAC_SHA256)
    out: list[dns.message.Message] = []
    ctx = None
    for wire_msg in xot_messages(port, q, client_context(certs, alpn=["dot"]), certs.hostname):
        r = dns.message.from_wire(
            wire_msg,
            keyring=keyring,
            request_mac=q.mac if keyring else b"",
            xfr=True,
            tsig_ctx=ctx,
            multi=True,
        )
        ctx = r.tsig_ctx
        out.append(r)
    return out[-1].rcode(), out


def xot_settings(certs: Certs, port: int) -> dict[str, object]:
    return {
        "rpz_xot_port": port,
        "rpz_xot_cert_file": certs.cert,
        "rpz_xot_key_file": certs.key,
    }


def test_a_signed_transfer_over_tls_and_an_unsigned_one_refused_as_on_plain_tcp(
    db: Database, tmp_path: Path, certs: Certs, key: tuple[str, str]
) -> None:
    port = free_port()
    with running_primary(db, tmp_path, **xot_settings(certs, port)) as primary:
        rcode, msgs = axfr_over_xot(port, certs, key)
        assert rcode == dns.rcode.NOERROR and len(msgs) > 1
        assert sum(len(rr) for m in msgs for rr in m.answer) == 2 * NAMES + 3
        assert all(m.edns == 0 and m.had_tsig for m in msgs)
        assert primary.transfer_log[-1]["kind"] == "AXFR"
        assert primary.transfer_log[-1]["key"] == key[0]
        rcode, _ = axfr_over_xot(port, certs, None)  # 127.0.0.1 is on no allow-list
        assert rcode == dns.rcode.REFUSED
        # an SOA query over XoT (what a secondary asks before a transfer)
        q = dns.message.make_query(ZONE, "SOA")
        (soa,) = xot_messages(port, q, client_context(certs, alpn=["dot"]), certs.hostname)
        assert dns.message.from_wire(soa).answer


def test_an_allow_listed_address_transfers_unsigned_over_tls(
    db: Database, tmp_path: Path, certs: Certs, factory: Factory
) -> None:
    """The case XoT is for: a resolver that cannot sign (Unbound) still gets privacy."""
    org = factory.isp()
    with db.unit_of_work() as s:
        services.add_subscriber(s, SYSTEM, org.name, "127.0.0.1:9", ["127.0.0.1/32"])
    port = free_port()
    with running_primary(db, tmp_path, **xot_settings(certs, port)):
        rcode, msgs = axfr_over_xot(port, certs, None)
    assert rcode == dns.rcode.NOERROR and sum(len(rr) for m in msgs for rr in m.answer) == 3


def test_plain_dns_or_old_tls_on_the_xot_port_is_closed(
    db: Database, tmp_path: Path, certs: Certs, key: tuple[str, str]
) -> None:
    port = free_port()
    q = dns.message.make_query(ZONE, "SOA").to_wire()
    with running_primary(db, tmp_path, **xot_settings(certs, port)) as primary:
        # a plain DNS client: its query is not a TLS ClientHello, so no DNS answer comes
        with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
            plain.sendall(struct.pack(">H", len(q)) + q)
            received = b""
            with pytest.raises(ConnectionError):
                while True:
                    chunk = plain.recv(4096)
                    if not chunk:
                        raise ConnectionError("closed")
                    received += chunk
            assert len(received) < 12 or received[2] & 0x80 == 0  # never a DNS response
        # TLS without ALPN (as Unbound 1.17 connects): served; with ALPN, "dot" is chosen
        (soa,) = xot_messages(port, dns.message.make_query(ZONE, "SOA"), client_context(certs),
                              certs.hostname)  # fmt: skip
        assert dns.message.from_wire(soa).answer
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_context(certs, alpn=["h2", "dot"]).wrap_socket(
                raw, server_hostname=certs.hostname
            ) as tls,
        ):
            assert tls.selected_alpn_protocol() == "dot" and tls.version() == "TLSv1.3"
        # TLS 1.2: refused in the handshake (RFC 9103 requires 1.3)
        old = client_context(certs, alpn=["dot"])
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises((ConnectionError, ssl.SSLError)):
            list(xot_messages(port, dns.message.make_query(ZONE, "SOA"), old, certs.hostname))
        # a client that does not trust our authority refuses us (the certificate is checked)
        with pytest.raises(ssl.SSLCertVerificationError):
            list(xot_messages(port, dns.message.make_query(ZONE, "SOA"),
                              ssl.create_default_context(), certs.hostname))  # fmt: skip
        assert primary.refusals.reasons["tls"] >= 2
        rcode, _ = axfr_over_xot(port, certs, key)  # and the port still serves
        assert rcode == dns.rcode.NOERROR


def test_the_per_address_limit_holds_before_any_handshake(
    db: Database, tmp_path: Path, certs: Certs, key: tuple[str, str]
) -> None:
    """Connections from one address that have not sent anything count against the same
    limit as on the plain port; one beyond it is closed without a TLS handshake."""
    port = free_port()
    settings = {**xot_settings(certs, port), "rpz_tcp_per_address": 2, "rpz_tcp_per_prefix": 2}
    with running_primary(db, tmp_path, **settings) as primary:
        held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as third:
                assert third.recv(1) == b""  # closed at once, no ServerHello
            assert (
                primary.refusals.reasons["per_address"] + primary.refusals.reasons["per_prefix"]
                >= 1
            )
        finally:
            for s in held:
                s.close()


def test_xot_settings_are_checked_when_read(certs: Certs, tmp_path: Path) -> None:
    ok = Settings(**xot_settings(certs, 8853))  # type: ignore[arg-type]
    assert ok.rpz_xot_port == 8853
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    other = make_certs(tmp_path / "other")
    cases = {
        "rpz_xot_cert_file": {**xot_settings(certs, 8853), "rpz_xot_cert_file": junk},
        "rpz_xot_key_file": {**xot_settings(certs, 8853), "rpz_xot_key_file": other.key},
    }
    for field, values in cases.items():
        with pytest.raises(pydantic.ValidationError) as err:
            Settings(**values)  # type: ignore[arg-type]
        assert err.value.errors()[0]["loc"] == (field,)
    missing = {**xot_settings(certs, 8853), "rpz_xot_key_file": tmp_path / "absent.key"}
    with pytest.raises(pydantic.ValidationError, match=r"absent\.key"):
        Settings(**missing)  # type: ignore[arg-type]
    for partial in ({"rpz_xot_port": 8853}, {"rpz_xot_cert_file": certs.cert}):
        with pytest.raises(pydantic.ValidationError, match="go together"):
            Settings(**partial)  # type: ignore[arg-type]
