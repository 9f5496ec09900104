"""Short video clips made with ffmpeg's own test sources, for the vPDQ tests.

Made on first use and kept for the test process (a few hundred kilobytes each, under a second
of ffmpeg apiece), so the suite never ships binary fixtures. ``testsrc2`` has moving detail
on every frame (PDQ quality 100); ``mandelbrot`` is unrelated content of the same size.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path

_ENCODE = {
    "mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "webm": ["-c:v", "libvpx", "-b:v", "200k", "-deadline", "realtime"],
}


def _run(args: list[str], out: Path) -> bytes:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args, str(out)], check=True)
    return out.read_bytes()


@functools.cache
def source_clip(source: str = "testsrc2", seconds: int = 8, size: str = "320x240") -> bytes:
    """An MP4 of one of ffmpeg's ``lavfi`` sources at 10 frames a second."""
    with tempfile.TemporaryDirectory() as tmp:
        return _run(
            ["-f", "lavfi", "-i", f"{source}=size={size}:rate=10", "-t", str(seconds)]
            + _ENCODE["mp4"],
            Path(tmp) / "clip.mp4",
        )


@functools.cache
def transformed_copy(
    original: bytes,
    *,
    trim: float = 1.0,
    scale: str = "240:180",
    container: str = "webm",
    seconds: float | None = None,
) -> bytes:
    """``original`` with its first ``trim`` seconds cut (and only ``seconds`` kept after
    that, when given), resized and re-encoded."""
    keep = ["-t", str(seconds)] if seconds is not None else []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.mp4"
        src.write_bytes(original)
        return _run(
            ["-ss", str(trim), "-i", str(src), *keep, "-vf", f"scale={scale}"] + _ENCODE[container],
            Path(tmp) / f"out.{container}",
        )
