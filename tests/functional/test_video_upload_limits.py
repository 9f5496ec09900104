"""Video uploads over real HTTP are admitted by their stream header: a clip whose frame is
over ``TANGKAL_HASH_MAX_VIDEO_PIXELS`` (an 8K header in a file of about 100 KB) is refused 413
naming its size and the limit, and a file that starts as MP4 but is no video is refused 422;
neither leaves anything in the bank."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support import LiveServer, unique

pytest.importorskip("vpdq", reason="video hashing (the video extra) is not installed")


@pytest.fixture(scope="module")
def eight_k() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "8k.mp4"
        subprocess.run(
            [
                *("ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi"),
                *("-i", "color=size=7680x4320:rate=5", "-t", "1"),
                *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)),
            ],
            check=True,
            timeout=120,
        )
        return out.read_bytes()


def _analyst(live: LiveServer) -> str:
    name = unique("vreg")
    assert live.cli("org", "create", "--kind", "regulator", "--name", name).returncode == 0
    return live.token(name, "analyst")


def test_an_8k_video_is_refused_413_and_a_fake_mp4_422(live: LiveServer, eight_k: bytes) -> None:
    assert len(eight_k) < 1_000_000
    analyst = _analyst(live)
    bank = unique("videos")
    fake = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + b"\x00" * 4000
    with live.client(analyst) as c:
        assert c.post("/api/v1/banks", json={"name": bank}).status_code == 201
        for path in (f"/api/v1/banks/{bank}/content", "/api/v1/match"):
            r = c.post(path, files={"file": ("big.mp4", eight_k, "video/mp4")})
            assert r.status_code == 413, r.text
            body = r.json()
            assert body["error"] == "too_large" and body["field"] == "file"
            assert "7680x4320" in body["message"] and "8847360" in body["message"]
            assert "TANGKAL_HASH_MAX_VIDEO_PIXELS" in body["message"]

            r = c.post(path, files={"file": ("fake.mp4", fake, "video/mp4")})
            assert r.status_code == 422, r.text
            assert r.json()["field"] == "file" and "ffprobe" in r.json()["message"]
        assert c.get(f"/api/v1/banks/{bank}/content").json()["content"] == []
