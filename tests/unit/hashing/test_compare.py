"""A type's comparison of two signals decides as a bank lookup decides: the same ``judge`` on
the same figures, for one-distance types (PDQ) and for vPDQ's three thresholds, with the
figures threatexchange's ``compare_hash`` reports."""

from __future__ import annotations

import numpy as np
import pytest

from tangkal.hashing import signals
from tangkal.hashing.video import VpdqSignal

PDQ = signals.get("pdq")
VPDQ = signals.get("vpdq")
assert isinstance(VPDQ, VpdqSignal)


def _flip(hex_hash: str, bits: int) -> str:
    n = int(hex_hash, 16) ^ ((1 << bits) - 1)
    return f"{n:064x}"


def _index_decides(st: signals.SignalType, query: str, banked: str, rules: dict[str, int]) -> bool:
    """What a lookup decides: the index searched at the bank's rules, each candidate judged."""
    index = st.new_index()
    index.add([(banked, 1)])
    wanted = st.widest([rules])
    return any(st.judge(m, rules) is not None for m in st.candidates(index, query, wanted))


@pytest.mark.parametrize("bits", [0, 30, 31, 32, 40])
def test_pdq_compares_at_its_threshold_as_the_index_does(bits: int) -> None:
    base = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    other = _flip(base, bits)
    c = PDQ.compare(other, base)
    assert (c.matched, c.distance, dict(c.figures)) == (bits <= 31, bits, {})
    assert c.matched == _index_decides(PDQ, other, base, {}) == PDQ.matches(other, base)
    assert PDQ.compare(other, base, {"distance": 40}).matched == (bits <= 40)


def _frames(rng: np.random.Generator, n: int) -> list[str]:
    return [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(n)]


@pytest.fixture(scope="module")
def videos() -> dict[str, str]:
    rng = np.random.default_rng(5)
    frames, other = _frames(rng, 10), _frames(rng, 2)

    def video(hexes: list[str]) -> str:
        return VPDQ.serialise([(h, 100, float(i)) for i, h in enumerate(hexes)])

    return {
        "banked": video(frames),
        "eight_of_ten": video(frames[:8] + other),  # query 80%, compared 80%
        "intro": video(frames[:2]),  # query 100%, compared 20%
        "unrelated": video(_frames(rng, 10)),
    }


@pytest.mark.parametrize(
    ("query", "rules", "matched"),
    [
        ("eight_of_ten", {}, True),
        ("eight_of_ten", {"query_share": 90}, False),
        ("intro", {}, True),
        ("intro", {"banked_share": 50}, False),
        ("intro", {"banked_share": 20}, True),
        ("unrelated", {}, False),
    ],
)
def test_vpdq_compares_by_its_three_thresholds_as_the_index_does(
    videos: dict[str, str], query: str, rules: dict[str, int], matched: bool
) -> None:
    c = VPDQ.compare(videos[query], videos["banked"], rules)
    assert c.matched is matched
    assert _index_decides(VPDQ, videos[query], videos["banked"], rules) is matched
    q, b = VPDQ.shares(videos[query], videos["banked"])
    assert dict(c.figures) == {"query_match_percent": q, "compared_match_percent": b}
    assert c.distance == VPDQ.distance(videos[query], videos["banked"])


def test_vpdq_figures_are_threatexchanges_shares(videos: dict[str, str]) -> None:
    c = VPDQ.compare(videos["intro"], videos["banked"])
    assert c.figures == {"query_match_percent": 100.0, "compared_match_percent": 20.0}
    assert (c.matched, c.distance) == (True, 0)
