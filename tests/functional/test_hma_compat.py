"""The HMA-compatible API over real HTTP, driven as HMA's clients drive HMA 2.x.

The calls are the ones HMA's own API tests and a platform's HMA integration (Coop's) make:
create a bank, add a file and signals to it, look signals and files up (``raw_lookup``
with and without distances and bank filters, ``lookup`` by signal, by file), list banks and
signal types, read and delete content, hash a file. Nothing but a base URL and a tangkal
token changes for the client. Lookups by URL are refused: tangkal fetches no address a
caller gives it.
"""

from __future__ import annotations

import secrets

from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal

from tests.evidence import resized_jpeg, sample_png
from tests.support import LiveServer, unique


def _hma_name(prefix: str) -> str:
    """A bank name as HMA spells them: upper case, digits and underscores."""
    return unique(prefix).replace("-", "_").upper()


def _orgs(live: LiveServer) -> tuple[str, str, str]:
    reg, plat, plat2 = unique("reg"), unique("plat"), unique("plat")
    for kind, name in (("regulator", reg), ("platform", plat), ("platform", plat2)):
        assert live.cli("org", "create", "--kind", kind, "--name", name).returncode == 0
    return live.token(reg, "analyst"), live.token(plat, "moderator"), live.token(plat2, "moderator")


def test_an_hma_client_banks_and_matches(live: LiveServer) -> None:
    analyst, mod, other = _orgs(live)
    shared, own = _hma_name("tcap"), _hma_name("mine")
    photo = sample_png("astronaut")
    # a PDQ hash of this test's own: threatexchange's examples are banked by other tests
    # sharing the server, and their shared banks would answer too
    pdq = secrets.token_hex(32)
    md5 = VideoMD5Signal.get_random_signal()
    with live.client(analyst) as c:  # the regulator's banks are shared
        created = c.post("/c/banks", json={"name": shared})
        assert created.status_code == 201
        assert created.json() == {"name": shared, "matching_enabled_ratio": 1.0}
        added = c.post(f"/c/bank/{shared}/content", files={"photo": ("a.png", photo)})
        assert added.status_code == 201, added.text
        body = added.json()
        assert set(body["signals"]) == {
            PdqSignal.get_name(),
            VideoMD5Signal.get_name(),
            VideoSHA256Signal.get_name(),
        }
        file_id = body["id"]
        sig = c.post(f"/c/bank/{shared}/signal", json={"pdq": pdq, "video_md5": md5})
        assert sig.status_code == 201
        assert sig.json()["signals"] == {"pdq": pdq, "video_md5": md5}
        again = c.post(f"/c/bank/{shared}/signal", json={"pdq": pdq})  # already banked
        assert again.json()["id"] == sig.json()["id"]
    with live.client(mod) as c:  # a platform: shared banks + its own
        assert c.post("/c/banks", json={"name": own, "enabled": True}).status_code == 201
        assert c.post(f"/c/bank/{own}/signal", json={"pdq": pdq}).status_code == 201
        names = {b["name"] for b in c.get("/c/banks").json()}
        assert {shared, own} <= names
        assert c.get(f"/c/bank/{shared}").json()["matching_enabled_ratio"] == 1.0
        types = {t["name"] for t in c.get("/c/signal_type").json()}
        assert {"pdq", "video_md5", "video_sha256"} <= types

        raw = c.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq})
        assert raw.status_code == 200 and len(raw.json()["matches"]) == 2
        assert all(isinstance(m, int) for m in raw.json()["matches"])
        dist = c.get(
            "/m/raw_lookup",
            params={"signal_type": "pdq", "signal": pdq, "include_distance": "True"},
        ).json()["matches"]
        assert [m["distance"] for m in dist] == ["0", "0"]
        only = c.get(
            "/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq, "banks": own}
        ).json()["matches"]
        assert len(only) == 1
        none = c.get(
            "/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq, "banks": "NO_SUCH"}
        ).json()["matches"]
        assert none == []

        by_bank = c.get("/m/lookup", params={"signal_type": "video_md5", "signal": md5}).json()
        assert list(by_bank) == [shared] and by_bank[shared][0]["distance"] == "0"

        copy = c.post("/m/lookup", files={"photo": ("copy.jpg", resized_jpeg(photo))})
        assert copy.status_code == 200, copy.text
        hits = copy.json()["pdq"][shared]
        assert [h["bank_content_id"] for h in hits if h["bank_content_id"] == file_id]
        assert 0 < int(hits[0]["distance"]) <= 31
        assert copy.json()["video_md5"] == {}  # a re-encoded copy has other bytes

        copy_pdq = c.post("/h/hash", files={"photo": ("c.jpg", resized_jpeg(photo))}).json()["pdq"]
        pairs = {"pdq": [body["signals"]["pdq"], copy_pdq], "video_md5": [md5, md5]}
        near = c.post("/m/compare", json=pairs).json()
        assert near["pdq"][0] is True and 0 < near["pdq"][1]["distance"] <= 31
        assert near["video_md5"] == [True, {"distance": 0}]
        hashed = c.post("/h/hash", files={"photo": ("a.png", photo)}).json()
        assert hashed["pdq"] == body["signals"]["pdq"]
        status = c.get("/m/index/status").json()
        assert status["pdq"]["present"] and status["pdq"]["size"] >= 3

        content = c.get(f"/c/bank/{shared}/content/{file_id}", params={"include_signals": "true"})
        assert content.json()["bank"]["name"] == shared
        assert content.json()["signals"] == {"pdq": body["signals"]["pdq"]}
        # another organisation's bank: read, not written
        refused = c.post(f"/c/bank/{shared}/signal", json={"pdq": pdq})
        assert refused.status_code == 403
    with live.client(other) as c:  # another platform does not see the first one's bank
        assert own not in {b["name"] for b in c.get("/c/banks").json()}
        assert c.get(f"/c/bank/{own}").status_code == 404
        hidden = c.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq})
        assert len(hidden.json()["matches"]) == 1  # the shared bank's only
    with live.client(mod) as c:
        own_id = c.get(
            "/m/raw_lookup", params={"signal_type": "pdq", "signal": pdq, "banks": own}
        ).json()["matches"][0]
        assert c.delete(f"/c/bank/{own}/content/{own_id}").json() == {"deleted": 1}
        assert c.get(f"/c/bank/{own}/content/{own_id}").status_code == 404
        off = c.put(f"/c/bank/{own}", json={"enabled_ratio": 0})
        assert off.json() == {"name": own, "matching_enabled_ratio": 0.0}
        half = c.put(f"/c/bank/{own}", json={"enabled_ratio": 0.5})
        assert half.status_code == 422 and half.json()["field"] == "enabled_ratio"


def test_no_token_no_url_fetches_and_clear_refusals(live: LiveServer) -> None:
    _, mod, _ = _orgs(live)
    with live.client() as c:
        assert c.get("/c/banks").status_code == 401
        assert c.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": "0"}).status_code == (
            401
        )
    with live.client(mod) as c:
        for path in ("/m/lookup", "/h/hash"):
            r = c.get(path, params={"url": "http://127.0.0.1:5432/"})
            assert r.status_code == 422 and r.json()["field"] == "url"
            assert "does not fetch" in r.json()["message"]
        bank = _hma_name("urls")
        assert c.post("/c/banks", json={"name": bank}).status_code == 201
        r = c.post(f"/c/bank/{bank}/content", params={"url": "http://169.254.169.254/"})
        assert r.status_code == 422 and r.json()["field"] == "url"
        bad = c.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": "zz"})
        assert bad.status_code == 422 and bad.json()["field"] == "signal"
        unknown = c.get("/m/raw_lookup", params={"signal_type": "url", "signal": "x"})
        assert unknown.status_code == 422 and unknown.json()["field"] == "signal_type"
        assert c.get("/c/bank/NO_SUCH_BANK").status_code == 404
