"""Exchange files round-trip with threatexchange 1.2's own code, in both directions.

threatexchange (PyPI ``threatexchange``, pinned in the ``[test]`` extra) writes and reads the
files here: its ``LocalFileSignalExchangeAPI`` (the signal file HMA's file exchange also reads)
and its Tech Against Terrorism client's parser of a TAT v2 page. Nothing of its format is
restated in these tests; the names come from its signal types' ``get_name()``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.factories import Factory
from threatexchange.exchanges.clients.techagainstterrorism.api import (
    TATHashListEntry,
    TATHashListResponse,
)
from threatexchange.exchanges.fetch_state import SignalOpinion, SignalOpinionCategory
from threatexchange.exchanges.impl.file_api import (
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)
from threatexchange.exchanges.impl.techagainstterrorism_api import _get_delta_mapping
from threatexchange.extensions.vpdq.vpdq import VPDQSignal
from threatexchange.extensions.vpdq.vpdq_util import json_to_vpdq
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.raw_text import RawTextSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.signal_base import SignalType as TxSignalType
from threatexchange.signal_type.url import URLSignal

from tangkal.db.session import Database
from tangkal.errors import InvalidInput
from tangkal.hashing import banks, exchange, signals
from tangkal.hashing.content import add_signal, list_content

# tangkal's type -> the threatexchange type it is
TX_TYPES: dict[str, type[TxSignalType]] = {
    "pdq": PdqSignal,
    "md5": VideoMD5Signal,
    "sha256": VideoSHA256Signal,
}
PDQ = PdqSignal.get_examples()[0]
MD5 = VideoMD5Signal.get_examples()[0]
SHA256 = VideoSHA256Signal.get_random_signal()


def _file_api(path: Path) -> LocalFileSignalExchangeAPI:
    return LocalFileSignalExchangeAPI(FileCollaborationConfig(filename=str(path), name="tangkal"))


def _tx_read(path: Path) -> set[tuple[str, str]]:
    """What threatexchange's file exchange reads from a file: (its type name, signal)."""
    deltas = list(_file_api(path).fetch_iter([], None))
    return {key for d in deltas for key in d.updates}


def _report(path: Path, tx: type[TxSignalType], signal: str) -> None:
    """What ``LocalFileSignalExchangeAPI.report_opinion`` appends for a positive opinion.

    Its own method cannot run in 1.2.17 (it opens the file in mode "wta", which Python
    refuses), so the line is written here from the same parts: the type's ``get_name()`` and
    the signal its type validated."""
    with path.open("a", encoding="utf-8") as f:
        f.write(f"{tx.get_name()} {tx.validate_signal_str(signal)}\n")


def test_threatexchanges_own_writer_is_broken_in_this_version(tmp_path: Path) -> None:
    """Pins the reason for :func:`_report`: when threatexchange fixes its writer this fails,
    and the tests should use it instead."""
    path = tmp_path / "x.te"
    path.write_text("\n")
    opinion = SignalOpinion(True, SignalOpinionCategory.POSITIVE_CLASS, set())
    with pytest.raises(ValueError, match="mode"):
        _file_api(path).report_opinion(PdqSignal, PDQ, opinion)


def test_names_are_threatexchanges() -> None:
    """Each type threatexchange has is written under its get_name() and read under it."""
    for name, tx in TX_TYPES.items():
        st = signals.get(name)
        assert st.te_name == tx.get_name()
        assert signals.get(tx.get_name()) is st


def test_a_file_threatexchange_writes_imports_whole(
    tmp_path: Path, db: Database, factory: Factory
) -> None:
    analyst = factory.principal(factory.regulator(), "analyst")
    path = tmp_path / "signals.te"
    path.write_text("")
    written = {PdqSignal: PDQ, VideoMD5Signal: MD5, VideoSHA256Signal: SHA256}
    for tx, value in written.items():
        _report(path, tx, value)
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, "from-tx")
        result = exchange.import_into(s, analyst, "from-tx", path.read_bytes(), "te")
        rows = list_content(s, analyst, "from-tx")
    assert result.added == 3 and not result.skipped
    got = {(signals.get(r.signal_type).te_name, r.signal) for r in rows}
    assert got == {(tx.get_name(), v) for tx, v in written.items()} == _tx_read(path)


def test_a_tangkal_export_reads_whole_in_threatexchange(
    tmp_path: Path, db: Database, factory: Factory
) -> None:
    analyst = factory.principal(factory.regulator(), "analyst")
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, "to-tx")
        for name, value in (("pdq", PDQ), ("md5", MD5), ("sha256", SHA256)):
            add_signal(s, analyst, "to-tx", name, value)
    with db.read_only() as s:
        path = tmp_path / "bank.te"
        path.write_text("".join(exchange.export(s, analyst, "to-tx", "te")))
    assert _tx_read(path) == {
        (PdqSignal.get_name(), PDQ),
        (VideoMD5Signal.get_name(), MD5),
        (VideoSHA256Signal.get_name(), SHA256),
    }
    # and every name in it is one threatexchange's own types validate
    by_name = {tx.get_name(): tx for tx in TX_TYPES.values()}
    for type_name, value in _tx_read(path):
        assert by_name[type_name].validate_signal_str(value) == value


def _vpdq_frames(signal: str) -> list[tuple[str, int, float]]:
    """A vPDQ signal as threatexchange's own parser reads it: (hex, quality, seconds)."""
    return [(f.pdq_hex, f.quality, round(f.timestamp, 3)) for f in json_to_vpdq(signal)]


def test_vpdq_round_trips_through_threatexchanges_file_exchange(
    tmp_path: Path, db: Database, factory: Factory
) -> None:
    """A video signal threatexchange writes is banked frame for frame, and tangkal's export
    of it is read back by threatexchange's file exchange as the same frames under its
    ``vpdq`` name (tangkal writes times to milliseconds; threatexchange parses both)."""
    assert signals.get("vpdq").te_name == VPDQSignal.get_name()
    theirs = VPDQSignal.get_examples()[0]
    analyst = factory.principal(factory.regulator(), "analyst")
    inbound = tmp_path / "in.te"
    inbound.write_text("")
    _report(inbound, VPDQSignal, theirs)
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, "video-tx")
        result = exchange.import_into(s, analyst, "video-tx", inbound.read_bytes(), "te")
        rows = list_content(s, analyst, "video-tx")
    assert result.added == 1 and not result.skipped
    assert [r.signal_type for r in rows] == ["vpdq"]
    assert _vpdq_frames(rows[0].signal) == _vpdq_frames(theirs)

    outbound = tmp_path / "out.te"
    with db.read_only() as s:
        outbound.write_text("".join(exchange.export(s, analyst, "video-tx", "te")))
    [(name, value)] = _tx_read(outbound)
    assert name == VPDQSignal.get_name()
    assert VPDQSignal.validate_signal_str(value) == value
    assert _vpdq_frames(value) == _vpdq_frames(theirs)


def test_a_tat_export_parses_with_threatexchanges_tat_client(
    db: Database, factory: Factory
) -> None:
    """The page has exactly the fields TAT's entries have (its dataclass takes no others);
    threatexchange maps PDQ and video MD5 rows back to the same signals."""
    analyst = factory.principal(factory.regulator(), "analyst")
    tat_page = {
        "count": 3,
        "next": None,
        "previous": None,
        "checkpoint": "1704085200,3",
        "results": [
            {
                "id": 1,
                "hash_digest": PDQ,
                "algorithm": "PDQ",
                "ideology": "islamist",
                "file_type": "png",
                "deleted": False,
                "updated_on": 1704085100.0,
                "created_on": "2024-01-01T05:00:00+00:00",
            },
            {
                "id": 2,
                "hash_digest": MD5,
                "algorithm": "MD5",
                "ideology": "far-right",
                "file_type": "mp4",
                "deleted": False,
                "updated_on": 1704085150.0,
                "created_on": "2024-01-01T05:00:00+00:00",
            },
            {
                "id": 3,
                "hash_digest": SHA256,
                "algorithm": "SHA256",
                "ideology": "islamist",
                "file_type": "mp4",
                "deleted": False,
                "updated_on": 1704085200.0,
                "created_on": "2024-01-01T05:00:00+00:00",
            },
        ],
    }
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, "tat-copy")
        imported = exchange.import_into(
            s, analyst, "tat-copy", json.dumps(tat_page).encode(), "tat"
        )
    assert imported.added == 3
    with db.read_only() as s:
        page = json.loads("".join(exchange.export(s, analyst, "tat-copy", "tat")))
    parsed = TATHashListResponse(
        count=page["count"],
        next=page["next"],
        previous=page["previous"],
        checkpoint=page["checkpoint"],
        results=[TATHashListEntry(**e) for e in page["results"]],
    )
    assert parsed.count == 3
    # TAT's own ids, ideology and file type come back; the checkpoint is TAT's "<time>,<id>"
    assert [(e.id, e.algorithm, e.ideology, e.file_type) for e in parsed.results] == [
        (1, "PDQ", "islamist", "png"),
        (2, "MD5", "far-right", "mp4"),
        (3, "SHA256", "islamist", "mp4"),
    ]
    assert parsed.checkpoint.endswith(",3")
    mapped = {_get_delta_mapping(e)[0] for e in parsed.results} - {("", "")}
    # threatexchange's TAT exchange keeps PDQ and video MD5 (it has no SHA-256 mapping)
    assert mapped == {(PdqSignal.get_name(), PDQ), (VideoMD5Signal.get_name(), MD5)}


def test_unsupported_rows_are_named_by_line_and_skipped_on_request(
    tmp_path: Path, db: Database, factory: Factory
) -> None:
    analyst = factory.principal(factory.regulator(), "analyst")
    path = tmp_path / "mixed.te"
    path.write_text("")
    _report(path, PdqSignal, PDQ)
    _report(path, URLSignal, "https://example.org/a")
    _report(path, RawTextSignal, "a raw message")
    _report(path, URLSignal, "https://example.org/b")
    _report(path, VideoSHA256Signal, SHA256)
    data = path.read_bytes()
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, "mixed")
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as refused:
        exchange.import_into(s, analyst, "mixed", data, "te")
    text = refused.value.message
    assert "Nothing was imported" in text
    assert "line 2" in text and "line 3" in text and "'url'" in text and "'raw_text'" in text
    with db.unit_of_work() as s:
        assert list_content(s, analyst, "mixed") == []
        result = exchange.import_into(s, analyst, "mixed", data, "te", skip_unsupported=True)
    assert result.added == 2
    assert {k: (v.count, v.first_lines) for k, v in result.skipped.items()} == {
        URLSignal.get_name(): (2, [2, 4]),
        RawTextSignal.get_name(): (1, [3]),
    }
    assert "url: 2 rows (lines 2, 4)" in exchange.describe_skipped(result.skipped)


def test_a_bad_signal_refuses_the_file_even_when_skipping(db: Database, factory: Factory) -> None:
    analyst = factory.principal(factory.regulator(), "analyst")
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, "strict")
    data = f"{VideoMD5Signal.get_name()} {MD5}\n{VideoMD5Signal.get_name()} nothex\n".encode()
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as refused:
        exchange.import_into(s, analyst, "strict", data, "te", skip_unsupported=True)
    assert "line 2" in refused.value.message


def test_the_format_table_is_the_one_place_formats_are_named() -> None:
    for f in exchange.FORMATS.values():
        assert exchange.get_format(f.name.upper()) is f
        assert f.media_type and f.extension
        assert f.filename("TAT Islam/ist") == f"tatislamist.{f.extension}"
    with pytest.raises(InvalidInput) as unknown:
        exchange.get_format("xml")
    assert unknown.value.field == "format" and "te, csv, tat" in unknown.value.message
