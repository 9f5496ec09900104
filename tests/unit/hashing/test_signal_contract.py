"""Contract test: every registered signal type honours the same interface, end to end.

Parametrised over the registry itself, so a type added later is checked without anyone
remembering to write tests for it: hashing, its thresholds, its index, matching through a
bank on each backend (its threshold from the bank's table), exchange round trips and the
index file that survives a restart. A type that hashes but would never match fails here.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.clips import source_clip
from tests.factories import Factory

from tangkal.db.session import Database
from tangkal.errors import ConfigurationError, Conflict, InvalidInput, TooLarge
from tangkal.hashing import banks, exchange, matching, signals
from tangkal.hashing.content import add_signal, list_content
from tangkal.hashing.index import IndexMatch
from tangkal.hashing.matcher import BankIndexes
from tangkal.hashing.signals import REGISTRY, SignalRegistry, SignalResult, SignalType


def _photo_png(seed: int = 7) -> bytes:
    """A small textured image with plenty of detail (PDQ quality well above 50)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((128, 128), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


SAMPLES: dict[str, bytes] = {
    "image": _photo_png(),
    "file": b"%PDF-1.4 not really a pdf but some bytes\n" * 3,
    "text": (
        b"Forwarded from @kanal\nPENTING!!! Besok ada pemadaman listrik total se-Jawa "
        b"selama 3 hari. Sebarkan ke keluarga!"
    ),
    "video": source_clip("testsrc2", seconds=4),
}

OTHER_SAMPLES: dict[str, bytes] = {
    "image": _photo_png(99),
    "file": b"an unrelated file with other bytes entirely\n" * 4,
    "text": (
        b"Jadwal pertandingan sepak bola liga nasional pekan ini sudah diumumkan oleh "
        b"panitia penyelenggara di Jakarta."
    ),
    "video": source_clip("mandelbrot", seconds=4),
}
"""Content unrelated to SAMPLES, for "does not match"."""

TYPES = list(REGISTRY)


@pytest.fixture(params=TYPES, ids=[t.name for t in TYPES])
def st(request: pytest.FixtureRequest) -> SignalType:
    return request.param


def _sample(st: SignalType) -> bytes:
    return SAMPLES[st.media]


def test_registry_holds_the_built_in_types() -> None:
    assert REGISTRY.names() == ["pdq", "md5", "sha256", "text", "text_near", "vpdq"]


def test_hash_is_stable_and_validates_to_itself(st: SignalType) -> None:
    first = st.hash_bytes(_sample(st))
    second = st.hash_bytes(_sample(st))
    assert isinstance(first, SignalResult)
    assert first.ok, first.reason
    assert first.signal_type == st.name
    assert first == second
    assert first.signal is not None
    assert st.validate(first.signal) == first.signal
    assert st.validate(first.signal.upper()) == first.signal
    assert st.validate("  " + first.signal + "\n") == first.signal


def test_distance_axioms(st: SignalType) -> None:
    a = st.hash_bytes(_sample(st)).signal
    b = st.hash_bytes(_sample(st)[::-1] + b"x").signal
    assert a is not None
    assert st.distance(a, a) == 0
    assert st.matches(a, a)
    if b is not None:
        assert st.distance(a, b) == st.distance(b, a)
        assert 0 <= st.distance(a, b) <= st.max_distance


def test_thresholds_are_sane(st: SignalType) -> None:
    assert 0 <= st.default_threshold <= st.max_distance
    assert st.check_threshold(st.default_threshold) == st.default_threshold
    with pytest.raises(InvalidInput):
        st.check_threshold(st.max_distance + 1)
    with pytest.raises(InvalidInput):
        st.check_threshold(-1)


@pytest.mark.parametrize(
    "bad", ["", "xyz", "0" * 7, "g" * 64, "0" * 65, "0" * 31, "zz" * 256, "0" * 513]
)
def test_bad_signals_are_rejected(st: SignalType, bad: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        st.validate(bad)
    assert st.name in exc.value.message


def test_non_string_signal_is_rejected(st: SignalType) -> None:
    with pytest.raises(InvalidInput):
        st.validate(12345)


def test_empty_content_is_rejected(st: SignalType) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        st.hash_bytes(b"")


def test_oversized_content_is_rejected(st: SignalType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signals, "MAX_CONTENT_BYTES", 10)
    with pytest.raises(TooLarge):
        st.hash_bytes(b"x" * 11)


def test_unhashable_content_says_why(st: SignalType) -> None:
    """Content a type cannot use gives a result with a reason, never an exception."""
    junk = b"\xff\xfe\x00garbage that is neither an image nor utf-8 \x80\x81"
    res = st.hash_bytes(junk)
    if st.media == "file":
        assert res.ok
    else:
        assert not res.ok
        assert res.reason


def test_get_unknown_lists_known_types() -> None:
    with pytest.raises(InvalidInput) as exc:
        REGISTRY.get("phash")
    for name in REGISTRY.names():
        assert name in exc.value.message


def test_get_is_case_insensitive() -> None:
    assert REGISTRY.get(" PDQ ").name == "pdq"


def test_duplicate_registration_fails() -> None:
    reg = signals.default_registry()
    with pytest.raises(Conflict, match="already registered"):
        reg.register(signals.Md5Signal())


def test_incomplete_implementation_fails() -> None:
    class Half:
        name = "half"
        media = "file"
        default_threshold = 0
        max_distance = 1

        def validate(self, signal: str) -> str:
            return signal

    reg = SignalRegistry()
    with pytest.raises(ConfigurationError, match="hash_bytes"):
        reg.register(Half())


def test_bad_threshold_in_implementation_fails() -> None:
    class Odd(signals.Md5Signal):
        name = "odd"
        default_threshold = 5

    with pytest.raises(ConfigurationError, match="default_threshold"):
        SignalRegistry().register(Odd())


def test_hash_file_gives_every_file_signal_with_reasons() -> None:
    results = {r.signal_type: r for r in signals.hash_file(b"just some bytes, not an image")}
    assert set(results) == {"pdq", "md5", "sha256", "vpdq"}
    assert results["md5"].ok and results["sha256"].ok
    assert not results["pdq"].ok
    assert results["pdq"].reason is not None and "image" in results["pdq"].reason
    assert not results["vpdq"].ok
    assert results["vpdq"].reason is not None and "MP4 or WebM" in results["vpdq"].reason


# --- thresholds, index, matching, exchange, persistence -------------------------------------


def _signal(st: SignalType, content: bytes | None = None) -> str:
    result = st.hash_bytes(_sample(st) if content is None else content)
    assert result.signal is not None, result.reason
    return result.signal


def test_threshold_rules_fit_the_index(st: SignalType) -> None:
    """A bank can only ask for what the type's index searches: min <= default <= max, and
    nothing past max (PDQ's search radius, 64 of 256 bits) is accepted."""
    assert 0 <= st.min_threshold <= st.default_threshold <= st.max_threshold <= st.max_distance
    assert st.check_threshold(st.max_threshold) == st.max_threshold
    with pytest.raises(InvalidInput):
        st.check_threshold(st.max_threshold + 1)
    assert st.exact == (st.max_threshold == 0)
    assert st.exact or not st.index_cls.in_database


def test_pdq_thresholds_stop_at_the_search_radius() -> None:
    pdq = REGISTRY.get("pdq")
    assert (pdq.default_threshold, pdq.max_threshold) == (31, 64)
    with pytest.raises(InvalidInput, match="between 0 and 64"):
        pdq.check_threshold(65)


# the types with an index of their own (the others are looked up by the database column,
# which the matching test covers)
_INDEXED = [t for t in TYPES if not t.index_cls.in_database]


@pytest.mark.parametrize("st", _INDEXED, ids=[t.name for t in _INDEXED])
def test_index_finds_adds_forgets_and_survives_a_file(st: SignalType, tmp_path: Path) -> None:
    sig, other = _signal(st), _signal(st, OTHER_SAMPLES[st.media])
    index = st.new_index()
    index.add([(sig, 1), (other, 2)])
    index.add([(sig, 1)])  # replayed: replaced, never duplicated
    assert len(index) == 2
    assert index.search(sig, st.default_threshold) == [IndexMatch(1, 0)]
    index.save(tmp_path / "x.idx")
    loaded = st.index_cls.load(tmp_path / "x.idx")
    assert loaded.search(sig, st.default_threshold) == [IndexMatch(1, 0)]
    loaded.remove([1])
    assert loaded.search(sig, st.default_threshold) == []


def test_registry_refuses_a_default_past_the_index_radius() -> None:
    class Wide(signals.PdqSignal):
        name = "wide"
        aliases = ()
        tat_algorithms = ()
        default_threshold = 70

    with pytest.raises(ConfigurationError, match="default_threshold"):
        SignalRegistry().register(Wide())


def test_registry_refuses_a_near_type_without_an_index() -> None:
    class Blind(signals.Md5Signal):
        name = "blind"
        aliases = ()
        tat_algorithms = ()
        max_threshold = 1

    with pytest.raises(ConfigurationError, match="near-neighbour index"):
        SignalRegistry().register(Blind())


def test_aliases_resolve_to_the_type() -> None:
    assert REGISTRY.get("video_md5").name == "md5"
    assert REGISTRY.get("photo_pdq").name == "pdq"
    assert REGISTRY.for_tat("sha-256") is REGISTRY.get("sha256")


def test_a_bank_matches_each_type_by_its_threshold(
    st: SignalType, db: Database, factory: Factory, tmp_path: Path
) -> None:
    """Through the services: banked, indexed from the log, matched within the bank's threshold
    (read from the threshold table, default from the type), unrelated content not matched; a
    threshold set through the table is kept; the index file is reloaded after a restart."""
    analyst = factory.principal(factory.regulator(), "analyst")
    sig, other = _signal(st), _signal(st, OTHER_SAMPLES[st.media])
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, "contract")
        add_signal(s, analyst, "contract", st.name, sig)
    idx = BankIndexes(db, tmp_path)
    with db.unit_of_work() as s:
        bank = banks.get_bank(s, analyst, "contract")
        first = st.rules[0]
        assert banks.thresholds_of(bank)[st.name] == first.default
        assert banks.rules_of(bank)[st.name] == st.default_rules()
        hits = matching.match(s, analyst, idx, [matching.Query(st.name, sig)])
        assert [(h["signal_type"], h["distance"]) for h in hits] == [(st.name, 0)]
        assert matching.match(s, analyst, idx, [matching.Query(st.name, other)]) == []
        view = banks.bank_dict(bank)
        assert view["thresholds"][st.name] == first.default
        assert view["threshold_rules"][st.name] == st.default_rules()
        if st.threshold_field:
            assert view[st.threshold_field] == first.default
    if not st.exact:
        with db.unit_of_work() as s:
            strict = {r.name: r.max if r.loosens == "down" else r.min for r in st.rules}
            banks.update_bank(s, analyst, "contract", thresholds={st.name: strict})
        with db.unit_of_work() as s:
            bank = banks.get_bank(s, analyst, "contract")
            assert banks.rules_of(bank)[st.name] == strict
            with pytest.raises(InvalidInput, match="no threshold"):
                banks.update_bank(s, analyst, "contract", thresholds={st.name: {"nope": 1}})
    idx.save()
    restarted = BankIndexes(db, tmp_path)
    assert restarted.applied_seq == idx.applied_seq
    if not st.index_cls.in_database:
        assert restarted.index(st.name).search(sig, 0) == [IndexMatch(hits[0]["content_id"], 0)]


# TAT's format has algorithms for some types only
_EXCHANGED = [(t, f) for t in TYPES for f in exchange.FORMATS if f != "tat" or t.tat_algorithms]


@pytest.mark.parametrize(("st", "fmt"), _EXCHANGED, ids=[f"{t.name}-{f}" for t, f in _EXCHANGED])
def test_exchange_round_trip(st: SignalType, fmt: str, db: Database, factory: Factory) -> None:
    """What one bank exports, another imports as the same signals (TAT: the types it knows)."""
    analyst = factory.principal(factory.regulator(), "analyst")
    sig = _signal(st)
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, "source")
        banks.create_bank(s, analyst, "copy")
        add_signal(s, analyst, "source", st.name, sig)
    with db.read_only() as s:
        data = "".join(exchange.export(s, analyst, "source", fmt)).encode()
    with db.unit_of_work() as s:
        result = exchange.import_into(s, analyst, "copy", data, fmt)
        assert result.added == 1
        rows = list_content(s, analyst, "copy")
        assert [(r.signal_type, r.signal) for r in rows] == [(st.name, sig)]
