"""vPDQ (video) on clips made with ffmpeg: copies that were trimmed, resized and re-encoded
match their banked original by vPDQ's rule, unrelated clips do not; the rule and the signal
format agree with threatexchange's own vPDQ code; the frame index agrees with brute force."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.clips import source_clip, transformed_copy
from tests.factories import Factory
from threatexchange.extensions.vpdq.vpdq import VPDQSignal
from threatexchange.extensions.vpdq.vpdq_brute_matcher import match_VPDQ_hash_brute
from threatexchange.extensions.vpdq.vpdq_util import (
    VPDQ_DISTANCE_THRESHOLD,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_QUERY_MATCH_THRESHOLD_PERCENT,
    json_to_vpdq,
)

from tangkal.db.session import Database
from tangkal.errors import InvalidInput
from tangkal.hashing import banks, budget, matching, signals
from tangkal.hashing.content import add_signal
from tangkal.hashing.index import IndexMatch
from tangkal.hashing.matcher import BankIndexes
from tangkal.hashing.video import (
    VpdqSignal,
    VpdqSignalIndex,
    decode_bytes,
    probe_video,
    video_container,
)

VPDQ = signals.get("vpdq")
assert isinstance(VPDQ, VpdqSignal)


def _sig(content: bytes) -> str:
    result = VPDQ.hash_bytes(content)
    assert result.signal is not None, result.reason
    return result.signal


@pytest.fixture(scope="module")
def clips() -> dict[str, str]:
    original = source_clip("testsrc2", seconds=8)
    return {
        "original": _sig(original),
        "webm": _sig(transformed_copy(original, trim=1.0, scale="240:180", container="webm")),
        "mp4": _sig(transformed_copy(original, trim=2.0, scale="200:150", container="mp4")),
        "unrelated": _sig(source_clip("mandelbrot", seconds=8)),
    }


def test_defaults_are_vpdqs_own() -> None:
    assert VPDQ.frame_distance == VPDQ_DISTANCE_THRESHOLD
    assert VPDQ.min_quality == VPDQ_QUALITY_THRESHOLD
    assert 100 - VPDQ.default_threshold == VPDQ_QUERY_MATCH_THRESHOLD_PERCENT
    assert VPDQ.te_name == VPDQSignal.get_name()


@pytest.mark.parametrize("copy", ["webm", "mp4"])
def test_a_trimmed_resized_reencoded_copy_matches(clips: dict[str, str], copy: str) -> None:
    query_pct, compared_pct = VPDQ.shares(clips[copy], clips["original"])
    assert query_pct == 100.0  # every frame of the trimmed copy is in the original
    assert 50.0 <= compared_pct < 100.0  # the cut seconds are missing from the copy
    index = VPDQ.new_index()
    index.add([(clips["original"], 1), (clips["unrelated"], 2)])
    assert index.search(clips[copy], VPDQ.default_threshold) == [IndexMatch(1, 0)]


def test_an_unrelated_clip_does_not_match(clips: dict[str, str]) -> None:
    assert VPDQ.shares(clips["unrelated"], clips["original"]) == (0.0, 0.0)
    assert VPDQ.distance(clips["unrelated"], clips["original"]) == 100
    index = VPDQ.new_index()
    index.add([(clips["original"], 1)])
    assert index.search(clips["unrelated"], VPDQ.max_threshold) == []


def test_shares_agree_with_threatexchanges_matcher(clips: dict[str, str]) -> None:
    for query in ("webm", "mp4", "unrelated", "original"):
        theirs = match_VPDQ_hash_brute(
            json_to_vpdq(clips[query]),
            json_to_vpdq(clips["original"]),
            VPDQ_QUALITY_THRESHOLD,
            VPDQ_DISTANCE_THRESHOLD,
        )
        ours = VPDQ.shares(clips[query], clips["original"])
        assert ours == pytest.approx((theirs.query_match_percent, theirs.compared_match_percent)), (
            query
        )


def test_signal_is_threatexchanges_format(clips: dict[str, str]) -> None:
    ours = clips["original"]
    assert VPDQSignal.validate_signal_str(ours) == ours
    parsed = json_to_vpdq(ours)
    assert [(f.pdq_hex, f.quality) for f in parsed] == [(h, q) for h, q, _ in VPDQ.frames(ours)]
    # their serialisation (times to 3 significant digits) is accepted and canonicalised
    theirs = json.dumps([str(f) for f in parsed])
    assert VPDQ.validate(theirs) == ours


def test_distance_is_the_share_of_query_frames_unmatched() -> None:
    rng = np.random.default_rng(3)
    frames = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(10)]
    banked = VPDQ.serialise([(h, 100, float(i)) for i, h in enumerate(frames)])
    # 8 of 10 query frames are banked: 80% is threatexchange's threshold, so it matches
    other = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(2)]
    query = VPDQ.serialise([(h, 100, float(i)) for i, h in enumerate(frames[:8] + other)])
    assert VPDQ.distance(query, banked) == 20
    index = VpdqSignalIndex()
    index.add([(banked, 7)])
    assert index.search(query, 20) == [IndexMatch(7, 20)]
    assert index.search(query, 19) == []
    # low-quality frames are not matched on, duplicates count once
    flat = VPDQ.serialise([(frames[0], 10, 0.0), (frames[1], 100, 1.0), (frames[1], 100, 2.0)])
    assert VPDQ.usable(flat) == [frames[1]]


def test_index_agrees_with_brute_force_and_forgets() -> None:
    rng = np.random.default_rng(11)
    videos = {
        cid: [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(30)]
        for cid in range(1, 21)
    }
    index = VpdqSignalIndex()
    index.add([(VPDQ.serialise([(h, 90, 0.0) for h in v]), cid) for cid, v in videos.items()])
    # a query: half of video 5, half of video 9, each frame flipped in a few bits
    words = np.frombuffer(bytes.fromhex("".join(videos[5][:15] + videos[9][15:])), np.uint8)
    words = words.reshape(-1, 32).copy()
    words[:, 0] ^= 0b111
    query = VPDQ.serialise([(w.tobytes().hex(), 90, 0.0) for w in words])
    want = sorted(
        IndexMatch(cid, d)
        for cid in videos
        if (d := VPDQ.distance(query, VPDQ.serialise([(h, 90, 0.0) for h in videos[cid]]))) <= 60
    )
    assert want == [IndexMatch(5, 50), IndexMatch(9, 50)]
    assert sorted(index.search(query, 60)) == want
    index.remove([5])
    assert index.search(query, 60) == [IndexMatch(9, 50)]
    assert len(index) == 19 and index.stats() == {"videos": 19, "frames": 19 * 30}


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", None),
        (b"RIFF\x00\x00\x00\x00AVI LIST", None),
        (b"\x89PNG\r\n\x1a\n", None),
    ],
)
def test_containers_by_magic_bytes(head: bytes, kind: str | None) -> None:
    assert video_container(head + b"\x00" * 64) == kind


def test_other_files_are_refused_with_a_reason() -> None:
    result = VPDQ.hash_bytes(b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 100)
    assert not result.ok and result.reason is not None and "MP4 or WebM" in result.reason
    broken = VPDQ.hash_bytes(b"\x00\x00\x00\x20ftypisom" + b"\x00" * 200)
    assert not broken.ok and broken.reason is not None and "decode" in broken.reason


def test_a_video_is_estimated_with_its_decoder() -> None:
    clip = source_clip("testsrc2", seconds=4)
    stream = probe_video(clip, "mp4")
    assert stream is not None
    assert VPDQ.working_bytes(clip) == len(clip) + decode_bytes(stream)
    assert budget.estimate(clip) >= len(clip) + decode_bytes(stream)
    assert VPDQ.working_bytes(b"not a video") == len(b"not a video")


@pytest.mark.parametrize(
    "bad",
    [
        "[]",
        "{}",
        '["abc,100,0"]',
        f'["{"0" * 64},101,0"]',
        f'["{"0" * 64},50,-1"]',
        f'["{"g" * 64},50,0"]',
        f'["{"0" * 64},50"]',
        "[1]",
    ],
)
def test_bad_signals_name_the_field(bad: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        VPDQ.validate(bad)
    assert exc.value.field == "signal" and "vpdq" in exc.value.message


def test_a_banks_banked_share_refuses_a_clip_that_only_shares_an_intro(
    db: Database, factory: Factory, tmp_path: Path
) -> None:
    """The first two seconds of a banked eight-second clip: every frame of the query is banked
    (query match 100%), a quarter of the banked clip is matched. A bank asking for half of its
    frames refuses it; a bank at threatexchange's default (any) matches it, in the same
    lookup, each by its own thresholds."""
    original = source_clip("testsrc2", seconds=8)
    intro = _sig(transformed_copy(original, trim=0.0, seconds=2.0, container="mp4"))
    query_pct, banked_pct = VPDQ.shares(intro, _sig(original))
    assert query_pct == 100.0 and banked_pct < 50.0
    analyst = factory.principal(factory.regulator(), "analyst")
    with db.unit_of_work() as s:
        banks.create_bank(s, analyst, "strict", thresholds={"vpdq": {"banked_share": 50}})
        banks.create_bank(s, analyst, "lenient")
        for bank in ("strict", "lenient"):
            add_signal(s, analyst, bank, "vpdq", _sig(original))
    idx = BankIndexes(db, tmp_path)
    with db.unit_of_work() as s:
        hits = matching.match(s, analyst, idx, [matching.Query("vpdq", intro)])
        assert [(h["bank"], h["distance"]) for h in hits] == [("lenient", 0)]
        assert banks.rules_of(banks.get_bank(s, analyst, "strict"))["vpdq"] == {
            "query_share": 80,
            "banked_share": 50,
            "frame_distance": 31,
        }
        banks.update_bank(s, analyst, "strict", thresholds={"vpdq": {"banked_share": 20}})
    with db.unit_of_work() as s:
        hits = matching.match(s, analyst, idx, [matching.Query("vpdq", intro)])
        assert sorted(h["bank"] for h in hits) == ["lenient", "strict"]
        with pytest.raises(InvalidInput, match="frame_distance"):
            banks.update_bank(s, analyst, "strict", thresholds={"vpdq": {"frame_distance": 40}})


def test_match_details_judge_every_rule_as_brute_force_does(clips: dict[str, str]) -> None:
    """The index's per-candidate counts give, at every frame distance, the shares that
    comparing the two videos frame by frame gives."""
    index = VPDQ.new_index()
    assert isinstance(index, VpdqSignalIndex)
    index.add([(clips["original"], 1)])
    [m] = VPDQ.candidates(index, clips["mp4"], {"query_share": 1, "banked_share": 0})
    for fd in (0, 5, 12, 31):
        assert m.shares(fd) == pytest.approx(VPDQ.shares(clips["mp4"], clips["original"], fd))
    assert VPDQ.judge(m, {"banked_share": 100}) is None
    assert VPDQ.judge(m, {}) == 0
