"""A video upload is admitted by a memory estimate read from its own stream header (ffprobe),
before anything is decoded: the estimate grows with the frame size and the pictures the
decoder keeps, a frame over ``TANGKAL_HASH_MAX_VIDEO_PIXELS`` is refused 413 without the
decoder being reached, and a file that starts as MP4 but is no video is refused 422."""

from __future__ import annotations

import functools
import subprocess
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from tangkal.errors import InvalidInput, TooLarge
from tangkal.hashing import budget, signals, video
from tangkal.hashing.video import VideoStream, decode_bytes, probe_video
from tangkal.settings import get_settings

pytest.importorskip("vpdq", reason="video hashing (the video extra) is not installed")
VPDQ = signals.get("vpdq")
MIB = 1024 * 1024


@functools.cache
def _clip(size: str, *, source: str = "testsrc2", x264: str | None = None) -> bytes:
    """One second of an ffmpeg source as H.264 MP4 (``x264``: extra encoder parameters)."""
    extra = ["-x264-params", x264] if x264 else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        subprocess.run(
            [
                *("ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi"),
                *("-i", f"{source}=size={size}:rate=5", "-t", "1"),
                *("-c:v", "libx264", "-preset", "ultrafast", *extra, "-pix_fmt", "yuv420p"),
                str(out),
            ],
            check=True,
            timeout=120,
        )
        return out.read_bytes()


@pytest.fixture(scope="module")
def eight_k() -> bytes:
    """A tiny black clip (about 100 KB) of 7680x4320 frames: a real header over the limit."""
    return _clip("7680x4320", source="color")


def _state() -> Any:
    return SimpleNamespace(settings=get_settings())


def test_the_header_is_read_by_ffprobe() -> None:
    stream = probe_video(_clip("640x480"), "mp4")
    assert stream is not None
    assert (stream.codec, stream.width, stream.height) == ("h264", 640, 480)


def test_the_estimate_grows_with_the_frame_size() -> None:
    small, large = _clip("320x240"), _clip("1280x720")
    need_small = VPDQ.working_bytes(small) - len(small)
    need_large = VPDQ.working_bytes(large) - len(large)
    assert need_small < need_large
    # the part that scales with the frame: 12x the pixels, so far more than 4x the bytes
    assert need_large - video.VIDEO_BASE_BYTES > 4 * (need_small - video.VIDEO_BASE_BYTES)


def test_the_estimate_grows_with_reference_and_reordered_frames() -> None:
    plain = _clip("1280x720")
    many = _clip("1280x720", x264="ref=16:bframes=3")
    s_plain, s_many = probe_video(plain, "mp4"), probe_video(many, "mp4")
    assert s_plain is not None and s_many is not None
    assert s_many.pictures > s_plain.pictures
    assert VPDQ.working_bytes(many) - len(many) > VPDQ.working_bytes(plain) - len(plain)


@pytest.mark.parametrize(
    ("stream", "measured_mib"),
    [
        # bench.hashing.bench_video_memory, 2026-12-03 (see video.decode_bytes)
        (VideoStream("h264", 1280, 720, level=31), 44),
        (VideoStream("h264", 1920, 1080, level=40), 61),
        (VideoStream("h264", 1920, 1080, level=51, reorder=2), 123),
        (VideoStream("vp9", 1920, 1080), 67),
        (VideoStream("h264", 3840, 2160, level=51), 154),
        (VideoStream("h264", 3840, 2160, level=60, reorder=2), 399),
    ],
)
def test_the_estimate_covers_every_measured_clip(stream: VideoStream, measured_mib: int) -> None:
    assert decode_bytes(stream) >= measured_mib * MIB


def test_codecs_with_fixed_reference_slots_and_unknown_codecs() -> None:
    assert VideoStream("vp9", 1920, 1080).pictures == 8
    assert VideoStream("av1", 1920, 1080).pictures == 8
    assert VideoStream("hevc", 1920, 1080).pictures == 16  # not read: the most HEVC keeps
    assert VideoStream("h264", 1920, 1080, level=None).pictures == 16  # level unknown


def test_an_oversized_video_is_refused_413_before_decoding(
    eight_k: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 8K clip goes the way every upload goes (``hash_upload``); neither the hashing
    function nor vpdq's decoder entry point is reached."""
    vpdq = video._vpdq()
    decoded: list[str] = []
    real = vpdq.computeHash

    def spy(path: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(vpdq, "computeHash", spy)
    assert len(eight_k) < 1_000_000
    hashed: list[bool] = []

    def fn() -> Any:
        hashed.append(True)
        return VPDQ.hash_bytes(eight_k)

    with pytest.raises(TooLarge) as caught:
        anyio.run(budget.hash_upload, _state(), eight_k, fn)
    assert caught.value.status_code == 413
    assert "7680x4320" in caught.value.message
    assert "TANGKAL_HASH_MAX_VIDEO_PIXELS" in caught.value.message
    assert str(get_settings().hash_max_video_pixels) in caught.value.message
    assert hashed == [] and decoded == []

    # the spy does see decoding when a video is admitted
    small = _clip("320x240")
    result = anyio.run(budget.hash_upload, _state(), small, lambda: VPDQ.hash_bytes(small))
    assert result.signal is not None and len(decoded) == 1


def test_a_file_that_starts_as_mp4_but_is_not_a_video_is_refused_422() -> None:
    fake = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + b"\x00" * 4000
    with pytest.raises(InvalidInput) as caught:
        budget.estimate(fake)
    assert not isinstance(caught.value, TooLarge)
    assert caught.value.status_code == 422
    assert "ffprobe" in caught.value.message and caught.value.field == "file"


def test_files_that_are_not_videos_cost_their_bytes() -> None:
    for content in (b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 100, b"plain text"):
        assert VPDQ.working_bytes(content) == len(content)


def test_the_probe_runs_in_a_thread_not_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    clip = _clip("320x240")
    threads: list[threading.Thread] = []
    real = video.probe_video

    def recording(content: bytes, kind: str) -> VideoStream | None:
        threads.append(threading.current_thread())
        return real(content, kind)

    monkeypatch.setattr(video, "probe_video", recording)

    async def main() -> threading.Thread:
        loop_thread = threading.current_thread()
        await budget.hash_upload(_state(), clip, lambda: None)
        return loop_thread

    loop_thread = anyio.run(main)
    assert len(threads) == 1 and threads[0] is not loop_thread


def test_without_ffprobe_the_largest_allowed_frame_is_assumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clip = _clip("320x240")
    found = video.shutil.which
    monkeypatch.setattr(
        video.shutil, "which", lambda name: None if name == "ffprobe" else found(name)
    )
    worst = VideoStream("unknown", get_settings().hash_max_video_pixels, 1)
    assert worst.pictures == 16
    assert VPDQ.working_bytes(clip) == len(clip) + decode_bytes(worst)
