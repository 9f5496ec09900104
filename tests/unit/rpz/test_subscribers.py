"""Which subscriber a transfer is credited to (docs/rpz-subscribers.md): the rule on its own,
then through real sockets with the batched bookkeeping and the API's shape."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

import dns.query
import dns.tsig
import dns.tsigkeyring
import pytest

from tangkal.accounts.principal import SYSTEM
from tangkal.db.session import Database
from tangkal.rpz import services, wire
from tangkal.rpz.journal import RpzAction, ZoneChange, publish
from tangkal.rpz.server import Access, SubscriberRef
from tests.factories import Factory
from tests.support import free_port
from tests.unit.rpz.harness import running_primary

ZONE = "rpz.tangkal."
KEY_A = wire.TsigKey(b"\x01a\x00", b"s", "key-a", "org-1")
KEY_B = wire.TsigKey(b"\x01b\x00", b"s", "key-b", "org-1")


def sub(
    sid: str,
    notify: str = "127.0.0.1:53",
    *,
    org: str = "org-1",
    nets: tuple[str, ...] = (),
    key: str | None = None,
    source: str | None = None,
    port: int | None = None,
) -> SubscriberRef:
    host, nport = notify.rsplit(":", 1)
    return SubscriberRef(
        sid,
        org,
        (host, int(nport)),
        tuple(ipaddress.ip_network(n) for n in nets),
        key,
        source,
        port,
    )


def ids(
    access: Access, key: wire.TsigKey | None, ip: str, port: int | None = 40000
) -> tuple[list[str], str] | None:
    found = access.identify(key, ip, port)
    return None if found is None else ([s.id for s in found.subscribers], found.by)


def test_a_key_of_its_own_tells_a_subscriber_apart_on_a_shared_host() -> None:
    access = Access(subscribers=(sub("bind", key="key-a"), sub("knot", key="key-b")))
    assert ids(access, KEY_A, "127.0.0.1") == (["bind"], "key")
    assert ids(access, KEY_B, "127.0.0.1") == (["knot"], "key")


def test_the_organisation_key_shared_by_two_on_one_host_credits_both_as_a_group() -> None:
    access = Access(subscribers=(sub("bind", "127.0.0.1:5301"), sub("knot", "127.0.0.1:5302")))
    assert ids(access, KEY_A, "127.0.0.1") == (["bind", "knot"], "organisation-key+group")


def test_a_registered_source_port_picks_out_its_subscriber_and_excludes_it_elsewhere() -> None:
    access = Access(
        subscribers=(sub("bind", source="127.0.0.1", port=5399), sub("knot", "127.0.0.1:5302"))
    )
    assert ids(access, KEY_A, "127.0.0.1", 5399) == (
        ["bind"],
        "organisation-key+source-address+source-port",
    )
    # any other port is not bind's: knot's, alone
    assert ids(access, KEY_A, "127.0.0.1", 40001) == (["knot"], "organisation-key")


def test_a_registered_source_address_excludes_other_addresses() -> None:
    access = Access(subscribers=(sub("a", source="127.0.0.2"), sub("b", source="127.0.0.3")))
    assert ids(access, KEY_A, "127.0.0.3") == (["b"], "organisation-key+source-address")
    assert ids(access, KEY_A, "127.0.0.4") is None


def test_the_notify_address_narrows_signed_subscribers_on_different_hosts() -> None:
    access = Access(subscribers=(sub("a", "127.0.0.2:53"), sub("b", "127.0.0.3:53")))
    assert ids(access, KEY_A, "127.0.0.3") == (["b"], "organisation-key+notify-address")
    # from an address neither was told on: nothing tells them apart
    assert ids(access, KEY_A, "127.0.0.9") == (["a", "b"], "organisation-key+group")


def test_two_unbound_on_one_address_are_a_group_and_a_third_elsewhere_is_not() -> None:
    access = Access(
        subscribers=(
            sub("u1", "127.0.0.1:5301", nets=("127.0.0.1/32",)),
            sub("u2", "127.0.0.1:5302", nets=("127.0.0.1/32",)),
            sub("u3", "127.0.0.5:5303", nets=("127.0.0.0/24",)),
        )
    )
    assert ids(access, None, "127.0.0.1") == (["u1", "u2"], "allow-ip+notify-address+group")
    assert ids(access, None, "127.0.0.5") == (["u3"], "allow-ip")
    assert access.allowed_unsigned("127.0.0.9") and not access.allowed_unsigned("10.0.0.1")


def test_a_key_of_another_organisation_never_matches() -> None:
    access = Access(subscribers=(sub("a", org="org-2"),))
    assert ids(access, KEY_A, "127.0.0.1") is None


def test_ten_thousand_subscribers_are_identified_by_dictionary() -> None:
    subs = tuple(sub(f"s{i:05}", key=f"k{i}") for i in range(10_000))
    access = Access(subscribers=subs)
    key = wire.TsigKey(b"\x02k7\x00", b"s", "k7", "org-1")
    t0 = time.process_time()
    for _ in range(10_000):
        access.identify(key, "127.0.0.1", 1)
    assert ids(access, key, "127.0.0.1") == (["s00007"], "key")
    # no assertion on time: the test is that this finishes (a scan would be 10^8 steps)
    assert time.process_time() >= t0


def wait_for(check: object, limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the limit"
        time.sleep(0.05)


def statuses(db: Database) -> dict[str, services.SubscriberStatus]:
    with db.read_only() as s:
        return {st.notify: st for st in services.subscriber_status(s)}


@pytest.mark.parametrize("with_port", [False, True])
def test_transfers_over_sockets_are_credited_to_their_own_subscriber_or_to_the_group(
    db: Database, tmp_path: Path, factory: Factory, with_port: bool
) -> None:
    isp = factory.isp()
    src_port = free_port()
    with db.unit_of_work() as s:
        key, secret = services.create_tsig_key(s, SYSTEM, isp.name)
        services.add_subscriber(s, SYSTEM, isp.name, "127.0.0.1:9", ["127.0.0.1"])
        services.add_subscriber(s, SYSTEM, isp.name, "127.0.0.1:10", ["127.0.0.1"])
        services.add_subscriber(
            s,
            SYSTEM,
            isp.name,
            "127.0.0.1:11",
            transfer_from=f"127.0.0.1:{src_port}" if with_port else None,
        )
        services.add_subscriber(s, SYSTEM, isp.name, "127.0.0.1:12")
        first = publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
    ring = dns.tsigkeyring.from_text({key.name: secret})
    with running_primary(db, tmp_path) as primary:
        # one unsigned transfer from 127.0.0.1: the two allow-listed cannot be told apart
        list(dns.query.xfr("127.0.0.1", ZONE, port=primary.port, timeout=5))
        wait_for(lambda: statuses(db)["127.0.0.1:9"].credit == "group")
        st = statuses(db)
        for notify in ("127.0.0.1:9", "127.0.0.1:10"):
            group = st[notify].group
            assert st[notify].last_serial == first and group is not None
            assert group.holding_current == 1
            assert st[notify].identified_by == "allow-ip+group"
        # the second unsigned transfer: now both slots hold the serial
        second = 0
        with db.unit_of_work() as s:
            second = publish(s, [ZoneChange("telegram.org", RpzAction.NXDOMAIN)])
        wait_for(lambda: primary.store.view.serial == second)
        list(
            dns.query.xfr(
                "127.0.0.1", ZONE, port=primary.port, timeout=5, rdtype="IXFR", serial=first
            )
        )
        list(
            dns.query.xfr(
                "127.0.0.1", ZONE, port=primary.port, timeout=5, rdtype="IXFR", serial=first
            )
        )
        wait_for(
            lambda: (g := statuses(db)["127.0.0.1:9"].group) is not None and g.holding_current == 2
        )
        assert statuses(db)["127.0.0.1:10"].changesets_behind == 0
        # a signed transfer from the registered source port: that subscriber alone
        list(
            dns.query.xfr(
                "127.0.0.1",
                ZONE,
                port=primary.port,
                timeout=5,
                keyring=ring,
                keyname=key.name,
                keyalgorithm=dns.tsig.HMAC_SHA256,
                source="127.0.0.1",
                source_port=src_port,
            )
        )
        if with_port:
            wait_for(lambda: statuses(db)["127.0.0.1:11"].credit == "own")
            st = statuses(db)
            assert st["127.0.0.1:11"].last_serial == second
            assert st["127.0.0.1:11"].identified_by == (
                "organisation-key+source-address+source-port"
            )
            assert st["127.0.0.1:12"].credit is None  # the other key user: never transferred
        else:  # nothing tells the four apart for a signed transfer: one group of all four
            wait_for(lambda: statuses(db)["127.0.0.1:11"].credit == "group")
            group = statuses(db)["127.0.0.1:12"].group
            assert group is not None and group.size == 4


def sample(name: str, **labels: str) -> float | None:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels)


def test_lag_and_notify_failures_per_subscriber_are_in_the_metrics(
    db: Database, tmp_path: Path, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tangkal.rpz.server import Notifier

    monkeypatch.setattr(Notifier, "RETRY_DELAYS", (0.05, 0.05))
    isp = factory.isp()
    with db.unit_of_work() as s:
        up = services.add_subscriber(s, SYSTEM, isp.name, "127.0.0.1:9", ["127.0.0.1"])
        # nobody listens there: every NOTIFY goes unanswered
        silent = services.add_subscriber(s, SYSTEM, isp.name, f"127.0.0.1:{free_port()}")
        first = publish(s, [ZoneChange("t.me", RpzAction.NXDOMAIN)])
    failures = "tangkal_rpz_notify_failures_total"
    before = sample(failures, subscriber=silent.id, org=isp.name) or 0.0
    with running_primary(db, tmp_path) as primary:
        list(dns.query.xfr("127.0.0.1", ZONE, port=primary.port, timeout=5))
        lag = "tangkal_rpz_subscriber_lag_serials"
        wait_for(lambda: sample(lag, subscriber=up.id, org=isp.name) == 0.0)
        with db.unit_of_work() as s:
            publish(s, [ZoneChange("telegram.org", RpzAction.NXDOMAIN)])
        wait_for(lambda: sample(lag, subscriber=up.id, org=isp.name) == 1.0)
        assert sample(lag, subscriber=silent.id, org=isp.name) is None  # never transferred
        assert (sample("tangkal_rpz_subscribers_never_transferred") or 0) >= 1
        wait_for(lambda: (sample(failures, subscriber=silent.id, org=isp.name) or 0) > before)
    with db.read_only() as s:
        st = {x.id: x for x in services.subscriber_status(s)}
    assert st[up.id].last_serial == first and st[up.id].changesets_behind == 1


def test_notify_reaches_every_subscriber_on_one_address_each_acknowledged_on_its_own(
    db: Database, tmp_path: Path, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 subscribers on 127.0.0.1, each its own port; half answer their NOTIFY, half never
    do. The answering ones get exactly one NOTIFY per serial (their acknowledgement matched
    to them, not to a neighbour on the same address); the silent ones are retried and do
    not hold anyone up."""
    import socket

    from tangkal.rpz.server import Notifier

    monkeypatch.setattr(Notifier, "RETRY_DELAYS", (0.3, 0.3, 0.3))
    isp = factory.isp()
    socks = []
    for _ in range(200):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        socks.append(sock)
    with db.unit_of_work() as s:
        for sock in socks:
            services.add_subscriber(s, SYSTEM, isp.name, f"127.0.0.1:{sock.getsockname()[1]}")
    received = [0] * len(socks)

    def drain(answer: bool) -> bool:
        """Read what arrived, answer the even ones; True once every socket got one."""
        for i, sock in enumerate(socks):
            while True:
                try:
                    data, addr = sock.recvfrom(4096)
                except BlockingIOError:
                    break
                received[i] += 1
                if answer and i % 2 == 0:
                    reply = dns.message.make_response(dns.message.from_wire(data))
                    sock.sendto(reply.to_wire(), addr)
        return all(received)

    try:
        with running_primary(db, tmp_path):
            wait_for(lambda: drain(True))
            deadline = time.monotonic() + 20  # bounded: the retries of the silent half
            while time.monotonic() < deadline and min(received[1::2]) < 3:
                drain(True)
                time.sleep(0.05)
            drain(True)
    finally:
        for sock in socks:
            sock.close()
    assert all(n == 1 for n in received[0::2]), received[0::2]  # acknowledged: never resent
    assert all(n == 3 for n in received[1::2]), received[1::2]  # silent: every retry
