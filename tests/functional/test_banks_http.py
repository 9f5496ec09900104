"""Hash banks and matching over real HTTP: photos, files, text, imports, orders, restarts."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image

from tests.evidence import resized_jpeg, sample_png
from tests.support import LiveServer, live_server, unique


@pytest.fixture(scope="module")
def photo() -> bytes:
    return sample_png("astronaut")


def _orgs(live: LiveServer) -> tuple[str, str, str, str]:
    reg, plat, plat2 = unique("reg"), unique("plat"), unique("plat")
    for kind, name in (("regulator", reg), ("platform", plat), ("platform", plat2)):
        assert live.cli("org", "create", "--kind", kind, "--name", name).returncode == 0
    return (
        live.token(reg, "analyst"),
        live.token(plat, "moderator"),
        live.token(plat2, "moderator"),
        plat,
    )


def test_a_resized_recompressed_copy_matches_with_provenance(
    live: LiveServer, photo: bytes
) -> None:
    analyst, mod, _, _ = _orgs(live)
    bank = unique("propaganda")
    with live.client(analyst) as c:
        assert c.post("/api/v1/banks", json={"name": bank}).status_code == 201
        r = c.post(f"/api/v1/banks/{bank}/content", files={"file": ("a.png", photo)})
        assert r.status_code == 201
        assert {a["signal_type"] for a in r.json()["added"]} == {"pdq", "md5", "sha256"}
    with live.client(mod) as c:
        r = c.post("/api/v1/match", files={"file": ("copy.jpg", resized_jpeg(photo, quality=55))})
    assert r.status_code == 200
    hits = [m for m in r.json()["matches"] if m["bank"] == bank]
    assert len(hits) == 1 and hits[0]["signal_type"] == "pdq"
    assert 0 < hits[0]["distance"] <= 31
    assert hits[0]["provenance"]["kind"] == "own" and "added_at" in hits[0]["provenance"]
    with live.client(mod) as c:  # an exact copy matches by every signal
        exact = c.post("/api/v1/match", files={"file": ("same.png", photo)}).json()["matches"]
        fb = c.post(
            f"/api/v1/match/{hits[0]['content_id']}/feedback",
            json={"verdict": "confirmed", "note": "same propaganda poster"},
        )
        assert fb.status_code == 201
        again = c.post(
            "/api/v1/match", files={"file": ("copy.jpg", resized_jpeg(photo, quality=55))}
        )
    assert {m["signal_type"] for m in exact if m["bank"] == bank} == {"pdq", "md5", "sha256"}
    mirrored = io.BytesIO()
    Image.open(io.BytesIO(photo)).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored, "PNG")
    with live.client(mod) as c:  # a mirrored copy is found through the query-side variants
        flipped = c.post("/api/v1/match", files={"file": ("m.png", mirrored.getvalue())})
    assert [m["signal_type"] for m in flipped.json()["matches"] if m["bank"] == bank] == ["pdq"]
    mine = [m for m in again.json()["matches"] if m["bank"] == bank]
    assert mine[0]["feedback"] == {"confirmed": 1}


def test_a_file_that_is_not_an_image_still_matches_by_digest(live: LiveServer) -> None:
    analyst, mod, _, _ = _orgs(live)
    bank = unique("files")
    pdf = b"%PDF-1.4 manual for something unlawful " * 50
    with live.client(analyst) as c:
        c.post("/api/v1/banks", json={"name": bank})
        r = c.post(f"/api/v1/banks/{bank}/content", files={"file": ("m.pdf", pdf)})
        # neither the picture type nor the video type can hash a PDF; each says so
        assert [n["signal_type"] for n in r.json()["not_hashed"]] == ["pdq", "vpdq"]
    with live.client(mod) as c:
        r = c.post("/api/v1/match", files={"file": ("m.pdf", pdf)}).json()
    assert {m["signal_type"] for m in r["matches"] if m["bank"] == bank} == {"md5", "sha256"}
    assert "not a decodable image" in r["not_hashed"][0]["reason"]


def test_bad_input_is_a_clear_4xx(live: LiveServer) -> None:
    analyst, mod, _, _ = _orgs(live)
    bank = unique("bad")
    with live.client(analyst) as c:
        assert c.post("/api/v1/banks", json={"name": bank}).status_code == 201
        cases = {
            "duplicate bank": c.post("/api/v1/banks", json={"name": bank}),
            "bad bank name": c.post("/api/v1/banks", json={"name": "no spaces!"}),
            "empty upload": c.post(f"/api/v1/banks/{bank}/content", files={"file": ("e", b"")}),
            "oversized upload": c.post(
                f"/api/v1/banks/{bank}/content", files={"file": ("big", b"\0" * (21 * 1024 * 1024))}
            ),
            "malformed pdq": c.post(
                f"/api/v1/banks/{bank}/content", json={"signal_type": "pdq", "signal": "abc"}
            ),
            "unknown type": c.post(
                f"/api/v1/banks/{bank}/content", json={"signal_type": "phash", "signal": "ab" * 32}
            ),
            "no body": c.post(
                f"/api/v1/banks/{bank}/content",
                content=b"x",
                headers={"Content-Type": "text/plain"},
            ),
            "unknown bank": c.post(
                "/api/v1/banks/nope-nope/content", json={"signal_type": "md5", "signal": "a" * 32}
            ),
            "bad threshold": c.post(
                "/api/v1/banks", json={"name": unique("t"), "pdq_threshold": 400}
            ),
        }
    with live.client(mod) as c:
        cases["match empty"] = c.post("/api/v1/match", files={"file": ("e", b"")})
        cases["match bad md5"] = c.get(
            "/api/v1/match", params={"signal_type": "md5", "signal": "xyz"}
        )
        cases["match bad type"] = c.get(
            "/api/v1/match", params={"signal_type": "nope", "signal": "00"}
        )
        cases["platform writes regulator bank"] = c.post(
            f"/api/v1/banks/{bank}/content", json={"signal_type": "md5", "signal": "a" * 32}
        )
    for name, r in cases.items():
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
        assert r.json().get("message"), name
    assert cases["oversized upload"].status_code == 413
    assert cases["duplicate bank"].status_code == 409
    assert "known types" in cases["match bad type"].json()["message"]


def test_allowlist_disabled_and_private_banks(live: LiveServer) -> None:
    analyst, mod, mod2, _ = _orgs(live)
    bad, allow, private = unique("bad"), unique("allow"), unique("priv")
    sig = {"signal_type": "md5", "signal": "0123456789abcdef0123456789abcdef"}
    with live.client(analyst) as c:
        c.post("/api/v1/banks", json={"name": bad})
        c.post("/api/v1/banks", json={"name": allow, "allowlist": True})
        c.post(f"/api/v1/banks/{bad}/content", json=sig)
    with live.client(mod) as c:  # a platform's own private bank
        assert c.post("/api/v1/banks", json={"name": private}).json()["shared"] is False
        c.post(f"/api/v1/banks/{private}/content", json=sig)
        names = {m["bank"] for m in c.get("/api/v1/match", params=sig).json()["matches"]}
        assert {bad, private} <= names
    with live.client(mod2) as c:
        names = {m["bank"] for m in c.get("/api/v1/match", params=sig).json()["matches"]}
        assert bad in names and private not in names
        assert c.get(f"/api/v1/banks/{private}").status_code == 404
    with live.client(analyst) as c:
        c.post(f"/api/v1/banks/{allow}/content", json=sig)
        got = c.get("/api/v1/match", params=sig).json()["matches"]
        assert {
            m["bank"]: m["suppressed_by_allowlist"] for m in got if m["bank"] in (bad, allow)
        } == {bad: True, allow: False}
        assert c.patch(f"/api/v1/banks/{bad}", json={"enabled": False}).status_code == 200
        got = c.get("/api/v1/match", params=sig).json()["matches"]
        assert bad not in {m["bank"] for m in got}


def test_imports_are_all_or_nothing_and_exports_round_trip(live: LiveServer) -> None:
    analyst, _, _, _ = _orgs(live)
    bank = unique("tat")
    pdq = "f" * 64
    tat = {
        "count": 3,
        "results": [
            {
                "id": 1,
                "hash_digest": pdq,
                "algorithm": "PDQ",
                "ideology": "islamist",
                "file_type": "image",
                "deleted": False,
            },
            {"id": 2, "hash_digest": "a" * 32, "algorithm": "MD5", "deleted": False},
            {"id": 3, "hash_digest": "b" * 32, "algorithm": "MD5", "deleted": True},
        ],
    }
    with live.client(analyst) as c:
        c.post("/api/v1/banks", json={"name": bank, "kind": "imported", "source": "tat"})
        bad = c.post(
            f"/api/v1/banks/{bank}/import",
            data={"format": "te"},
            files={"file": ("x.txt", b"pdq " + b"f" * 64 + b"\nmd5 nothex\n")},
        )
        assert bad.status_code == 422 and "line 2" in bad.json()["message"]
        assert c.get(f"/api/v1/banks/{bank}").json()["content"] == {}
        ok = c.post(
            f"/api/v1/banks/{bank}/import",
            data={"format": "tat"},
            files={"file": ("tat.json", json.dumps(tat).encode())},
        )
        assert ok.json() == {"added": 2, "duplicates": 0, "removed": 0, "skipped": {}}
        te = c.post(
            f"/api/v1/banks/{bank}/import",
            data={"format": "te"},
            files={"file": ("x.txt", b"video_md5 " + b"c" * 32 + b"\n")},
        )
        assert te.json()["added"] == 1
        exported = c.get(f"/api/v1/banks/{bank}/export", params={"format": "te"}).text
    # written under threatexchange's names (video_md5), which it and HMA read
    assert exported.splitlines() == [f"pdq {pdq}", "video_md5 " + "a" * 32, "video_md5 " + "c" * 32]


def test_near_duplicate_forwarded_text_matches(live: LiveServer) -> None:
    analyst, mod, _, _ = _orgs(live)
    bank = unique("text")
    original = (
        "PERHATIAN!!! Besok akan ada razia besar-besaran di seluruh stasiun KRL. "
        "Sebarkan ke semua grup keluarga sebelum dihapus. Info dari orang dalam."
    )
    forwarded = (
        "Forwarded from Info Warga:\n"
        + original.replace("!!!", "!")
        + "\nhttps://t.me/infowarga_x/991"
    )
    with live.client(analyst) as c:
        c.post("/api/v1/banks", json={"name": bank})
        r = c.post(
            f"/api/v1/banks/{bank}/content",
            data={"text": "true"},
            files={"file": ("msg.txt", original.encode())},
        )
        assert {"text", "text_near"} <= {a["signal_type"] for a in r.json()["added"]}
    with live.client(mod) as c:
        got = c.post("/api/v1/match/text", json={"text": forwarded}).json()["matches"]
    assert "text_near" in {m["signal_type"] for m in got if m["bank"] == bank}


def test_banked_order_evidence_links_orders(live: LiveServer, photo: bytes) -> None:
    reg, plat = unique("reg"), unique("plat")
    for kind, name in (("regulator", reg), ("platform", plat)):
        assert live.cli("org", "create", "--kind", kind, "--name", name).returncode == 0
    analyst, mod = live.token(reg, "analyst"), live.token(plat, "moderator")
    bank = unique("orders")
    ev = [{"filename": "poster.png", "content_base64": base64.b64encode(photo).decode()}]
    body = {
        "platform": plat,
        "category": "terrorism",
        "legal_basis": "UU 5/2018",
        "reason": "propaganda poster",
    }
    with live.client(analyst) as c:
        c.post("/api/v1/banks", json={"name": bank, "kind": "order"})
        first = c.post(
            "/api/v1/orders", json={**body, "locators": ["t.me/poster_a/1"], "evidence": ev}
        ).json()
        c.post(
            f"/api/v1/orders/{first['id']}/evidence/{first['evidence'][0]['id']}/bank",
            json={"bank": bank},
        )
        copy = [
            {
                "filename": "copy.jpg",
                "content_base64": base64.b64encode(resized_jpeg(photo, quality=55)).decode(),
            }
        ]
        second = c.post(
            "/api/v1/orders", json={**body, "locators": ["t.me/poster_b/7"], "evidence": copy}
        ).json()
        r = c.post(
            f"/api/v1/orders/{second['id']}/evidence/{second['evidence'][0]['id']}/bank",
            json={"bank": bank},
        )
        assert r.status_code == 201 and r.json()["linked_orders"] == [first["id"]]
        assert first["id"] in [
            o["id"] for o in c.get(f"/api/v1/orders/{second['id']}").json()["related_orders"]
        ]
        assert second["id"] in [
            o["id"] for o in c.get(f"/api/v1/orders/{first['id']}").json()["related_orders"]
        ]
    with live.client(mod) as c:  # the platform sees the link and the order in a match
        rel = c.get(f"/api/v1/orders/{second['id']}").json()["related_orders"]
        assert first["id"] in [o["id"] for o in rel]
        m = c.post("/api/v1/match", files={"file": ("x.png", photo)}).json()["matches"]
        assert first["id"] in {x["order_id"] for x in m}


def test_index_survives_a_restart_without_rehashing(tmp_path: Any, photo: bytes) -> None:
    url = f"sqlite:///{tmp_path}/restart.db"
    env = {"TANGKAL_DATA_DIR": str(tmp_path / "data")}
    with live_server(url, env) as srv:
        srv.cli("org", "create", "--kind", "regulator", "--name", "reg")
        tok = srv.token("reg", "analyst")
        with srv.client(tok) as c:
            c.post("/api/v1/banks", json={"name": "keep"})
            c.post("/api/v1/banks/keep/content", files={"file": ("a.png", photo)})
    assert (tmp_path / "data" / "hash-index" / "pdq.idx").exists()
    with live_server(url, env) as srv, srv.client(tok) as c:
        stats = c.get("/api/v1/hashing/stats").json()
        assert stats["pdq"]["entries"] == 1
        got = c.post(
            "/api/v1/match", files={"file": ("c.jpg", resized_jpeg(photo, quality=55))}
        ).json()
        assert [m["bank"] for m in got["matches"] if m["signal_type"] == "pdq"] == ["keep"]


def test_thresholds_are_one_table_with_the_types_defaults(live: LiveServer) -> None:
    """``thresholds`` by type, the historic per-type fields as views of it, the type's own
    default where a bank sets none (text_near: 38, as in the console), and no PDQ threshold
    past the radius the index searches."""
    analyst, _, _, _ = _orgs(live)
    bank = unique("thresholds")
    with live.client(analyst) as c:
        r = c.post("/api/v1/banks", json={"name": bank, "thresholds": {"pdq": 20}})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["pdq_threshold"] == body["thresholds"]["pdq"] == 20
        assert body["text_threshold"] == body["thresholds"]["text_near"] == 38
        assert body["thresholds"]["md5"] == 0
        r = c.patch(f"/api/v1/banks/{bank}", json={"text_threshold": 15})
        assert r.status_code == 200 and r.json()["thresholds"]["text_near"] == 15
        r = c.get(f"/api/v1/banks/{bank}")
        assert r.json()["thresholds"] == {**body["thresholds"], "text_near": 15}
        for bad in (
            {"pdq_threshold": 65},
            {"thresholds": {"pdq": 65}},
            {"thresholds": {"md5": 1}},
            {"thresholds": {"phash": 3}},
        ):
            r = c.patch(f"/api/v1/banks/{bank}", json=bad)
            assert r.status_code == 422, (bad, r.text)
