"""Routes that parse their own JSON body are still fully described in /openapi.json."""

from __future__ import annotations

from tangkal.api.app import create_app
from tangkal.db.session import Database
from tangkal.settings import Settings


def test_order_intake_body_and_idempotency_header_are_documented() -> None:
    app = create_app(Database("sqlite://"), Settings(), background=False)
    doc = app.openapi()
    post = doc["paths"]["/api/v1/orders"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/OrderIn"
    schemas = doc["components"]["schemas"]
    assert {"platform", "category", "locators", "legal_basis", "reason"} <= set(
        schemas["OrderIn"]["required"]
    )
    # The nested model is a component too, and every reference in the document resolves.
    evidence = schemas["OrderIn"]["properties"]["evidence"]["items"]["$ref"]
    assert evidence == "#/components/schemas/EvidenceIn" and "EvidenceIn" in schemas
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for r in refs(doc):
        assert r.removeprefix("#/components/schemas/") in schemas, r
