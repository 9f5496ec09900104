"""The bank API takes a type's thresholds by name as well as the first one as a number, checks
each against the type's rules (unknown type or name, out of range: 422 saying which and what
is allowed), states names and ranges in the OpenAPI document, and answers every threshold by
name, over real HTTP on each backend."""

from __future__ import annotations

from typing import Any

from tests.support import LiveServer, unique


def _analyst(live: LiveServer) -> str:
    reg = unique("reg")
    assert live.cli("org", "create", "--kind", "regulator", "--name", reg).returncode == 0
    return live.token(reg, "analyst")


def test_a_bank_is_created_and_changed_with_named_thresholds(live: LiveServer) -> None:
    bank = unique("named")
    with live.client(_analyst(live)) as c:
        r = c.post(
            "/api/v1/banks",
            json={"name": bank, "thresholds": {"vpdq": {"banked_share": 50}, "pdq": 20}},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["threshold_rules"]["vpdq"] == {
            "query_share": 80,
            "banked_share": 50,
            "frame_distance": 31,
        }
        assert body["thresholds"]["pdq"] == body["threshold_rules"]["pdq"]["distance"] == 20
        r = c.patch(
            f"/api/v1/banks/{bank}",
            json={"thresholds": {"vpdq": {"query_share": 100, "frame_distance": 20}}},
        )
        assert r.status_code == 200, r.text
        got = c.get(f"/api/v1/banks/{bank}").json()
        assert got["threshold_rules"]["vpdq"] == {
            "query_share": 100,
            "banked_share": 50,
            "frame_distance": 20,
        }
        # the first threshold as a number, as before: vPDQ's is its query share
        assert got["thresholds"]["vpdq"] == 100
        r = c.patch(f"/api/v1/banks/{bank}", json={"thresholds": {"vpdq": 90}})
        assert r.status_code == 200, r.text
        assert r.json()["threshold_rules"]["vpdq"]["query_share"] == 90
        assert r.json()["threshold_rules"]["vpdq"]["frame_distance"] == 20


def _refusal(c: Any, bank: str, thresholds: Any) -> dict[str, Any]:
    r = c.patch(f"/api/v1/banks/{bank}", json={"thresholds": thresholds})
    assert r.status_code == 422, (thresholds, r.text)
    return dict(r.json())


def test_named_thresholds_are_checked_against_the_types_rules(live: LiveServer) -> None:
    bank = unique("checked")
    with live.client(_analyst(live)) as c:
        assert c.post("/api/v1/banks", json={"name": bank}).status_code == 201
        unknown_name = _refusal(c, bank, {"vpdq": {"share": 50}})
        assert "share" in unknown_name["message"] and "banked_share" in unknown_name["message"]
        unknown_type = _refusal(c, bank, {"phash": {"distance": 3}})
        assert "phash" in unknown_type["message"] and unknown_type["field"] == "thresholds"
        too_far = _refusal(c, bank, {"vpdq": {"frame_distance": 40}})
        assert "between 0 and 31" in too_far["message"], too_far
        too_little = _refusal(c, bank, {"vpdq": {"query_share": 0}})
        assert "between 1 and 100" in too_little["message"], too_little
        _refusal(c, bank, {"vpdq": {"query_share": True}})
        _refusal(c, bank, {"vpdq": {}})
        _refusal(c, bank, {"vpdq": {"query_share": "80"}})
        # nothing of a refused change was kept
        assert c.get(f"/api/v1/banks/{bank}").json()["threshold_rules"]["vpdq"] == {
            "query_share": 80,
            "banked_share": 0,
            "frame_distance": 31,
        }


def test_the_document_states_every_threshold_name_and_range(live: LiveServer) -> None:
    with live.client(None) as c:
        doc = c.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for model in ("BankIn", "BankPatch"):
        field = schemas[model]["properties"]["thresholds"]
        per_type = field["anyOf"][0]["properties"]
        vpdq = {s.get("type"): s for s in per_type["vpdq"]["anyOf"]}
        assert vpdq["integer"]["minimum"] == 1 and vpdq["integer"]["maximum"] == 100
        named = vpdq["object"]["properties"]
        assert set(named) == {"query_share", "banked_share", "frame_distance"}
        assert (named["frame_distance"]["minimum"], named["frame_distance"]["maximum"]) == (0, 31)
        assert vpdq["object"]["additionalProperties"] is False
        pdq = {s.get("type"): s for s in per_type["pdq"]["anyOf"]}
        assert set(pdq["object"]["properties"]) == {"distance"}
        assert pdq["integer"]["maximum"] == 64
    rules = schemas["BankOut"]["properties"]["threshold_rules"]
    assert set(rules["properties"]["vpdq"]["properties"]) == {
        "query_share",
        "banked_share",
        "frame_distance",
    }
