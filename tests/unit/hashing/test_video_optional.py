"""vpdq is an optional extra (it builds only against ffmpeg's development packages): a server
without it still takes video uploads, hashes them by their digests, and says why no vPDQ
signal was made, instead of failing to install or answering an error."""

from __future__ import annotations

import sys

import pytest
from tests.clips import source_clip

from tangkal.hashing import signals
from tangkal.hashing.video import video_hashing_available


@pytest.fixture
def without_vpdq(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vpdq", None)  # import vpdq then raises ImportError


def test_video_hashing_is_reported_available_with_the_extra() -> None:
    assert video_hashing_available()


@pytest.mark.usefixtures("without_vpdq")
def test_without_the_extra_a_video_gets_a_reason_naming_the_install_command() -> None:
    assert not video_hashing_available()
    result = signals.get("vpdq").hash_bytes(source_clip("testsrc2", seconds=2))
    assert not result.ok
    assert result.reason is not None and "pip install -e '.[video]'" in result.reason


@pytest.mark.usefixtures("without_vpdq")
def test_without_the_extra_a_video_is_still_hashed_by_its_digests() -> None:
    clip = source_clip("testsrc2", seconds=2)
    made = {r.signal_type for r in signals.hash_file(clip) if r.ok}
    assert {"md5", "sha256"} <= made
