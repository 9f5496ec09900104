"""Contract test: every registered signal type honours the same interface.

Parametrised over the registry itself, so a type added later is checked without anyone
remembering to write tests for it.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tangkal.errors import ConfigurationError, Conflict, InvalidInput, TooLarge
from tangkal.hashing import signals
from tangkal.hashing.signals import REGISTRY, SignalRegistry, SignalResult, SignalType


def _photo_png() -> bytes:
    """A small textured image with plenty of detail (PDQ quality well above 50)."""
    rng = np.random.default_rng(7)
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
}

TYPES = list(REGISTRY)


@pytest.fixture(params=TYPES, ids=[t.name for t in TYPES])
def st(request: pytest.FixtureRequest) -> SignalType:
    return request.param


def _sample(st: SignalType) -> bytes:
    return SAMPLES[st.media]


def test_registry_holds_the_built_in_types() -> None:
    assert REGISTRY.names() == ["pdq", "md5", "sha256", "text", "text_near"]


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
        st.validate(12345)  # type: ignore[arg-type]


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
        reg.register(Half())  # type: ignore[arg-type]


def test_bad_threshold_in_implementation_fails() -> None:
    class Odd(signals.Md5Signal):
        name = "odd"
        default_threshold = 5

    with pytest.raises(ConfigurationError, match="default_threshold"):
        SignalRegistry().register(Odd())


def test_hash_file_gives_every_file_signal_with_reasons() -> None:
    results = {r.signal_type: r for r in signals.hash_file(b"just some bytes, not an image")}
    assert set(results) == {"pdq", "md5", "sha256"}
    assert results["md5"].ok and results["sha256"].ok
    assert not results["pdq"].ok
    assert results["pdq"].reason is not None and "image" in results["pdq"].reason
