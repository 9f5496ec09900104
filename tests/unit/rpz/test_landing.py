"""The landing page as a CNAME or as A/AAAA records: parsing, the zone's bytes, a changed
landing as a journalled change set, and the export formats' table."""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.rdatatype
import pytest

from tangkal.accounts.principal import SYSTEM
from tangkal.db.session import Database
from tangkal.errors import InvalidInput
from tangkal.rpz import formats, services
from tangkal.rpz.journal import changesets_after, current_serial, publish, sync_landing
from tangkal.rpz.values import Landing, RpzAction, ZoneChange
from tangkal.rpz.zone import ZoneConfig, ZoneStore
from tangkal.settings import Settings
from tests.factories import Factory
from tests.unit.rpz.harness import running_primary
from tests.unit.rpz.test_server import block, wait_serial, xfr
from tests.unit.rpz.test_server import records as xfr_records

ADDR = Landing.parse("a:192.0.2.99,aaaa:2001:DB8::99")


def records(store: ZoneStore) -> dict[tuple[str, str], list[str]]:
    """Every chunk through dnspython, with the record count the chunk declares."""
    out: dict[tuple[str, str], list[str]] = {}
    origin = store.encoder.origin_wire
    for chunk in store.view.chunks:
        header = b"\x00\x01\x84\x00\x00\x01" + chunk.records.to_bytes(2, "big") + b"\0" * 4
        msg = dns.message.from_wire(header + origin + b"\x00\xfc\x00\x01" + chunk.blob)
        for rrset in msg.answer:
            key = (rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype))
            out[key] = sorted(rd.to_text() for rd in rrset)
    return out


def test_landing_parses_strictly_into_one_canonical_text() -> None:
    assert ADDR.text() == "a:192.0.2.99,aaaa:2001:db8::99"
    assert Landing.parse("cname:Laman.Example").text() == "cname:laman.example."
    # the interface contract's plain forms: a name alone, or the addresses alone
    assert Landing.parse("Laman.Example").text() == "cname:laman.example."
    assert Landing.parse("192.0.2.99, 2001:db8::99") == ADDR
    for bad in (
        "",
        "999.1.1.1",
        "laman.example,192.0.2.1",
        "a:1.2.3",
        "aaaa:192.0.2.1",
        "mx:x.example",
        "cname:a.example,a:192.0.2.1",
        "cname:a.example,cname:b.example",
        "cname:-x-.",
    ):
        with pytest.raises(InvalidInput):
            Landing.parse(bad)


def test_a_bad_landing_setting_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="IPv4"):
        Settings(rpz_landing="a:999.1.1.1")
    assert Settings(rpz_landing="AAAA:2001:db8::1").rpz_landing == "aaaa:2001:db8::1"


def test_an_address_landing_is_a_and_aaaa_records_for_the_name_and_its_subdomains() -> None:
    config = ZoneConfig(landing=ADDR)
    store = ZoneStore.build(
        config,
        [("a.example", RpzAction.LANDING), ("b.example", RpzAction.NXDOMAIN)],
        serial=1,
        seq=1,
    )
    got = records(store)
    for owner in ("a.example.rpz.tangkal.", "*.a.example.rpz.tangkal."):
        assert got[(owner, "A")] == ["192.0.2.99"]
        assert got[(owner, "AAAA")] == ["2001:db8::99"]
    assert got[("*.b.example.rpz.tangkal.", "CNAME")] == ["."]
    assert store.view.records == 4 + 2 + 3
    assert store.lookup("a.example") == RpzAction.LANDING
    # a change next to it keeps the records apart (decoding walks records, not pairs)
    store.apply(
        [("a.example", RpzAction.NODATA), ("c.example", RpzAction.LANDING)], serial=2, seq=2
    )
    assert [(n, a) for n, a in store.iter_entries()] == [
        ("a.example", RpzAction.NODATA),
        ("b.example", RpzAction.NXDOMAIN),
        ("c.example", RpzAction.LANDING),
    ]
    assert store.view.records == 2 + 2 + 4 + 3
    # one change may carry a landing of its own
    store.apply(
        [("d.example", RpzAction.LANDING, Landing.parse("cname:x.example"))], serial=3, seq=3
    )
    assert records(store)[("d.example.rpz.tangkal.", "CNAME")] == ["x.example."]


def test_apex_ns_is_outside_the_zone_so_no_glue_is_needed() -> None:
    enc = ZoneStore(ZoneConfig()).encoder
    msg = dns.message.from_wire(
        b"\x00\x01\x84\x00\x00\x01\x00\x02\x00\x00\x00\x00"
        + enc.origin_wire
        + b"\x00\x06\x00\x01"
        + enc.soa(5)
        + enc.ns()
    )
    assert [rr.to_text() for rr in msg.answer[1]] == ["localhost."]
    assert msg.answer[0][0].mname.to_text() == "localhost."


def test_a_changed_landing_is_one_change_set_with_both_landings(db: Database) -> None:
    cname = Landing(cname="laman.example.")
    with db.unit_of_work() as s:
        assert sync_landing(s, cname) is None  # first record: adopted, nothing to move
        publish(
            s,
            [
                ZoneChange("l.example", RpzAction.LANDING),
                ZoneChange("n.example", RpzAction.NXDOMAIN),
            ],
        )
    with db.unit_of_work() as s:
        before = current_serial(s)
        assert sync_landing(s, cname) is None
        new = sync_landing(s, ADDR)
    assert new is not None and new != before
    with db.unit_of_work() as s:
        last = changesets_after(s, 0)[-1]
        assert sync_landing(s, ADDR) is None
    assert (last.from_serial, last.serial) == (before, new)
    assert [(c.name, c.old_landing, c.new_landing) for c in last.changes] == [
        ("l.example", cname, ADDR)
    ]
    # later steps of a landing name carry the landing they meant
    with db.unit_of_work() as s:
        publish(s, [ZoneChange("l.example", None)])
        removal = changesets_after(s, last.seq)[0].changes[0]
    assert (removal.old, removal.old_landing) == (RpzAction.LANDING, ADDR)


def test_exports_are_one_table_and_unknown_names_are_refused_listing_them(db: Database) -> None:
    with db.unit_of_work() as s:
        publish(
            s,
            [
                ZoneChange("l.example", RpzAction.LANDING),
                ZoneChange("n.example", RpzAction.NXDOMAIN),
                ZoneChange("ok.n.example", RpzAction.PASSTHRU),
            ],
        )
    settings = Settings(database_url=db.url, rpz_landing="a:192.0.2.99,aaaa:2001:db8::99")

    def text(fmt: str) -> str:
        return b"".join(services.export_stream(db, settings, fmt)).decode()

    rpz = text("rpz")
    assert "*.l.example 60 A 192.0.2.99\n" in rpz and "l.example 60 AAAA 2001:db8::99\n" in rpz
    assert "@ NS localhost.\n" in rpz
    dnsmasq = text("dnsmasq").splitlines()
    assert "address=/l.example/192.0.2.99" in dnsmasq and "local=/l.example/" in dnsmasq
    assert "address=/n.example/" in dnsmasq and "server=/ok.n.example/#" in dnsmasq
    hosts = text("hosts")
    assert "EXACT NAMES ONLY" in hosts and "192.0.2.99 l.example\n" in hosts
    assert 'local-data: "l.example. 60 IN AAAA 2001:db8::99"' in text("unbound")
    assert {f.name for f in formats.FORMATS.values()} == {
        "rpz",
        "hosts",
        "domains",
        "unbound",
        "dnsmasq",
    }
    assert not formats.FORMATS["hosts"].covers_subdomains
    with pytest.raises(InvalidInput) as err:
        formats.get_format("bind")
    assert all(name in str(err.value) for name in formats.FORMATS)


def test_a_primary_started_with_another_landing_serves_it_by_ixfr_deleting_the_old(
    db: Database, tmp_path: Path, factory: Factory
) -> None:
    """The second start re-points the landing names in one change set; an IXFR from the
    serial before deletes the CNAMEs the secondary holds and adds the A/AAAA records."""
    org = factory.isp()
    with db.unit_of_work() as s:
        services.add_subscriber(s, SYSTEM, org.name, "127.0.0.1:9", ["127.0.0.1/32"])
    with running_primary(db, tmp_path / "one", rpz_landing="cname:laman.example.") as primary:
        first = block(db, ("l.example", RpzAction.LANDING), ("n.example", RpzAction.NXDOMAIN))
        wait_serial(primary.port, first)
    with running_primary(db, tmp_path / "two", rpz_landing=ADDR.text()) as primary:
        with db.unit_of_work() as s:
            now = current_serial(s)
        assert now != first
        wait_serial(primary.port, now)
        got = xfr_records(xfr(primary.port, "IXFR", serial=first))
        assert primary.transfer_log[-1]["kind"] == "IXFR"
        full = xfr_records(xfr(primary.port))
    assert got == [
        ("rpz.tangkal.", "SOA", got[0][2]),
        ("rpz.tangkal.", "SOA", got[1][2]),
        ("l.example.rpz.tangkal.", "CNAME", "laman.example."),
        ("*.l.example.rpz.tangkal.", "CNAME", "laman.example."),
        ("rpz.tangkal.", "SOA", got[4][2]),
        ("l.example.rpz.tangkal.", "A", "192.0.2.99"),
        ("l.example.rpz.tangkal.", "AAAA", "2001:db8::99"),
        ("*.l.example.rpz.tangkal.", "A", "192.0.2.99"),
        ("*.l.example.rpz.tangkal.", "AAAA", "2001:db8::99"),
        ("rpz.tangkal.", "SOA", got[0][2]),
    ]
    assert ("*.l.example.rpz.tangkal.", "AAAA", "2001:db8::99") in full
    assert len(full) == 4 + 2 + 3


def test_a_name_with_a_landing_of_its_own_keeps_it_when_the_default_changes(
    db: Database, tmp_path: Path, factory: Factory
) -> None:
    own = Landing.parse("cname:own.example")
    cname = Landing(cname="laman.example.")
    with db.unit_of_work() as s:
        sync_landing(s, cname)
        publish(
            s,
            [
                ZoneChange("o.example", RpzAction.LANDING, own),
                ZoneChange("d.example", RpzAction.LANDING),
            ],
        )
        first = current_serial(s)
        # the same action with another landing is a change; the same landing is not
        assert publish(s, [ZoneChange("o.example", RpzAction.LANDING, own)]) == first
        second = publish(s, [ZoneChange("o.example", RpzAction.LANDING, ADDR)])
        step = changesets_after(s, 0)[-1].changes
        assert [(c.old_landing, c.new_landing) for c in step] == [(own, ADDR)]
        assert second != first
        moved = sync_landing(s, Landing(cname="other.example."))
        last = changesets_after(s, 0)[-1]
    assert moved is not None and [c.name for c in last.changes] == ["d.example"]
    settings = Settings(database_url=db.url, rpz_landing="cname:other.example.")
    rpz = b"".join(services.export_stream(db, settings, "rpz")).decode()
    assert "*.o.example 60 AAAA 2001:db8::99\n" in rpz
    assert "*.d.example CNAME other.example.\n" in rpz
    with pytest.raises(InvalidInput):
        ZoneChange("n.example", RpzAction.NXDOMAIN, own)
    # a primary building the zone from the database serves each landing
    org = factory.isp()
    with db.unit_of_work() as s:
        services.add_subscriber(s, SYSTEM, org.name, "127.0.0.1:9", ["127.0.0.1/32"])
    with running_primary(db, tmp_path, rpz_landing="cname:other.example.") as primary:
        got = xfr_records(xfr(primary.port))
    assert ("o.example.rpz.tangkal.", "A", "192.0.2.99") in got
    assert ("*.d.example.rpz.tangkal.", "CNAME", "other.example.") in got
