"""How much memory hashing one video with vPDQ takes beside its bytes, against the estimate
the upload budget admits it by (:func:`tangkal.hashing.video.decode_bytes`, from the stream
header ffprobe reads), which must be at or above it for every clip.

Each clip is made with ffmpeg (``testsrc2``, which has moving detail on every frame), then
hashed in a fresh Python process of its own, the way an upload is hashed
(``VpdqSignal.hash_bytes`` on the clip's bytes, already in memory): the process's resident set
is read once tangkal, vpdq and the clip are loaded, its peak is reset (``/proc/self/clear_refs``,
5), the clip is hashed, and the peak (``VmHWM``) is read again. The growth is what the hashing
added: libav's demuxer and decoder (its reference frames), the RGB frame vpdq converts each
hashed frame to, PDQ's buffers. Each clip is hashed ``--repeat`` times, each in a new process;
the largest growth is reported, beside the estimate and the pictures it counts the decoder
keeping (``est >= growth`` must say ``yes``).

    python3 -m bench.hashing.bench_video_memory [--repeat N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name, size, seconds, frames a second, encoder arguments
CLIPS: list[tuple[str, str, int, int, list[str]]] = [
    ("720p 10 s h264", "1280x720", 10, 30, ["-c:v", "libx264", "-preset", "ultrafast"]),
    ("1080p 10 s h264", "1920x1080", 10, 30, ["-c:v", "libx264", "-preset", "ultrafast"]),
    ("1080p 30 s h264", "1920x1080", 30, 30, ["-c:v", "libx264", "-preset", "ultrafast"]),
    (
        # the most reference frames H.264 allows: the decoder's largest frame pool
        "1080p 10 s h264 16 refs",
        "1920x1080",
        10,
        30,
        ["-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "ref=16:bframes=3"],
    ),
    (
        "1080p 10 s vp9 webm",
        "1920x1080",
        10,
        30,
        ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M"],
    ),
    # 4K at 5 s and CRF 30, to stay under the 64 MiB any type hashes (MAX_CONTENT_BYTES)
    (
        "2160p 5 s h264",
        "3840x2160",
        5,
        30,
        ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30"],
    ),
    (
        "2160p 5 s h264 16 refs",
        "3840x2160",
        5,
        30,
        [
            *("-c:v", "libx264", "-preset", "ultrafast", "-crf", "30"),
            *("-x264-params", "ref=16:bframes=3"),
        ],
    ),
]
QUICK = {"720p 10 s h264", "1080p 10 s h264"}


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def child(path: str) -> None:
    """Hash one clip and print the memory figures as JSON (runs in its own process)."""
    from tangkal.hashing import signals
    from tangkal.hashing.video import decode_bytes, probe_video, video_container

    vpdq = signals.get("vpdq")
    content = Path(path).read_bytes()
    vpdq.working_bytes(content)  # import every module the hashing path needs
    stream = probe_video(content, video_container(content) or "mp4")
    assert stream is not None, path
    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # peak := now
    reset = _status("VmHWM")
    t = time.monotonic()
    result = vpdq.hash_bytes(content)
    took = time.monotonic() - t
    peak = _status("VmHWM")
    print(
        json.dumps(
            {
                "rss_before": before,
                "hwm_after_reset": reset,
                "hwm": peak,
                "growth": peak - before,
                "estimate": decode_bytes(stream),
                "pictures": stream.pictures,
                "bytes": len(content),
                "frames": (result.extra or {}).get("frames"),
                "hashed": result.signal is not None,
                "seconds": round(took, 2),
            }
        )
    )


def _make(tmp: Path, name: str, size: str, seconds: int, rate: int, enc: list[str]) -> Path:
    ext = "webm" if "webm" in name else "mp4"
    out = tmp / f"{name.replace(' ', '_')}.{ext}"
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi"),
            *("-i", f"testsrc2=size={size}:rate={rate}", "-t", str(seconds)),
            *enc,
            *("-pix_fmt", "yuv420p", str(out)),
        ],
        check=True,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="the 720p and 1080p 10 s clips only")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child)
        return
    mib = 1024 * 1024
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    print(
        f"{'clip':26s} {'MB file':>8s} {'frames':>7s} {'RSS before MB':>14s} "
        f"{'peak MB':>8s} {'growth MB (max of runs)':>24s} {'pictures':>8s} "
        f"{'estimate MB':>11s} {'est >= growth':>13s} {'s':>6s}"
    )
    with tempfile.TemporaryDirectory(prefix="tangkal-vmem-") as d:
        for name, size, seconds, rate, enc in CLIPS:
            if a.quick and name not in QUICK:
                continue
            clip = _make(Path(d), name, size, seconds, rate, enc)
            runs = []
            for _ in range(a.repeat):
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.hashing.bench_video_memory",
                        "--child",
                        str(clip),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            worst = max(runs, key=lambda r: r["growth"])
            assert all(r["hashed"] for r in runs), runs
            print(
                f"{name:26s} {worst['bytes'] / mib:8.1f} {worst['frames']:>7s} "
                f"{worst['rss_before'] / mib:14.0f} {worst['hwm'] / mib:8.0f} "
                f"{worst['growth'] / mib:24.0f} {worst['pictures']:8d} "
                f"{worst['estimate'] / mib:11.0f} "
                f"{'yes' if worst['estimate'] >= worst['growth'] else 'NO':>13s} "
                f"{worst['seconds']:6.1f}"
            )
            clip.unlink()
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
