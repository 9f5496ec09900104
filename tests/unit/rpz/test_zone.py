"""The zone engine: compact chunks, O(change) updates, consistent views and snapshots."""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.rdatatype

from tangkal.rpz.values import RpzAction
from tangkal.rpz.zone import MAX_CHUNK_BYTES, ZoneConfig, ZoneStore, decode_chunk

CONFIG = ZoneConfig()
A = RpzAction


def names(n: int) -> list[str]:
    return [f"host{i:06d}.example.com" for i in range(n)]


def as_records(store: ZoneStore) -> dict[str, str]:
    """Parse every chunk through dnspython, as a client would see it."""
    out: dict[str, str] = {}
    origin = store.encoder.origin_wire
    for chunk in store.view.chunks:
        header = b"\x00\x01\x84\x00\x00\x01" + (2 * chunk.names).to_bytes(2, "big") + b"\0" * 4
        msg = dns.message.from_wire(header + origin + b"\x00\xfc\x00\x01" + chunk.blob)
        for rrset in msg.answer:
            assert rrset.rdtype == dns.rdatatype.CNAME
            out[rrset.name.to_text()] = rrset[0].target.to_text()
    return out


def test_every_name_gets_a_trigger_for_itself_and_its_subdomains() -> None:
    store = ZoneStore.build(
        CONFIG,
        [
            ("t.me", A.NXDOMAIN),
            ("telegram.org", A.LANDING),
            ("web.telegram.org", A.NODATA),
            ("ok.example", A.PASSTHRU),
        ],
        serial=7,
        seq=1,
    )
    assert as_records(store) == {
        "ok.example.rpz.tangkal.": "rpz-passthru.",
        "*.ok.example.rpz.tangkal.": "rpz-passthru.",
        "t.me.rpz.tangkal.": ".",
        "*.t.me.rpz.tangkal.": ".",
        "telegram.org.rpz.tangkal.": "laman-labuh.tangkal.id.",
        "*.telegram.org.rpz.tangkal.": "laman-labuh.tangkal.id.",
        "web.telegram.org.rpz.tangkal.": "*.",
        "*.web.telegram.org.rpz.tangkal.": "*.",
    }


def test_a_change_rewrites_only_the_chunks_it_touches() -> None:
    store = ZoneStore.build(CONFIG, [(n, A.NXDOMAIN) for n in names(20_000)], serial=1, seq=1)
    before = store.view
    assert len(before.chunks) > 10
    after = store.apply(
        [("host010000.example.com", None), ("host010000a.example.com", A.LANDING)], serial=2, seq=2
    )
    changed = [
        i for i, (a, b) in enumerate(zip(before.chunks, after.chunks, strict=True)) if a is not b
    ]
    assert len(changed) == 1
    assert before.names == 20_000 and after.names == 20_000
    assert store.lookup("host010000.example.com") is None
    assert store.lookup("host010000a.example.com") == A.LANDING
    # the old view is untouched: a transfer in progress keeps a consistent zone
    assert store.lookup("host010000.example.com", before) == A.NXDOMAIN


def test_chunks_split_as_they_grow_and_vanish_when_emptied() -> None:
    store = ZoneStore(CONFIG)
    store.apply([(n, A.NXDOMAIN) for n in names(5000)], serial=1, seq=1)
    assert all(len(c.blob) <= MAX_CHUNK_BYTES for c in store.view.chunks)
    assert [n for n, _ in store.iter_entries()] == names(5000)
    store.apply([(n, None) for n in names(5000)], serial=2, seq=2)
    assert store.view.chunks == [] and store.view.names == 0


def test_names_before_the_first_chunk_and_after_the_last_are_placed_in_order() -> None:
    store = ZoneStore.build(CONFIG, [(n, A.NXDOMAIN) for n in names(3000)], serial=1, seq=1)
    store.apply([("aaa.example", A.NODATA), ("zzz.example", A.NODATA)], serial=2, seq=2)
    got = [n for n, _ in store.iter_entries()]
    assert got == sorted(got) and got[0] == "aaa.example" and got[-1] == "zzz.example"
    assert store.view.firsts == [c.first for c in store.view.chunks]


def test_unsorted_input_is_sorted_and_the_last_duplicate_wins() -> None:
    store = ZoneStore.build(
        CONFIG,
        [("b.example", A.NXDOMAIN), ("a.example", A.NXDOMAIN), ("b.example", A.LANDING)],
        serial=1,
        seq=1,
    )
    assert list(store.iter_entries()) == [("a.example", A.NXDOMAIN), ("b.example", A.LANDING)]


def test_a_snapshot_round_trips_and_is_refused_for_another_configuration(tmp_path: Path) -> None:
    store = ZoneStore.build(CONFIG, [(n, A.NXDOMAIN) for n in names(2000)], serial=5, seq=3)
    path = tmp_path / "rpz" / "zone.snapshot"
    store.save_snapshot(path)
    loaded = ZoneStore.load_snapshot(path, CONFIG)
    assert loaded is not None
    assert (loaded.view.serial, loaded.view.seq, loaded.view.names) == (5, 3, 2000)
    assert [c.blob for c in loaded.view.chunks] == [c.blob for c in store.view.chunks]
    assert ZoneStore.load_snapshot(path, ZoneConfig(landing_host="other.example.")) is None
    path.write_bytes(path.read_bytes()[:1000])
    assert ZoneStore.load_snapshot(path, CONFIG) is None


def test_decoding_a_chunk_gives_back_the_entries() -> None:
    store = ZoneStore.build(
        CONFIG, [("a.example", A.NXDOMAIN), ("b.example", A.LANDING)], serial=1, seq=1
    )
    decoded = decode_chunk(store.view.chunks[0].blob, store.encoder)
    assert [n for n, _ in decoded] == ["a.example", "b.example"]
