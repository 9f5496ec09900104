"""The primary over real sockets: SOA, AXFR, IXFR, TSIG, allow-lists, NOTIFY, bad input."""

from __future__ import annotations

import asyncio
import base64
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import pytest
from sqlalchemy import text

from tangkal.accounts.principal import SYSTEM
from tangkal.db.session import Database
from tangkal.rpz import services
from tangkal.rpz.journal import RpzAction, ZoneChange, ensure_state, latest_seq, publish
from tangkal.rpz.server import RpzPrimary
from tangkal.rpz.services import zone_config
from tangkal.rpz.zone import ZoneStore
from tangkal.settings import Settings
from tests import support
from tests.factories import Factory
from tests.unit.rpz.harness import running_primary

ZONE = "rpz.tangkal."


def soa_serial(port: int, *, tcp: bool = False) -> int:
    q = dns.message.make_query(ZONE, "SOA")
    r = (dns.query.tcp if tcp else dns.query.udp)(q, "127.0.0.1", port=port, timeout=1)
    assert r.rcode() == dns.rcode.NOERROR
    return int(r.answer[0][0].serial)


def wait_serial(port: int, serial: int, limit: float = 5) -> None:
    deadline = time.monotonic() + limit
    while soa_serial(port) != serial:
        assert time.monotonic() < deadline, "the new serial was never served"
        time.sleep(0.01)


def xfr(
    port: int, rdtype: str = "AXFR", serial: int = 0, **kw: object
) -> list[dns.message.Message]:
    return list(
        dns.query.xfr(
            "127.0.0.1",
            ZONE,
            rdtype=rdtype,
            serial=serial,
            port=port,
            timeout=5,
            lifetime=30,
            relativize=False,
            **kw,
        )
    )  # type: ignore[arg-type]


def records(msgs: list[dns.message.Message]) -> list[tuple[str, str, str]]:
    return [
        (rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype), rd.to_text())
        for m in msgs
        for rr in m.answer
        for rd in rr
    ]


@pytest.fixture
def isp(db: Database, factory: Factory) -> tuple[str, str, str]:
    """An ISP with a key and an allow-listed subscriber on 127.0.0.1; (org, keyname, secret)."""
    org = factory.isp()
    with db.unit_of_work() as s:
        key, secret = services.create_tsig_key(s, SYSTEM, org.name)
        services.add_subscriber(s, SYSTEM, org.name, "127.0.0.1:9", ["127.0.0.1/32"])
    return org.name, key.name, secret


def block(db: Database, *changes: tuple[str, RpzAction | None]) -> int:
    with db.unit_of_work() as s:
        return publish(s, [ZoneChange(n, a) for n, a in changes])


def test_soa_over_udp_and_tcp_and_a_full_transfer(
    db: Database, tmp_path: Path, isp: tuple[str, str, str]
) -> None:
    serial = block(db, ("t.me", RpzAction.NXDOMAIN), ("telegram.org", RpzAction.LANDING))
    with running_primary(db, tmp_path) as primary:
        assert soa_serial(primary.port) == serial == soa_serial(primary.port, tcp=True)
        got = records(xfr(primary.port))
    assert got[0][1] == "SOA" and got[-1][1] == "SOA"
    assert ("t.me.rpz.tangkal.", "CNAME", ".") in got
    assert ("*.telegram.org.rpz.tangkal.", "CNAME", "laman-labuh.tangkal.id.") in got
    assert len(got) == 2 * 2 + 3


def test_a_committed_change_is_served_and_travels_as_ixfr(
    db: Database, tmp_path: Path, isp: tuple[str, str, str]
) -> None:
    first = block(db, ("t.me", RpzAction.NXDOMAIN))
    with running_primary(db, tmp_path) as primary:
        second = block(db, ("t.me", None), ("web.telegram.org", RpzAction.NODATA))
        wait_serial(primary.port, second)
        msgs = xfr(primary.port, "IXFR", serial=first)
        got = records(msgs)
        assert [r[1] for r in got] == [
            "SOA",
            "SOA",
            "CNAME",
            "CNAME",
            "SOA",
            "CNAME",
            "CNAME",
            "SOA",
        ]
        assert ("t.me.rpz.tangkal.", "CNAME", ".") in got[2:4]
        assert ("web.telegram.org.rpz.tangkal.", "CNAME", "*.") in got[5:7]
        assert primary.transfer_log[-1]["kind"] == "IXFR"
        # already up to date: one SOA
        assert [r[1] for r in records(xfr(primary.port, "IXFR", serial=second))] == ["SOA"]
        # a serial the journal never had: full transfer instead
        got = records(xfr(primary.port, "IXFR", serial=12345))
        assert primary.transfer_log[-1]["kind"] == "AXFR" and len(got) == 2 + 3


def test_tsig_signed_transfers_verify_and_wrong_keys_are_refused(
    db: Database, tmp_path: Path, factory: Factory
) -> None:
    org = factory.isp()
    with db.unit_of_work() as s:
        key, secret = services.create_tsig_key(s, SYSTEM, org.name)
        services.add_subscriber(s, SYSTEM, org.name, "127.0.0.1:9")  # no allow-list
    block(db, *[(f"n{i}.example.com", RpzAction.NXDOMAIN) for i in range(3000)])
    good = dns.tsigkeyring.from_text({key.name: secret})
    with running_primary(db, tmp_path) as primary:
        msgs = xfr(primary.port, keyring=good, keyname=key.name, keyalgorithm=dns.tsig.HMAC_SHA256)
        assert len(msgs) > 1 and len(records(msgs)) == 2 * 3000 + 3  # every message verified
        with pytest.raises(dns.exception.DNSException):
            xfr(primary.port)  # unsigned, address not allow-listed
        wrong = dns.tsigkeyring.from_text({key.name: base64.b64encode(b"x" * 32).decode()})
        with pytest.raises(dns.exception.DNSException):
            xfr(primary.port, keyring=wrong, keyname=key.name, keyalgorithm=dns.tsig.HMAC_SHA256)
        unknown = dns.tsigkeyring.from_text({"nobody": secret})
        with pytest.raises(dns.exception.DNSException):
            xfr(primary.port, keyring=unknown, keyname="nobody", keyalgorithm=dns.tsig.HMAC_SHA256)
        refused = primary.transfer_log
        assert all(t["key"] == key.name for t in refused)


def test_anything_else_is_refused(db: Database, tmp_path: Path) -> None:
    with running_primary(db, tmp_path) as primary:
        for name, rdtype in [("example.com.", "A"), (ZONE, "A"), ("t.me." + ZONE, "CNAME")]:
            r = dns.query.udp(
                dns.message.make_query(name, rdtype), "127.0.0.1", port=primary.port, timeout=3
            )
            assert r.rcode() == dns.rcode.REFUSED


def test_random_bytes_and_truncations_never_break_the_server(
    db: Database, tmp_path: Path, isp: tuple[str, str, str]
) -> None:
    import random

    rng = random.Random(1982)
    block(db, ("t.me", RpzAction.NXDOMAIN))
    valid = [dns.message.make_query(ZONE, t).to_wire() for t in ("SOA", "AXFR", "IXFR", "A")]
    with running_primary(db, tmp_path) as primary:
        primary_answer = primary.answer
        cases: list[bytes] = [b"", b"\x00", b"\x00" * 11, b"\xff" * 12]
        for wire_ in valid:
            cases += [wire_[:i] for i in range(len(wire_))]
            for _ in range(200):
                b = bytearray(wire_)
                for _ in range(rng.randint(1, 4)):
                    b[rng.randrange(len(b))] = rng.randrange(256)
                cases.append(bytes(b))
        cases += [rng.randbytes(rng.randint(0, 600)) for _ in range(2000)]
        # a compression loop and a pointer past the end
        cases.append(b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x06\x00\x01")
        cases.append(b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\xff\x00\x06\x00\x01")
        for case in cases:
            for msg in primary_answer(case, "127.0.0.1", tcp=bool(rng.getrandbits(1))):
                assert len(msg) >= 12 and msg[2] & 0x80  # only ever responses
        # and over the wire, the server still answers afterwards
        assert soa_serial(primary.port) > 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for case in cases[:500]:
                s.sendto(case, ("127.0.0.1", primary.port))
        # the flood may overflow the socket buffer and drop a query: retry like a client
        for attempt in range(5):
            try:
                assert soa_serial(primary.port) > 0
                break
            except dns.exception.Timeout:
                assert attempt < 4, "the server stopped answering after the flood"
        with socket.create_connection(("127.0.0.1", primary.port), timeout=3) as s:
            s.sendall(struct.pack(">H", 200) + b"\x00" * 10)  # promises more than it sends
        assert soa_serial(primary.port, tcp=True) > 0


def test_notify_goes_to_subscribers_and_is_retried_until_acknowledged(
    db: Database, tmp_path: Path, factory: Factory
) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    org = factory.isp()
    with db.unit_of_work() as s:
        services.add_subscriber(
            s, SYSTEM, org.name, f"127.0.0.1:{listener.getsockname()[1]}", ["127.0.0.1"]
        )
    with running_primary(db, tmp_path):
        listener.recvfrom(4096)  # the start-up NOTIFY; not acknowledged -> retried
        data, addr = listener.recvfrom(4096)
        msg = dns.message.from_wire(data)
        assert msg.opcode() == dns.opcode.NOTIFY
        listener.sendto(dns.message.make_response(msg).to_wire(), addr)
        serial = block(db, ("t.me", RpzAction.NXDOMAIN))
        while True:
            data, addr = listener.recvfrom(4096)
            msg = dns.message.from_wire(data)
            if msg.answer and msg.answer[0][0].serial == serial:
                break
        listener.sendto(dns.message.make_response(msg).to_wire(), addr)
        deadline = time.monotonic() + 5
        while True:
            with db.read_only() as s:
                (st,) = services.subscriber_status(s)
                sub = s.get(services.Subscriber, st.id)
                if sub is not None and sub.last_notify_ack_serial == serial:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.05)
    listener.close()


def test_a_restart_serves_from_the_snapshot_plus_later_journal(
    db: Database, tmp_path: Path
) -> None:
    block(db, *[(f"n{i}.example.com", RpzAction.NXDOMAIN) for i in range(2000)])
    with running_primary(db, tmp_path) as primary:
        pass
    assert primary.snapshot_path.exists()
    later = block(db, ("t.me", RpzAction.NXDOMAIN))
    with running_primary(db, tmp_path) as again:
        assert soa_serial(again.port) == later
        assert again.store.view.names == 2001
        assert isinstance(again, RpzPrimary)


def test_ixfr_over_udp_gets_the_current_soa_so_the_client_moves_to_tcp(
    db: Database, tmp_path: Path, isp: tuple[str, str, str]
) -> None:
    first = block(db, ("t.me", RpzAction.NXDOMAIN))
    second = block(db, ("web.telegram.org", RpzAction.NXDOMAIN))
    with running_primary(db, tmp_path) as primary:
        q = dns.message.make_query(ZONE, "IXFR")
        q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", f". . {first} 0 0 0 0"))
        r = dns.query.udp(q, "127.0.0.1", port=primary.port, timeout=2)
        assert r.rcode() == dns.rcode.NOERROR
        assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.SOA]
        assert r.answer[0][0].serial == second


def _big_zone_snapshot(db: Database, data_dir: Path, names: int) -> int:
    """The zone a long-running primary would hold, as the snapshot it starts from (building
    it from that many committed names would take a test most of a minute); its serial."""
    with db.unit_of_work() as s:
        ensure_state(s)
        seq, serial = latest_seq(s)
    config = zone_config(Settings(database_url=db.url, data_dir=data_dir))
    ZoneStore.build(
        config,
        ((f"n{i:07d}.example.com", RpzAction.NXDOMAIN) for i in range(names)),
        serial=serial,
        seq=seq,
    ).save_snapshot(data_dir / "rpz" / (config.origin.rstrip(".") + ".snapshot"))
    return serial


def test_soa_queries_are_answered_while_a_big_full_transfer_is_still_under_way(
    db: Database, tmp_path: Path, isp: tuple[str, str, str]
) -> None:
    """A full transfer of a big zone gives the event loop back between slices, so an SOA
    query from another resolver is answered before the transfer ends, not after it. The
    transfer is read by a client that keeps up, which is when it used to hold the loop for
    as long as the socket took everything it wrote."""
    names = 400_000
    serial = _big_zone_snapshot(db, tmp_path, names)
    with running_primary(db, tmp_path) as primary:
        assert primary.store.view.names == names
        # The client runs in its own process, like a resolver, so it reads as fast as the
        # server writes (in this process it would share the interpreter lock with it).
        out = subprocess.run(
            [sys.executable, "-c", _AXFR_WITH_SOA_CLIENT, str(primary.port), str(2 * names + 3)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode == 0, out.stderr
    records, records_before_soa, soa_serial_seen = map(int, out.stdout.split())
    assert records == 2 * names + 3
    assert soa_serial_seen == serial
    assert 0 < records_before_soa < records, "the SOA was answered only after the transfer"


class _KeepingUpWriter:
    """A transport that takes every byte at once: ``drain()`` never has to wait, which is
    when a transfer used to hold the event loop from its first message to its last."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)

    async def drain(self) -> None:
        return None

    def get_extra_info(self, name: str) -> object:
        return ("127.0.0.1", 53000) if name == "peername" else None

    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        return None


def test_a_full_transfer_to_a_client_that_keeps_up_gives_the_event_loop_back(
    db: Database, tmp_path: Path, isp: tuple[str, str, str]
) -> None:
    """The same property without a second process: the transfer's coroutine runs on a loop
    with a heartbeat, writing to a transport that never makes it wait; the heartbeat must
    run while the transfer is part-way through (before slicing it never did: nothing in the
    loop of writes suspends when the socket keeps up)."""
    names = 400_000
    _big_zone_snapshot(db, tmp_path, names)
    axfr = dns.message.make_query("rpz.tangkal.", "AXFR").to_wire()
    with running_primary(db, tmp_path) as primary:
        assert primary.store.view.names == names

        async def transfer() -> tuple[int, list[int]]:
            reader = asyncio.StreamReader()
            reader.feed_data(struct.pack(">H", len(axfr)) + axfr)
            reader.feed_eof()
            writer = _KeepingUpWriter()
            seen: list[int] = []
            done = False

            def beat() -> None:
                seen.append(writer.written)
                if not done:
                    asyncio.get_running_loop().call_soon(beat)

            asyncio.get_running_loop().call_soon(beat)
            await primary._serve_tcp(reader, writer)  # type: ignore[arg-type]
            done = True
            return writer.written, seen

        total, seen = asyncio.run(transfer())
    assert total > 20_000_000  # the whole zone went out
    assert any(0 < n < total for n in seen), "the loop was held for the whole transfer"


# One thread, both sockets: the UDP socket is looked at before the TCP one each time, so an
# SOA answer sent before the transfer's last bytes is seen before they are. Prints: records
# transferred, records received when the SOA answer was, the SOA serial.
_AXFR_WITH_SOA_CLIENT = """
import select, socket, struct, sys
import dns.message
port, expected = int(sys.argv[1]), int(sys.argv[2])
axfr = dns.message.make_query("rpz.tangkal.", "AXFR").to_wire()
soa = dns.message.make_query("rpz.tangkal.", "SOA")
tcp = socket.create_connection(("127.0.0.1", port), timeout=30)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tcp.sendall(struct.pack(">H", len(axfr)) + axfr)
buf, records, asked, answer, before = bytearray(), 0, False, None, -1
while records < expected:
    readable, _, _ = select.select([udp, tcp], [], [], 30)
    assert readable, "the server went silent"
    if udp in readable:
        answer, before = udp.recv(4096), records
        continue
    data = tcp.recv(8 << 20)
    assert data, f"the transfer ended after {records} records"
    buf += data
    pos = 0
    while len(buf) - pos >= 2:
        (length,) = struct.unpack_from(">H", buf, pos)
        if len(buf) - pos - 2 < length:
            break
        assert buf[pos + 5] & 0x0F == 0, "transfer refused"
        records += struct.unpack_from(">H", buf, pos + 8)[0]
        pos += 2 + length
    del buf[:pos]
    if records and not asked:  # the transfer is under way: now ask for the SOA
        udp.sendto(soa.to_wire(), ("127.0.0.1", port))
        asked = True
serial = dns.message.from_wire(answer).answer[0][0].serial if answer else 0
print(records, before, serial)
"""


def test_an_ixfr_older_than_the_changes_in_memory_is_read_from_the_journal(
    db: Database, tmp_path: Path, isp: tuple[str, str, str]
) -> None:
    """The read runs on a worker thread and the transfer goes on from there; a serial the
    journal never had still gets a full transfer."""
    first = block(db, ("t.me", RpzAction.NXDOMAIN))
    block(db, ("t.me", None), ("web.telegram.org", RpzAction.NODATA))
    with running_primary(db, tmp_path) as primary:
        assert not primary.recent  # built from the database: nothing in memory
        got = records(xfr(primary.port, "IXFR", serial=first))
        assert [r[1] for r in got] == [
            "SOA",
            "SOA",
            "CNAME",
            "CNAME",
            "SOA",
            "CNAME",
            "CNAME",
            "SOA",
        ]
        assert primary.transfer_log[-1]["kind"] == "IXFR"
        got = records(xfr(primary.port, "IXFR", serial=12345))
        assert primary.transfer_log[-1]["kind"] == "AXFR" and len(got) == 2 + 3


def _waiting_on_a_lock(db: Database, statement: str) -> bool:
    """Whether another session of this database waits on a lock running ``statement``."""
    with db.engine.connect() as conn:  # a new transaction each time: the view is snapshotted
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() "
                    "AND query LIKE :statement"
                ),
                {"statement": f"%{statement}%"},
            ).scalar()
        )


# PostgreSQL only: under WAL a SQLite writer never blocks a reader, so there is no lock that
# can hold a journal read there (a long journal is its slow path).
@pytest.mark.parametrize("backend", [b for b in support.backends() if b == "postgresql"])
def test_soa_and_other_transfers_are_served_while_an_ixfr_waits_on_the_journal(
    db: Database, tmp_path: Path, isp: tuple[str, str, str]
) -> None:
    """An IXFR from a serial older than the change sets kept in memory reads the journal
    from the database. Another session holds the journal table locked, so that read waits;
    meanwhile the same server must still answer an SOA query over UDP and serve a full
    transfer (the read used to run on the event loop and stopped both until the lock went).
    Once the lock goes, the IXFR completes as usual."""
    first = block(db, ("t.me", RpzAction.NXDOMAIN))
    second = block(db, ("web.telegram.org", RpzAction.NXDOMAIN))
    with running_primary(db, tmp_path) as primary:
        assert not primary.recent  # built from the database: an IXFR must read the journal
        got: list[list[dns.message.Message]] = []
        errors: list[BaseException] = []

        def ixfr() -> None:
            try:
                got.append(
                    list(
                        dns.query.xfr(
                            "127.0.0.1",
                            ZONE,
                            rdtype="IXFR",
                            serial=first,
                            port=primary.port,
                            timeout=30,
                            lifetime=60,
                            relativize=False,
                        )
                    )
                )
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        with db.engine.connect() as locker:
            locker.execute(text("LOCK TABLE rpz_changesets IN ACCESS EXCLUSIVE MODE"))
            client = threading.Thread(target=ixfr, daemon=True)
            client.start()
            try:
                deadline = time.monotonic() + 10
                while not _waiting_on_a_lock(db, "rpz_changesets.serial ="):
                    assert client.is_alive(), "the IXFR ended without reading the journal"
                    assert time.monotonic() < deadline, "the IXFR never read the journal"
                    time.sleep(0.01)
                assert soa_serial(primary.port) == second  # raises on a timeout (1 s)
                assert len(records(xfr(primary.port, "AXFR"))) == 2 * 2 + 3
                assert client.is_alive() and not got, "the IXFR did not wait for the lock"
            finally:
                locker.rollback()  # lets the journal read go on
                client.join(60)
        assert not client.is_alive(), "the IXFR never finished"
        assert not errors, errors
        assert [r[1] for r in records(got[0])] == ["SOA", "SOA", "SOA", "CNAME", "CNAME", "SOA"]
        assert primary.transfer_log[-1]["kind"] == "IXFR"
        assert primary.transfer_log[-1]["from_serial"] == first
