"""Exchange files over real HTTP and through the CLI: unsupported rows named by line, the
file refused whole by default, and imported without them on request; exports served with
their format's media type and file name."""

from __future__ import annotations

import json
from pathlib import Path

from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.url import URLSignal

from tests.support import LiveServer, unique

PDQ = PdqSignal.get_examples()[0]
MD5 = VideoMD5Signal.get_random_signal()
SHA256 = VideoSHA256Signal.get_random_signal()
MIXED = (
    f"{PdqSignal.get_name()} {PDQ}\n"
    f"{URLSignal.get_name()} https://example.org/a\n"
    f"{VideoSHA256Signal.get_name()} {SHA256}\n"
    f"{URLSignal.get_name()} https://example.org/b\n"
).encode()


def test_unsupported_rows_over_http(live: LiveServer) -> None:
    reg = unique("reg")
    assert live.cli("org", "create", "--kind", "regulator", "--name", reg).returncode == 0
    bank = unique("mixed")
    with live.client(live.token(reg, "analyst")) as c:
        assert c.post("/api/v1/banks", json={"name": bank}).status_code == 201
        refused = c.post(
            f"/api/v1/banks/{bank}/import",
            data={"format": "te"},
            files={"file": ("mixed.te", MIXED)},
        )
        assert refused.status_code == 422 and refused.json()["field"] == "file"
        assert "line 2" in refused.json()["message"] and "line 4" in refused.json()["message"]
        assert c.get(f"/api/v1/banks/{bank}").json()["content"] == {}
        done = c.post(
            f"/api/v1/banks/{bank}/import",
            data={"format": "te", "skip_unsupported": "true"},
            files={"file": ("mixed.te", MIXED)},
        )
        assert done.status_code == 200
        assert done.json() == {
            "added": 2,
            "duplicates": 0,
            "removed": 0,
            "skipped": {"url": {"count": 2, "first_lines": [2, 4]}},
        }
        te = c.get(f"/api/v1/banks/{bank}/export", params={"format": "te"})
        assert te.headers["content-type"].startswith("text/plain")
        assert te.text.splitlines() == [f"pdq {PDQ}", f"video_sha256 {SHA256}"]
        tat = c.get(f"/api/v1/banks/{bank}/export", params={"format": "tat"})
        assert tat.headers["content-type"] == "application/json"
        assert f'filename="{bank}.json"' in tat.headers["content-disposition"]
        page = tat.json()
        assert page["count"] == 2 and page["next"] is None
        assert [e["algorithm"] for e in page["results"]] == ["PDQ", "SHA256"]
        unknown = c.get(f"/api/v1/banks/{bank}/export", params={"format": "xml"})
        assert unknown.status_code == 422 and unknown.json()["field"] == "format"


def test_unsupported_rows_in_the_cli(live: LiveServer, tmp_path: Path) -> None:
    reg = unique("reg")
    assert live.cli("org", "create", "--kind", "regulator", "--name", reg).returncode == 0
    bank = unique("cli")
    assert live.cli("bank", "create", bank, "--org", reg).returncode == 0
    path = tmp_path / "mixed.te"
    path.write_bytes(MIXED)
    refused = live.cli("bank", "import", bank, str(path), "--org", reg)
    assert refused.returncode != 0
    assert "line 2" in refused.stderr + refused.stdout
    done = live.cli("bank", "import", bank, str(path), "--org", reg, "--skip-unsupported")
    assert done.returncode == 0, done.stderr
    assert "2 added" in done.stdout
    assert "url: 2 rows (lines 2, 4)" in done.stdout
    out = live.cli("bank", "export", bank, "--org", reg, "--format", "tat")
    assert out.returncode == 0
    assert {e["hash_digest"] for e in json.loads(out.stdout)["results"]} == {PDQ, SHA256}
