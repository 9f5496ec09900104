"""Video over real HTTP: an MP4 uploaded to a bank is matched by a trimmed, resized WebM copy
(vPDQ), not by an unrelated clip, and a file that is no video is still banked by its digests
with vPDQ's reason."""

from __future__ import annotations

from tests.clips import source_clip, transformed_copy
from tests.support import LiveServer, unique


def test_an_mp4_in_a_bank_matches_its_webm_copy(live: LiveServer) -> None:
    reg = unique("reg")
    assert live.cli("org", "create", "--kind", "regulator", "--name", reg).returncode == 0
    original = source_clip("testsrc2", seconds=8)
    copy = transformed_copy(original, trim=1.0, scale="240:180", container="webm")
    bank = unique("videos")
    with live.client(live.token(reg, "analyst")) as c:
        assert c.post("/api/v1/banks", json={"name": bank}).status_code == 201
        added = c.post(
            f"/api/v1/banks/{bank}/content", files={"file": ("clip.mp4", original, "video/mp4")}
        )
        assert added.status_code == 201, added.text
        assert c.get(f"/api/v1/banks/{bank}").json()["content"] == {
            "md5": 1,
            "sha256": 1,
            "vpdq": 1,
        }
        hit = c.post("/api/v1/match", files={"file": ("copy.webm", copy, "video/webm")})
        assert hit.status_code == 200, hit.text
        matches = [m for m in hit.json()["matches"] if m["bank"] == bank]
        assert [(m["signal_type"], m["distance"]) for m in matches] == [("vpdq", 0)]
        unrelated = source_clip("mandelbrot", seconds=8)
        miss = c.post("/api/v1/match", files={"file": ("other.mp4", unrelated, "video/mp4")})
        assert miss.status_code == 200
        assert [m for m in miss.json()["matches"] if m["bank"] == bank] == []
        # a stricter bank: the copy's frames all match, so even a query share of 100% holds
        strict = c.patch(f"/api/v1/banks/{bank}", json={"thresholds": {"vpdq": 100}})
        assert strict.status_code == 200, strict.text
        again = c.post("/api/v1/match", files={"file": ("copy.webm", copy, "video/webm")})
        assert [m["signal_type"] for m in again.json()["matches"] if m["bank"] == bank] == ["vpdq"]
        avi = c.post(
            f"/api/v1/banks/{bank}/content",
            files={"file": ("x.avi", b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 200)},
        )
        assert avi.status_code == 201, avi.text
        reasons = {r["signal_type"]: r["reason"] for r in avi.json()["not_hashed"]}
        assert "MP4 or WebM" in reasons["vpdq"]
